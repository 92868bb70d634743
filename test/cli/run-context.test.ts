// `tslab-mlflow run` spawns the kernel before it creates the MLflow run (the run reaches the
// kernel on its stdin): what happens when the run cannot be created, or Ctrl-C comes before
// the kernel is ready. The compiled CLI, our kernel over ZeroMQ, a temp file store.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_MAIN, rmTempDir } from "../support/paths.js";
import { code, notebook, readJson, writeNotebook } from "./notebooks.js";
import { exists, runNotebookCli, runStatusOf, workspace } from "./run-helpers.js";

const SLOW = 240_000;
const ws = workspace("run-context");
afterAll(() => rmTempDir(ws.dir));

// Proof that a cell ran: it leaves a file behind.
const MARK = 'require("node:fs").writeFileSync("ran.txt", "ran");';

describe("run: the MLflow run is created while the kernel starts", () => {
  it(
    "exits 1 without running a cell when the run cannot be created, and stops the kernel",
    async () => {
      writeNotebook(ws.dir, "norun.ipynb", notebook([code(MARK)]));
      // A store below a plain file: the URI is well formed, creating the run fails.
      fs.writeFileSync(path.join(ws.dir, "blocker"), "");
      const log = path.join(ws.dir, "norun-kernel.log");
      const r = await runNotebookCli({ ...ws, env: { ...ws.env, MLFLOW_TRACKING_URI: path.join(ws.dir, "blocker", "mlruns") } }, [
        "norun.ipynb",
        "--kernel-log",
        log,
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^error: could not start the MLflow run: .*blocker/m);
      expect(r.stderr).not.toMatch(/Executed/);
      // The kernel had been started (its log exists), got no run and ran nothing.
      expect(exists(log)).toBe(true);
      expect(exists(path.join(ws.dir, "ran.txt"))).toBe(false);
      expect(exists(path.join(ws.dir, "norun.out.ipynb"))).toBe(false);
    },
    SLOW,
  );

  it(
    "Ctrl-C before the kernel is ready: no cell runs, exit 130, the run is KILLED",
    async () => {
      writeNotebook(ws.dir, "early.ipynb", notebook([code(MARK), code("1")]));
      const log = path.join(ws.dir, "early-kernel.log");
      const child = spawn(process.execPath, [CLI_MAIN, "run", "early.ipynb", "--kernel-log", log], { cwd: ws.dir, env: ws.env });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
      // The log appears when the kernel is spawned; it needs far longer than this to be ready.
      while (!exists(log)) await new Promise((r) => setTimeout(r, 5));
      child.kill("SIGINT");
      expect(await closed).toBe(130);
      expect(stderr).toContain("interrupted before the kernel was ready");
      expect(exists(path.join(ws.dir, "ran.txt"))).toBe(false);
      const out = path.join(ws.dir, "early.out.ipynb");
      const nb = readJson(out);
      expect(nb.cells.map((c: any) => c.execution_count)).toEqual([null, null]);
      expect(nb.metadata.tslab_mlflow.status).toBe("KILLED");
      expect(await runStatusOf(ws, out)).toBe("KILLED");
    },
    SLOW,
  );
});
