// A `%%mlflow_run` cell through a spawned kernel over ZeroMQ, for what only the real compiler
// and output router show: a cell that does not compile creates no run, a console.log as the
// very last statement is in the run's stdout artifact and notebook snapshot, and completion
// and inspection of magic lines come from the magic table.

import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { allRuns, artifactText } from "../support/store-reads.js";

let work: string;
let store: FileStore;
let kernel: KernelClient;

type Content = Record<string, any>;

async function exec(code: string) {
  const { reply, outputs } = await kernel.execute(code, { timeout: 60_000 });
  return { reply: reply.content as Content, outputs };
}
const reply = (m: Message) => m.content as Content;

beforeAll(async () => {
  work = makeTempDir("magics-run-cell");
  store = new FileStore(path.join(work, "mlruns"), { onWarning: () => undefined });
  kernel = await startKernelIn(work);
  // Tracking opens when the extension activates; a first magic waits for it.
  await exec("%mlflow_status");
}, 60_000);
afterAll(async () => {
  await kernel?.close();
  rmTempDir(work);
});

describe("%%mlflow_run and the compiler", () => {
  it("creates no run for a cell with a type error or a syntax error, and shows the error at the cell's line", async () => {
    const before = (await allRuns(store)).length;
    const typeError = await exec(`%%mlflow_run typed --param lr=0.1\nconst n: number = "not a number";\nmlflow.logMetric("x", n);`);
    expect(typeError.reply.status).toBe("error");
    expect(typeError.reply.ename).toBe("TypeScriptError");
    // Line 2 of the cell, counting the magic line.
    expect(typeError.reply.evalue).toMatch(/^In\[\d+\]:2:7 - error TS2322/);
    const syntaxError = await exec(`%%mlflow_run broken\nconst x = (1 + ;`);
    expect(syntaxError.reply.status).toBe("error");
    expect(syntaxError.reply.evalue).toMatch(/^In\[\d+\]:2:\d+ - error TS1109/);
    expect((await allRuns(store)).length).toBe(before);
  });

  it("still creates the run before the body runs: the body sees it", async () => {
    const r = await exec(`%%mlflow_run seen\nconsole.log(mlflow.activeRun()!.runName);`);
    expect(r.reply.status).toBe("ok");
    const run = (await allRuns(store)).at(-1)!;
    expect(run.info.runName).toBe("seen");
    expect(await artifactText(store, run.info.runId, "outputs/stdout.txt")).toBe("seen\n");
  });

  it("keeps a console.log that is the cell's very last statement in the stdout artifact and the notebook snapshot", async () => {
    const r = await exec(`%%mlflow_run last-print\nconst v = 6 * 7;\nconsole.log("the answer", v);`);
    expect(r.reply.status).toBe("ok");
    const run = (await allRuns(store)).at(-1)!;
    expect(run.info.runName).toBe("last-print");
    expect(await artifactText(store, run.info.runId, "outputs/stdout.txt")).toBe("the answer 42\n");
    const nb = JSON.parse(await artifactText(store, run.info.runId, "notebook.ipynb")) as {
      cells: { source: string; outputs: Content[] }[];
    };
    const cell = nb.cells.at(-1)!;
    expect(
      cell.outputs
        .filter((o) => o.output_type === "stream")
        .map((o) => o.text)
        .join(""),
    ).toBe("the answer 42\n");
  });
});

describe("completion and inspection of magics", () => {
  it("completes magic names from `%mlflow_`", async () => {
    const r = reply(await kernel.request("shell", "complete_request", { code: "%mlflow_", cursor_pos: 8 }));
    expect(r.matches).toEqual(
      expect.arrayContaining([
        "%%mlflow_run",
        "%mlflow_autolog",
        "%mlflow_compare",
        "%mlflow_experiment",
        "%mlflow_runs",
        "%mlflow_status",
      ]),
    );
    expect(r.matches.every((m: string) => /^%%?mlflow_/.test(m))).toBe(true);
    expect(r.matches).toEqual([...r.matches].sort());
    expect([r.cursor_start, r.cursor_end]).toEqual([0, 8]);
  });

  it("completes a magic's options after `--`", async () => {
    const code = "%%mlflow_run --\nconst x = 1;";
    const r = reply(await kernel.request("shell", "complete_request", { code, cursor_pos: 15 }));
    expect(r.matches).toEqual(["--description", "--experiment", "--nested", "--no-outputs", "--param", "--resume", "--tag"]);
    expect([r.cursor_start, r.cursor_end]).toEqual([13, 15]);
    const p = reply(await kernel.request("shell", "complete_request", { code: "%%mlflow_run --pa", cursor_pos: 17 }));
    expect(p.matches).toEqual(["--param"]);
  });

  it("leaves TypeScript in the body of a plain cell to the compiler", async () => {
    const r = reply(await kernel.request("shell", "complete_request", { code: "Math.ma", cursor_pos: 7 }));
    expect(r.matches).toContain("max");
  });

  it("shows a magic's help on inspect", async () => {
    const r = reply(
      await kernel.request("shell", "inspect_request", { code: "%%mlflow_run --param a=1\nx", cursor_pos: 5, detail_level: 0 }),
    );
    expect(r.found).toBe(true);
    expect(r.data["text/plain"]).toMatch(/^Usage: %%mlflow_run \[NAME\][^]*--param k=v/);
  });
});
