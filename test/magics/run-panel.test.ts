// The live run panel through a spawned kernel over ZeroMQ: a %%mlflow_run cell that awaits gets
// update_display_data frames for its panel while it runs (sparkline, last value), at most about
// one a second, and ends FINISHED or FAILED in the same display; `%mlflow_autolog off --what
// panel` leaves only the summary; a mlflow.startRun() run keeps its panel in the cell that
// opened it, updated from later cells; artifacts leave the panel out and the notebook snapshot
// holds its final frame; headless `tslab-mlflow run` saves one panel output, the final one.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import type { Run } from "../../tracking/entities.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { code, notebook, readJson, writeNotebook } from "../cli/notebooks.js";
import { runNotebookCli, workspace } from "../cli/run-helpers.js";
import { KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { allRuns, artifactText } from "../support/store-reads.js";

type Content = Record<string, any>;

let work: string;
let store: FileStore;
let kernel: KernelClient;

async function exec(source: string) {
  const { reply, outputs } = await kernel.execute(source, { timeout: 90_000 });
  return { reply, status: (reply.content as Content).status as string, outputs };
}
const lastRun = async (): Promise<Run> => (await allRuns(store, "DESC"))[0]!;
const content = (m: Message) => m.content as Content;
const html = (m: Message) => String(content(m).data?.["text/html"] ?? "");
const plain = (m: Message) => String(content(m).data?.["text/plain"] ?? "");
const at = (m: Message) => Date.parse(m.header.date!);

/** The panel's display_data in `outputs` (marked by its display id), and its updates anywhere in `more`. */
function panelOf(outputs: Message[]) {
  const shown = outputs.filter((m) => m.header.msg_type === "display_data" && html(m).includes("data-run-panel="));
  expect(shown).toHaveLength(1);
  const displayId = content(shown[0]!).transient?.display_id as string;
  expect(displayId).toMatch(/^[0-9a-f]{16}$/);
  expect(html(shown[0]!)).toContain(`data-run-panel="${displayId}"`);
  const updates = (msgs: Message[]) =>
    msgs.filter((m) => m.header.msg_type === "update_display_data" && content(m).transient?.display_id === displayId);
  return { shown: shown[0]!, displayId, updates };
}

beforeAll(async () => {
  work = makeTempDir("magics-run-panel");
  store = new FileStore(path.join(work, "mlruns"), { onWarning: () => undefined });
  kernel = await startKernelIn(work);
  await exec("%mlflow_status");
}, 90_000);
afterAll(async () => {
  await kernel?.close();
  rmTempDir(work);
});

describe("the live run panel in a kernel", () => {
  it("updates while an awaiting cell runs (sparkline, last value), at most about once a second, and ends FINISHED", async () => {
    const r = await exec(
      [
        "%%mlflow_run live-panel --param lr=0.1",
        "const until = Date.now() + 2600;",
        "let i = 0;",
        'while (Date.now() < until) { mlflow.logMetric("loss", 1 / (i + 1), i); i++; await new Promise((ok) => setTimeout(ok, 20)); }',
        'console.log("points", i);',
      ].join("\n"),
    );
    expect(r.status).toBe("ok");
    const { shown, displayId, updates } = panelOf(r.outputs);
    expect(plain(shown)).toMatch(/^MLflow run live-panel \([0-9a-f]+\) RUNNING/);
    const frames = updates(r.outputs);
    const running = frames.filter((m) => /\) RUNNING for/.test(plain(m)));
    expect(running.length).toBeGreaterThanOrEqual(1);
    // Published before the cell's reply.
    for (const m of frames) expect(at(m)).toBeLessThanOrEqual(at(r.reply));
    // A running frame: the metric's sparkline and its last value at the step shown.
    const mid = running.at(-1)!;
    expect(html(mid)).toContain("<svg");
    const [, value, step] = /loss=([0-9.e-]+) .*\(step (\d+)/.exec(plain(mid))!;
    expect(Number(value)).toBeCloseTo(1 / (Number(step) + 1), 5);
    expect(plain(mid)).toContain("lr=0.1");
    // The rate: no more frames than seconds the panel was live, plus the final ones.
    const seconds = (at(frames.at(-1)!) - at(shown)) / 1000;
    expect(frames.length).toBeLessThanOrEqual(seconds + 2);
    // The final frame is the summary, in the same display.
    const final = frames.at(-1)!;
    const points = Number(/points (\d+)/.exec(r.outputs.map((m) => content(m).text ?? "").join(""))![1]);
    const run = await lastRun();
    expect(plain(final)).toContain(`MLflow run live-panel (${run.info.runId}) FINISHED in`);
    expect(plain(final)).toContain(`(step ${points - 1}, ${points} points)`);
    expect(html(final)).toContain(`data-run-panel="${displayId}"`);
    expect(run.info.status).toBe("FINISHED");

    // The panel is the run's display, not the cell's output: no outputs/ artifact of it, and the
    // notebook snapshot holds its final frame.
    const files = (await store.listArtifacts(run.info.runId, "outputs")).map((f) => f.path);
    expect(files).toEqual(["outputs/stdout.txt"]);
    const nb = JSON.parse(await artifactText(store, run.info.runId, "notebook.ipynb"));
    const panels = nb.cells.at(-1).outputs.filter((o: Content) => o.output_type === "display_data");
    expect(panels).toHaveLength(1);
    expect([panels[0].data["text/plain"]].flat().join("")).toContain("FINISHED in");
  });

  it("ends the panel FAILED for a cell that throws", async () => {
    const r = await exec(
      '%%mlflow_run failing-panel\nmlflow.logMetric("x", 1);\nawait new Promise((ok) => setTimeout(ok, 10));\nthrow new Error("boom");',
    );
    expect(r.status).toBe("error");
    const { updates } = panelOf(r.outputs);
    const final = updates(r.outputs).at(-1)!;
    expect(plain(final)).toMatch(/^MLflow run failing-panel \([0-9a-f]+\) FAILED in/);
    expect(plain(final)).toContain("x=1");
  });

  it("ends the panel KILLED for an interrupted cell", async () => {
    let inside!: () => void;
    const waiting = new Promise<void>((ok) => (inside = ok));
    const running = kernel.execute(
      '%%mlflow_run killed-panel\nmlflow.logMetric("x", 2);\nconsole.log("waiting now");\nawait new Promise(() => {});',
      {
        timeout: 90_000,
        onOutput: (m) => {
          if (String(content(m).text ?? "").includes("waiting now")) inside();
        },
      },
    );
    await waiting;
    await kernel.interrupt();
    const { outputs } = await running;
    const { updates } = panelOf(outputs);
    expect(plain(updates(outputs).at(-1)!)).toMatch(/^MLflow run killed-panel \([0-9a-f]+\) KILLED in/);
  });

  it("%mlflow_autolog off --what panel: no live display, only the summary when the run ends", async () => {
    const off = await exec("%mlflow_autolog off --what panel");
    expect(plain(off.outputs.find((m) => m.header.msg_type === "display_data")!)).toMatch(/off\s+panel/);
    const r = await exec(
      '%%mlflow_run quiet-panel\nfor (let i = 0; i < 12; i++) { mlflow.logMetric("m", i, i); await new Promise((ok) => setTimeout(ok, 100)); }',
    );
    expect(r.status).toBe("ok");
    expect(r.outputs.filter((m) => m.header.msg_type === "update_display_data")).toEqual([]);
    const displays = r.outputs.filter((m) => m.header.msg_type === "display_data");
    expect(displays).toHaveLength(1);
    expect(plain(displays[0]!)).toMatch(/^MLflow run quiet-panel \([0-9a-f]+\) FINISHED in/);
    expect(plain(displays[0]!)).toContain("m=11");
    const on = await exec("%mlflow_autolog on --what panel");
    expect(plain(on.outputs.find((m) => m.header.msg_type === "display_data")!)).toMatch(/on\s+panel/);
  });

  it("a mlflow.startRun() run keeps its panel in the cell that opened it, updated from later cells until endRun", async () => {
    const opened = await exec('await mlflow.startRun({ runName: "script-panel" });\nmlflow.logParam("a", 1);');
    expect(opened.status).toBe("ok");
    const { shown, updates } = panelOf(opened.outputs);
    expect(plain(shown)).toMatch(/^MLflow run script-panel \([0-9a-f]+\) RUNNING/);
    const logging = await exec(
      'for (let i = 0; i < 15; i++) { mlflow.logMetric("m", i * 2, i); await new Promise((ok) => setTimeout(ok, 100)); }',
    );
    expect(logging.outputs.filter((m) => m.header.msg_type === "display_data")).toEqual([]);
    expect(updates(logging.outputs).some((m) => /m=\d+/.test(plain(m)) && html(m).includes("<svg"))).toBe(true);
    const ended = await exec("await mlflow.endRun();");
    const final = updates(ended.outputs).at(-1)!;
    expect(plain(final)).toMatch(/^MLflow run script-panel \([0-9a-f]+\) FINISHED in/);
    expect(plain(final)).toContain("m=28");
    expect(plain(final)).toContain("a=1");
  });
});

describe("headless tslab-mlflow run", () => {
  const ws = workspace("run-panel-cli");
  afterAll(() => rmTempDir(ws.dir));

  it("saves exactly one panel output per run cell: the final frame", { timeout: 240_000 }, async () => {
    writeNotebook(
      ws.dir,
      "panel.ipynb",
      notebook([
        code(
          '%%mlflow_run headless-panel\nfor (let i = 0; i < 30; i++) { mlflow.logMetric("loss", 1 / (i + 1), i); await new Promise((ok) => setTimeout(ok, 60)); }\nconsole.log("trained");',
        ),
      ]),
    );
    const r = await runNotebookCli(ws, ["panel.ipynb"], 200_000);
    expect(r.status).toBe(0);
    const out = path.join(ws.dir, "panel.out.ipynb");
    expect(fs.existsSync(out)).toBe(true);
    const outputs = readJson(out).cells[0].outputs as Content[];
    const panels = outputs.filter(
      (o) => o.output_type === "display_data" && [o.data["text/html"]].flat().join("").includes("data-run-panel="),
    );
    expect(panels).toHaveLength(1);
    const text = [panels[0]!.data["text/plain"]].flat().join("");
    expect(text).toMatch(/^MLflow run headless-panel \([0-9a-f]+\) FINISHED in/);
    expect(text).toContain("loss=0.0333333");
    expect(outputs.filter((o) => o.output_type === "stream").map((o) => [o.text].flat().join(""))).toEqual(["trained\n"]);
  });
});
