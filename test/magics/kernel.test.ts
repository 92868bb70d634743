// End to end through a spawned kernel over ZeroMQ: every magic and every bad-input case,
// checking the messages that come back and the file store afterwards (runs, statuses,
// params, metric histories, artifacts, system tags, nesting).

import path from "node:path";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Run } from "../../tracking/entities.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { TAG } from "../../magics/system-tags.js";
import { REDACTED } from "../../magics/redact.js";
import { contentsOf, KernelClient, startKernelIn, stdoutOf } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { allRuns, artifactText, paramsOf, tagsOf } from "../support/store-reads.js";

let work: string;
let store: FileStore;
let kernel: KernelClient;
const SECRET = "tok-e2e-secret-value";

type Content = Record<string, any>;

async function exec(code: string, metadata: Record<string, unknown> = {}) {
  const { reply, outputs } = await kernel.execute(code, { metadata, timeout: 60_000 });
  return { status: (reply.content as Content).status as string, reply: reply.content as Content, outputs };
}
const lastRun = async () => (await allRuns(store)).at(-1)!;
async function artifacts(runId: string, sub?: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of await store.listArtifacts(runId, sub)) {
    if (f.isDir) for (const [k, v] of await artifacts(runId, f.path)) out.set(k, v);
    else out.set(f.path, (await store.downloadArtifact(runId, f.path)).length);
  }
  return out;
}

beforeAll(async () => {
  work = makeTempDir("magics-e2e");
  store = new FileStore(path.join(work, "mlruns"), { onWarning: () => undefined });
  kernel = await startKernelIn(work, { E2E_API_TOKEN: SECRET });
}, 60_000);
afterAll(async () => {
  await kernel?.close();
  rmTempDir(work);
});

describe("magics through a spawned kernel", () => {
  it("lists magics and shows help", async () => {
    const ls = await exec("%lsmagic");
    expect(ls.status).toBe("ok");
    expect(contentsOf(ls.outputs, "display_data")[0]!.data["text/plain"]).toMatch(/%mlflow_compare[\s\S]*%%mlflow_run/);
    const help = await exec("%mlflow_compare?");
    expect(contentsOf(help.outputs, "display_data")[0]!.data["text/plain"]).toContain("--kind auto|bar|history|scatter|parallel");
  });

  it("refuses bad input with an error naming it; nothing runs, no run is created", async () => {
    for (const [cell, pattern] of [
      [`%%mlflow_runn\nconsole.log("ran")`, /Unknown magic %%mlflow_runn\. Available: .*%%mlflow_run/],
      [`%%mlflow_run --parm lr=1\nconsole.log("ran")`, /Unknown option '--parm' for %%mlflow_run\. Accepted options: .*--param/],
      [`%%mlflow_run --param lr\nconsole.log("ran")`, /Bad --param "lr": expected KEY=VALUE/],
      [`%%mlflow_run --resume 0123456789abcdef\nconsole.log("ran")`, /--resume: no run with id "0123456789abcdef"/],
    ] as const) {
      const r = await exec(cell);
      expect(r.status).toBe("error");
      expect(r.reply.evalue).toMatch(pattern);
      expect(contentsOf(r.outputs, "error")[0]!.evalue).toMatch(pattern);
      expect(stdoutOf(r.outputs)).toBe("");
    }
    expect(await allRuns(store)).toEqual([]);
  });

  let first: Run;
  it("runs a cell as a FINISHED run with params, metric history, system tags and artifacts", async () => {
    const r = await exec(
      `%%mlflow_run first --param batch=16 --tag team=ml --description "e2e run"\nconst lr = 0.05;\nfor (let i = 0; i < 5; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\nconsole.log("token", process.env.E2E_API_TOKEN);\nlr * 2`,
      { cellId: "e2e-cell-1" },
    );
    expect(r.status).toBe("ok");
    expect(stdoutOf(r.outputs)).toBe(`token ${SECRET}\n`);
    expect(contentsOf(r.outputs, "execute_result")[0]!.data["text/plain"]).toBe("0.1");
    first = await lastRun();
    // The run's panel: its last frame (an update of the panel's display) is the summary.
    const panelId = contentsOf(r.outputs, "display_data").at(-1)!.transient.display_id;
    const summary = contentsOf(r.outputs, "update_display_data")
      .filter((c) => c.transient?.display_id === panelId)
      .at(-1)!.data;
    expect(summary["text/plain"]).toContain(`MLflow run first (${first.info.runId}) FINISHED`);
    expect(summary["text/html"]).toContain(first.info.runId);
    expect(first.info.status).toBe("FINISHED");
    expect(paramsOf(first)).toEqual({ batch: "16", lr: "0.05" });
    expect((await store.getMetricHistory(first.info.runId, "loss")).map((m) => m.step)).toEqual([0, 1, 2, 3, 4]);
    const tags = tagsOf(first);
    expect(tags).toMatchObject({
      [TAG.sourceType]: "NOTEBOOK",
      [TAG.sourceName]: "<kernel session>",
      [TAG.runName]: "first",
      [TAG.note]: "e2e run",
      [TAG.cellId]: "e2e-cell-1",
      [TAG.user]: os.userInfo().username,
      team: "ml",
    });
    expect(tags[TAG.executionCount]).toBe(String(r.reply.execution_count));
    expect(tags[TAG.gitCommit]).toMatch(/^[0-9a-f]{40}$/);
    expect(["true", "false"]).toContain(tags[TAG.gitDirty]);
    const files = await artifacts(first.info.runId);
    expect([...files.keys()].sort()).toEqual(["notebook.ipynb", "outputs/stdout.txt", "source.ts"]);
    for (const size of files.values()) expect(size).toBeGreaterThan(0);
    expect(await artifactText(store, first.info.runId, "outputs/stdout.txt")).toBe(`token ${REDACTED}\n`);
    const nb = JSON.parse(await artifactText(store, first.info.runId, "notebook.ipynb"));
    expect(nb.nbformat).toBe(4);
    expect(nb.cells.at(-1).source).toContain("%%mlflow_run first");
  });

  it("saves display outputs: HTML, PNG and a Vega-Lite chart with its SVG", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    const r = await exec(
      `%%mlflow_run outputs\nconst tslab = require("tslab");\ntslab.display.html("<b>hello</b>");\ntslab.display.png(Buffer.from("${png}", "base64"));\ndisplay({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: { values: [{ a: 1 }, { a: 2 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });`,
    );
    expect(r.status).toBe("ok");
    const run = await lastRun();
    const files = await artifacts(run.info.runId);
    expect([...files.keys()].filter((f) => f.startsWith("outputs/")).sort()).toEqual([
      "outputs/001-html.html",
      "outputs/002-image.png",
      "outputs/003-chart.svg",
      "outputs/003-chart.vl.json",
    ]);
    expect(await artifactText(store, run.info.runId, "outputs/003-chart.svg")).toMatch(/^<svg/);
  });

  it("marks a throwing cell FAILED with the error saved; the kernel goes on", async () => {
    const r = await exec(`%%mlflow_run failing\nmlflow.logMetric("acc", 0.5);\nthrow new TypeError("shape mismatch");`);
    expect(r.status).toBe("error");
    expect(r.reply.ename).toBe("TypeError");
    expect(r.reply.evalue).toBe("shape mismatch");
    // The throw is on the cell's line 3, counting the magic line.
    const count = r.reply.execution_count as number;
    expect(r.reply.traceback).toEqual(["TypeError: shape mismatch", `    at In[${count}]:3:7`]);
    const run = await lastRun();
    expect(run.info.status).toBe("FAILED");
    expect(await artifactText(store, run.info.runId, "error.txt")).toMatch(/^TypeError: shape mismatch\n[^]*\n {4}at In\[\d+\]:3:7\n/);
    expect(run.data.metrics.map((m) => [m.key, m.value])).toEqual([["acc", 0.5]]);
    const next = await exec("40 + 2");
    expect(contentsOf(next.outputs, "execute_result")[0]!.data["text/plain"]).toBe("42");
  });

  it("refuses a bad metric from mlflow.logMetric, naming it; earlier points are kept", async () => {
    const r = await exec(`%%mlflow_run badmetric\nmlflow.logMetric("ok", 1, 0);\nmlflow.logMetric("acc", "high" as any);`);
    expect(r.status).toBe("error");
    expect(r.reply.evalue).toMatch(/Invalid value "high" for metric "acc"/);
    const run = await lastRun();
    expect(run.info.status).toBe("FAILED");
    expect(run.data.metrics.map((m) => m.key)).toEqual(["ok"]);
  });

  it("marks an interrupted cell KILLED", async () => {
    // Interrupt once the cell says it is inside its wait: an event, not a sleep.
    let waiting!: () => void;
    const inside = new Promise<void>((r) => (waiting = r));
    const pending = kernel
      .execute(`%%mlflow_run waiting\nmlflow.logMetric("progress", 1);\nconsole.log("waiting now");\nawait new Promise(() => {});`, {
        timeout: 60_000,
        onOutput: (m) => {
          if (m.header.msg_type === "stream" && String((m.content as Content).text).includes("waiting now")) waiting();
        },
      })
      .then(({ reply, outputs }) => ({ status: (reply.content as Content).status as string, reply: reply.content as Content, outputs }));
    await inside;
    await kernel.interrupt();
    const r = await pending;
    expect(r.status).toBe("error");
    const run = await lastRun();
    expect(run.info.runName).toBe("waiting");
    expect(run.info.status).toBe("KILLED");
    expect(run.data.metrics[0]).toMatchObject({ key: "progress", value: 1 });
    expect((await exec("1")).status).toBe("ok");
  });

  it("nests %%mlflow_run under a script-style run; --resume continues a run", async () => {
    expect((await exec(`await mlflow.startRun({ runName: "outer" });`)).status).toBe("ok");
    expect((await exec(`%%mlflow_run inner --nested\nmlflow.logMetric("m", 1);`)).status).toBe("ok");
    expect((await exec(`await mlflow.endRun();`)).status).toBe("ok");
    const runs = await allRuns(store);
    const outer = runs.find((r) => r.info.runName === "outer")!;
    const inner = runs.find((r) => r.info.runName === "inner")!;
    expect(outer.info.status).toBe("FINISHED");
    expect(tagsOf(inner)[TAG.parentRunId]).toBe(outer.info.runId);
    const resumed = await exec(`%%mlflow_run --resume ${first.info.runId}\nmlflow.logMetric("loss", 0.1, 5);`);
    expect(resumed.status).toBe("ok");
    expect((await store.getMetricHistory(first.info.runId, "loss")).map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await store.getRun(first.info.runId)).info.status).toBe("FINISHED");
  });

  it("sets the experiment, shows status and a runs table", async () => {
    const e = await exec(`%mlflow_experiment e2e-sweep`);
    expect(contentsOf(e.outputs, "display_data")[0]!.data["text/plain"]).toMatch(/^Experiment e2e-sweep \(id \d+\)/);
    for (const lr of [0.1, 0.01]) {
      const r = await exec(
        `%%mlflow_run lr-${lr} --param lr=${lr}\nfor (let s = 0; s < 4; s++) mlflow.logMetrics({ loss: ${lr} * (4 - s), acc: 0.2 * s }, s);`,
      );
      expect(r.status).toBe("ok");
    }
    const exp = (await store.getExperimentByName("e2e-sweep"))!;
    expect((await store.searchRuns({ experimentIds: [exp.experimentId], maxResults: 10 })).items).toHaveLength(2);
    const s = await exec("%mlflow_status");
    expect(contentsOf(s.outputs, "display_data")[0]!.data["text/plain"]).toMatch(/experiment\s+e2e-sweep/);
    const t = await exec(`%mlflow_runs --filter "params.lr = '0.01'"`);
    const table = contentsOf(t.outputs, "display_data")[0]!.data["text/plain"] as string;
    expect(table).toMatch(/^1 run in experiment e2e-sweep/);
    expect(table).toContain("lr-0.01");
    const bad = await exec("%mlflow_runs --max 0");
    expect(bad.reply.evalue).toMatch(/Bad --max "0"/);
  });

  it("compares runs inline, and names an unknown metric or experiment", async () => {
    const r = await exec("%mlflow_compare --metric loss");
    expect(r.status).toBe("ok");
    const data = contentsOf(r.outputs, "display_data")[0]!.data;
    expect(data["application/vnd.vegalite.v5+json"].$schema).toBe("https://vega.github.io/schema/vega-lite/v5.json");
    expect(data["image/svg+xml"]).toMatch(/^<svg/);
    expect(data["text/plain"]).toContain("lr-0.1");
    const metric = await exec("%mlflow_compare --metric accuracy");
    expect(metric.status).toBe("error");
    expect(metric.reply.evalue).toMatch(/accuracy/);
    expect(metric.reply.evalue).toMatch(/acc/);
    const fromCell = await exec(`await charts.compare(await mlflow.searchRuns(), { metrics: ["loss"], kind: "bar" })`);
    const result = contentsOf(fromCell.outputs, "execute_result")[0]!.data;
    expect(result["application/vnd.vegalite.v5+json"].mark ?? result["application/vnd.vegalite.v5+json"].layer).toBeDefined();
    expect(result["image/svg+xml"]).toMatch(/^<svg/);
    const exp = await exec("%mlflow_compare --experiment no-such-exp");
    expect(exp.reply.evalue).toMatch(/Unknown experiment "no-such-exp"\. Experiments: .*e2e-sweep/);
  });

  it("switches autologging parts off and back on, naming a bad part", async () => {
    await exec("%mlflow_autolog off --what outputs,notebook,params");
    await exec(`%%mlflow_run quiet\nconst hidden = 3;\nconsole.log("x");`);
    const run = await lastRun();
    expect([...(await artifacts(run.info.runId)).keys()]).toEqual(["source.ts"]);
    expect(paramsOf(run)).toEqual({});
    await exec("%mlflow_autolog on");
    const bad = await exec("%mlflow_autolog off --what colours");
    expect(bad.reply.evalue).toMatch(/Unknown autolog part "colours"\. Accepted: params, metrics, outputs/);
  });
});

describe("a kernel started inside an outer run (MLFLOW_RUN_ID)", () => {
  it("nests %%mlflow_run under it and leaves it open", async () => {
    const outer = await store.createRun({
      experimentId: (await store.getExperimentByName("e2e-sweep"))!.experimentId,
      runName: "notebook-run",
      startTime: Date.now(),
    });
    const nbPath = path.join(work, "papermill.ipynb");
    writeFileSync(
      nbPath,
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [
          { cell_type: "code", metadata: { tags: ["parameters"] }, source: "const alpha = 1;\n", outputs: [], execution_count: null },
          {
            cell_type: "code",
            metadata: { tags: ["injected-parameters"] },
            source: "const alpha = 3;\n",
            outputs: [],
            execution_count: null,
          },
        ],
      }),
    );
    const k2 = await startKernelIn(work, { MLFLOW_RUN_ID: outer.info.runId, JPY_SESSION_NAME: nbPath });
    try {
      const r = await k2.execute(`%%mlflow_run child\nmlflow.logMetric("c", 1);`, { timeout: 60_000 });
      expect((r.reply.content as Content).status).toBe("ok");
      const plain = await k2.execute(`mlflow.logMetric("outer_metric", 7); mlflow.activeRun()!.runId`, { timeout: 60_000 });
      expect(contentsOf(plain.outputs, "execute_result")[0]!.data["text/plain"]).toContain(outer.info.runId);
      await k2.execute(`await mlflow.flush();`, { timeout: 60_000 });
    } finally {
      await k2.close();
    }
    const child = (await allRuns(store)).find((r) => r.info.runName === "child")!;
    expect(tagsOf(child)[TAG.parentRunId]).toBe(outer.info.runId);
    expect(tagsOf(child)[TAG.sourceName]).toBe(nbPath);
    expect(paramsOf(child)).toEqual({ alpha: "3" });
    expect(child.info.experimentId).toBe(outer.info.experimentId);
    const after = await store.getRun(outer.info.runId);
    expect(after.info.status).toBe("RUNNING");
    expect(after.data.metrics.map((m) => [m.key, m.value])).toEqual([["outer_metric", 7]]);
  });
});
