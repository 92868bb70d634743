// The outer run handed to the kernel on stdin (TSLAB_MLFLOW_RUN_CONTEXT=stdin), as
// `tslab-mlflow run` does: a spawned kernel over ZeroMQ, a real file store in a temp dir.
// The context arrives after the kernel answered kernel_info; cells wait for it.

import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import type { Run } from "../../tracking/entities.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { TAG } from "../../magics/system-tags.js";
import { parseRunContext } from "../../magics/run-context.js";
import { KernelProcess } from "../../jupyter-client/index.js";
import { startKernel, type KernelClient } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;
const SLOW = 120_000;
let work: string;
let store: FileStore;
let experimentId: string;

beforeAll(async () => {
  work = makeTempDir("run-context");
  store = new FileStore(path.join(work, "mlruns"), { onWarning: () => undefined });
  experimentId = await store.createExperiment("context");
});
afterAll(() => rmTempDir(work));

/** The environment of these kernels: nothing of MLflow's unless a test adds it. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool"), JPY_SESSION_NAME: "", ...extra };
  for (const k of ["MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"])
    if (!(k in extra)) delete env[k];
  return env;
}

const resultText = (outs: Message[]) =>
  outs
    .filter((m) => m.header.msg_type === "execute_result")
    .map((m) => (m.content as Content).data["text/plain"] as string)
    .join("");

async function exec(kernel: KernelClient, code: string) {
  const { reply, outputs } = await kernel.execute(code, { timeout: 60_000 });
  return { status: (reply.content as Content).status as string, reply: reply.content as Content, outputs };
}

async function runsNamed(name: string): Promise<Run[]> {
  const runs = (await store.searchRuns({ experimentIds: [experimentId], maxResults: 1000 })).items;
  return runs.filter((r) => r.info.runName === name);
}

const delayed = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("a kernel given its outer run on stdin", () => {
  it(
    "answers before the context arrives, then nests %%mlflow_run under the run it names",
    async () => {
      const outer = await store.createRun({ experimentId, runName: "notebook-run", startTime: Date.now() });
      let give!: (text: string) => void;
      const context = new Promise<string>((resolve) => (give = resolve));
      // Started (kernel_info answered) while the context does not exist yet.
      // Its own ./mlruns would be elsewhere: only the context names the store.
      const cwd = path.join(work, "elsewhere");
      mkdirSync(cwd);
      const kernel = await startKernel({ cwd, stdio: "pipe", env: baseEnv({ TSLAB_MLFLOW_RUN_CONTEXT: "stdin" }), input: context });
      try {
        const running = exec(
          kernel,
          `%%mlflow_run child\nmlflow.logMetric("c", 1);\n[process.env.MLFLOW_RUN_ID, process.env.TSLAB_MLFLOW_RUN_CONTEXT ?? "read"].join(" ")`,
        );
        await delayed(1000, undefined);
        give(
          JSON.stringify({
            MLFLOW_RUN_ID: outer.info.runId,
            MLFLOW_TRACKING_URI: path.join(work, "mlruns"),
            MLFLOW_EXPERIMENT_ID: experimentId,
          }),
        );
        const r = await running;
        expect(r.status).toBe("ok");
        // User code sees the outer run in its environment, as when it came from the environment.
        expect(resultText(r.outputs)).toContain(`${outer.info.runId} read`);
        await exec(kernel, `await mlflow.flush();`);
      } finally {
        await kernel.close();
      }
      const [child] = await runsNamed("child");
      expect(child).toBeDefined();
      expect(child!.data.tags.find((t) => t.key === TAG.parentRunId)?.value).toBe(outer.info.runId);
      expect(child!.info.status).toBe("FINISHED");
      expect((await store.getRun(outer.info.runId)).info.status).toBe("RUNNING");
      expect(existsSync(path.join(cwd, "mlruns"))).toBe(false);
    },
    SLOW,
  );

  it(
    "reports a bad context naming the bad value, keeps running, and has no outer run",
    async () => {
      const outer = await store.createRun({ experimentId, runName: "not-attached", startTime: Date.now() });
      const context = delayed(300, JSON.stringify({ MLFLOW_RUN_ID: 42, MLFLOW_RUN_IDENT: outer.info.runId }));
      const kernel = await startKernel({
        cwd: work,
        stdio: "pipe",
        input: context,
        env: baseEnv({
          TSLAB_MLFLOW_RUN_CONTEXT: "stdin",
          MLFLOW_TRACKING_URI: path.join(work, "mlruns"),
          MLFLOW_EXPERIMENT_ID: experimentId,
        }),
      });
      try {
        const r = await exec(kernel, `%%mlflow_run solo\nmlflow.logMetric("s", 2);\nString(process.env.MLFLOW_RUN_ID)`);
        expect(r.status).toBe("ok");
        expect(resultText(r.outputs)).toContain("undefined");
        expect(kernel.stderrTail).toMatch(/Bad run context value MLFLOW_RUN_ID=42: expected a non-empty string/);
        expect(kernel.stderrTail).toMatch(
          /Bad run context key "MLFLOW_RUN_IDENT": accepted keys are MLFLOW_RUN_ID, MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID/,
        );
        expect((await exec(kernel, "1 + 1")).status).toBe("ok");
        await exec(kernel, `await mlflow.flush();`);
      } finally {
        await kernel.close();
      }
      const [solo] = await runsNamed("solo");
      expect(solo).toBeDefined();
      expect(solo!.data.tags.find((t) => t.key === TAG.parentRunId)).toBeUndefined();
    },
    SLOW,
  );

  it(
    "takes EOF with nothing written as no outer run",
    async () => {
      const kernel = await startKernel({
        cwd: work,
        stdio: "pipe",
        input: delayed(200, ""),
        env: baseEnv({
          TSLAB_MLFLOW_RUN_CONTEXT: "stdin",
          MLFLOW_TRACKING_URI: path.join(work, "mlruns"),
          MLFLOW_EXPERIMENT_ID: experimentId,
        }),
      });
      try {
        const r = await exec(kernel, `%%mlflow_run alone\nmlflow.logMetric("a", 3);`);
        expect(r.status).toBe("ok");
        await exec(kernel, `await mlflow.flush();`);
        expect(kernel.stderrTail).not.toMatch(/run context/);
      } finally {
        await kernel.close();
      }
      const [alone] = await runsNamed("alone");
      expect(alone!.data.tags.find((t) => t.key === TAG.parentRunId)).toBeUndefined();
    },
    SLOW,
  );

  it(
    "does not crash the frontend when the kernel is gone before its input is ready",
    async () => {
      let give!: (text: string) => void;
      const kernel = await startKernel({
        cwd: work,
        stdio: "pipe",
        env: baseEnv({ TSLAB_MLFLOW_RUN_CONTEXT: "stdin" }),
        input: new Promise((r) => (give = r)),
      });
      const pid = kernel.pid!;
      await kernel.close();
      expect(() => process.kill(pid, 0)).toThrow();
      give(JSON.stringify({ MLFLOW_RUN_ID: "0123456789abcdef" }));
      // Give the write (and any EPIPE) time to happen: nothing may escape as an uncaught error.
      await delayed(200, undefined);
      expect(kernel.alive).toBe(false);
    },
    SLOW,
  );
});

/** Resolves `printed(re)` once the process's output tail matches `re` (as the output arrives). */
function outputWatch(p: KernelProcess): (re: RegExp) => Promise<void> {
  const waiting = new Set<() => boolean>();
  const keep = p.keep.bind(p);
  p.keep = (text) => {
    keep(text);
    for (const check of waiting) if (check()) waiting.delete(check);
  };
  return (re) =>
    new Promise<void>((resolve) => {
      const check = () => re.test(p.outputTail) && (resolve(), true);
      if (!check()) waiting.add(check);
    });
}

describe("a kernel process's input", () => {
  it("is written when it resolves; a process that closed its stdin (EPIPE) is no crash", async () => {
    const echo = new KernelProcess(
      [process.execPath, "-e", "process.stdin.pipe(process.stdout)"],
      { stdio: "pipe", input: delayed(300, "late text") },
      () => undefined,
    );
    expect((await echo.exited).code).toBe(0);
    expect(echo.outputTail).toBe("late text");

    // The input is fed only once the process has closed its stdin; each step waits on the output.
    let feed!: (text: string) => void;
    const closer = new KernelProcess(
      [process.execPath, "-e", "require('node:fs').closeSync(0); console.log('closed'); setInterval(() => {}, 1000)"],
      { stdio: "pipe", input: new Promise<string>((r) => (feed = r)) },
      () => undefined,
    );
    const printed = outputWatch(closer);
    await printed(/closed\n/);
    feed("x".repeat(1 << 20));
    await printed(/stdin of the kernel: .*EPIPE/);
    expect(closer.alive).toBe(true);
    expect(closer.outputTail).toMatch(/closed\nstdin of the kernel: .*EPIPE/);
    await closer.stop(0);
  });
});

describe("parseRunContext", () => {
  it("keeps the three variables and reports everything else by name", () => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    expect(parseRunContext(`{"MLFLOW_RUN_ID":"r1","MLFLOW_TRACKING_URI":"http://h:5000","MLFLOW_EXPERIMENT_ID":"7"}`, log)).toEqual({
      MLFLOW_RUN_ID: "r1",
      MLFLOW_TRACKING_URI: "http://h:5000",
      MLFLOW_EXPERIMENT_ID: "7",
    });
    expect(parseRunContext("  \n", log)).toEqual({});
    expect(lines).toEqual([]);
    expect(parseRunContext("run=abc", log)).toEqual({});
    expect(lines.pop()).toMatch(/Bad run context on stdin "run=abc": not JSON; expected an object with MLFLOW_RUN_ID/);
    expect(parseRunContext(`["MLFLOW_RUN_ID"]`, log)).toEqual({});
    expect(lines.pop()).toMatch(/expected a JSON object/);
    expect(parseRunContext(`{"PATH":"/tmp","MLFLOW_RUN_ID":""}`, log)).toEqual({});
    expect(lines).toEqual([
      expect.stringMatching(/Bad run context key "PATH"/),
      expect.stringMatching(/Bad run context value MLFLOW_RUN_ID="": expected a non-empty string/),
    ]);
  });
});
