// Debian's jupyter_kernel_test (0.4.5) against our installed kernelspec: every
// sample it supports is filled in kernel_test_tslab_mlflow.py, and every test it
// runs must pass (none skipped except the pager, which the kernel does not offer).
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedKernelSandbox, type JupyterSandbox } from "../support/jupyter.js";
import { SYSTEM_PYTHON } from "../support/paths.js";
import { run, type RunResult } from "../support/run.js";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const EXPECTED_PASSING = [
  "test_clear_output",
  "test_completion",
  "test_display_data",
  "test_error",
  "test_execute_result",
  "test_execute_stderr",
  "test_execute_stdout",
  "test_history",
  "test_inspect",
  "test_is_complete",
  "test_kernel_info",
];

let sandbox: JupyterSandbox;
let result: RunResult;
/** test name -> "ok" | "skipped ..." | "FAIL" | "ERROR", from unittest -v. */
const outcomes = new Map<string, string>();

describe("jupyter_kernel_test", () => {
  beforeAll(async () => {
    sandbox = await installedKernelSandbox();
    result = await run(SYSTEM_PYTHON, ["-m", "unittest", "-v", "kernel_test_tslab_mlflow"], {
      cwd: HERE,
      env: { ...sandbox.env, PYTHONDONTWRITEBYTECODE: "1" },
      timeout: 240_000,
    });
    for (const m of result.stderr.matchAll(/^(test_\w+) \([\w.]+\)(?: \.\.\.|\n.*\.\.\.) (.*)$/gm)) outcomes.set(m[1], m[2].trim());
  }, 300_000);
  afterAll(() => sandbox?.cleanup());

  it("runs the whole suite with success", () => {
    expect(result.stderr).toMatch(/^Ran \d+ tests/m);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^OK \(skipped=1\)$/m);
  });

  for (const name of EXPECTED_PASSING) {
    it(`${name} passes`, () => {
      expect(outcomes.get(name), result.stderr).toBe("ok");
    });
  }

  it("skips only the pager test (no pager payloads)", () => {
    expect(outcomes.get("test_pager")).toMatch(/^skipped/);
    expect([...outcomes.keys()].sort()).toEqual([...EXPECTED_PASSING, "test_pager"].sort());
  });
});
