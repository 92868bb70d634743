// The magics extension in-process, against a real file store in a temp dir, through a stand-in
// for the kernel's seam (fake-host.ts). The spawned-kernel tests (kernel.test.ts) repeat the
// key paths over ZeroMQ; these cover every branch quickly.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Run } from "../../tracking/entities.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { mlflowExtension } from "../../magics/extension.js";
import { trackingFromStore } from "../../magics/open-tracking.js";
import { REDACTED } from "../../magics/redact.js";
import { TAG } from "../../magics/system-tags.js";
import { displays, errors, FakeHost, streamText } from "./fake-host.js";
import { allRuns, artifactText, paramsOf, tagsOf } from "../support/store-reads.js";

let dir: string;
let store: FileStore;
let host: FakeHost;
const env: Record<string, string | undefined> = {};

const artifactPaths = async (runId: string, sub?: string): Promise<string[]> => {
  const out: string[] = [];
  for (const f of await store.listArtifacts(runId, sub)) {
    if (f.isDir) out.push(...(await artifactPaths(runId, f.path)));
    else out.push(f.path);
  }
  return out.sort();
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "magics-ext-"));
  store = new FileStore(path.join(dir, "mlruns"), { onWarning: () => undefined });
  const nb = path.join(dir, "sweep.ipynb");
  writeFileSync(
    nb,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        {
          cell_type: "code",
          metadata: { tags: ["parameters"] },
          source: ["const lr = 0.5;\n", 'const optimizer = "sgd";\n'],
          outputs: [],
          execution_count: null,
        },
        {
          cell_type: "code",
          metadata: { tags: ["injected-parameters"] },
          source: "const lr = 0.25;\n",
          outputs: [],
          execution_count: null,
        },
      ],
    }),
  );
  Object.assign(env, { JPY_SESSION_NAME: nb, MY_API_TOKEN: "tok-supersecret-42" });
  const tracking = trackingFromStore(store, () => undefined, { spoolDir: path.join(dir, "spool"), exitHooks: false });
  host = new FakeHost(dir, mlflowExtension({ env, tracking }));
  await host.start();
});
afterAll(async () => {
  await host.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe("magics in-process", () => {
  it("injects the mlflow and charts globals with declarations", () => {
    expect(host.globals.has("mlflow")).toBe(true);
    expect(host.globals.has("charts")).toBe(true);
    expect(host.declarations.join("\n")).toContain("declare const mlflow: MlflowApi;");
  });

  it("leaves plain cells to TypeScript", async () => {
    const r = await host.execute("return 1 + 1");
    expect(r.handled).toBe(false);
  });

  it("lists magics and shows help from the registry", async () => {
    const ls = await host.execute("%lsmagic");
    expect(displays(ls.outputs)[0]!["text/plain"]).toMatch(/%mlflow_compare[\s\S]*%%mlflow_run/);
    const h1 = await host.execute("%help mlflow_run");
    const h2 = await host.execute("%%mlflow_run?");
    expect(displays(h1.outputs)[0]!["text/plain"]).toContain("--resume RUN_ID");
    expect(displays(h2.outputs)[0]).toEqual(displays(h1.outputs)[0]);
  });

  it("refuses an unknown magic, a bad option and a bad --param without running or creating anything", async () => {
    const before = (await allRuns(store)).length;
    for (const [cell, pattern] of [
      ["%%mlflow_rn\nprint('ran')", /Unknown magic %%mlflow_rn\. Available: .*%%mlflow_run/],
      [
        "%%mlflow_run --epochs 3\nprint('ran')",
        /Unknown option '--epochs' for %%mlflow_run\. Accepted options: --experiment, --nested, --param/,
      ],
      ["%%mlflow_run --param lr\nprint('ran')", /Bad --param "lr": expected KEY=VALUE/],
      ["%%mlflow_run --param ../x=1\nprint('ran')", /Invalid param key "\.\.\/x"/],
      ["%mlflow_experiment ok\n%bogus\nprint('ran')", /Unknown magic %bogus/],
      ["%%mlflow_run --resume no-such-run\nprint('ran')", /--resume: no run with id "no-such-run"/],
    ] as const) {
      const r = await host.execute(cell);
      expect(r.status).toBe("error");
      expect(errors(r.outputs)[0]!.evalue).toMatch(pattern);
      expect(streamText(r.outputs)).toBe("");
    }
    expect((await allRuns(store)).length).toBe(before);
    expect(await store.getExperimentByName("ok")).toBeUndefined();
  });

  let first: Run;
  it("turns a cell into a FINISHED run with params, metrics, tags and artifacts", async () => {
    const r = await host.execute(
      `%%mlflow_run first --param batch=32 --tag team=ml --description "a first run"\nconst epochs = 3;\nfor (let i = 0; i < 3; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\nprint("trained", "tok-supersecret-42");\nshow({ "text/html": "<b>done</b>", "text/plain": "done" });\nreturn 42;`,
      { cellId: "cell-one" },
    );
    expect(r.status).toBe("ok");
    const runs = await allRuns(store);
    first = runs.at(-1)!;
    expect(first.info.status).toBe("FINISHED");
    expect(first.info.runName).toBe("first");
    expect(first.info.endTime).toBeGreaterThanOrEqual(first.info.startTime);
    expect(paramsOf(first)).toEqual({ batch: "32", epochs: "3", lr: "0.25", optimizer: "sgd" });
    const tags = tagsOf(first);
    expect(tags).toMatchObject({
      [TAG.sourceType]: "NOTEBOOK",
      [TAG.sourceName]: env.JPY_SESSION_NAME,
      [TAG.runName]: "first",
      [TAG.note]: "a first run",
      [TAG.cellId]: "cell-one",
      team: "ml",
      [TAG.user]: os.userInfo().username,
    });
    expect(tags[TAG.executionCount]).toMatch(/^\d+$/);
    expect((await store.getMetricHistory(first.info.runId, "loss")).map((m) => [m.step, m.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
    ]);
    const files = await artifactPaths(first.info.runId);
    expect(files).toEqual(["notebook.ipynb", "outputs/001-html.html", "outputs/stdout.txt", "source.ts"]);
    for (const f of files) expect((await store.downloadArtifact(first.info.runId, f)).length).toBeGreaterThan(0);
    expect(await artifactText(store, first.info.runId, "outputs/stdout.txt")).toBe(`trained ${REDACTED}\n`);
    const nb = JSON.parse(await artifactText(store, first.info.runId, "notebook.ipynb"));
    expect(nb.cells.at(-1).source).toContain("%%mlflow_run first");
    const summary = displays(r.outputs).at(-1)!;
    expect(summary["text/plain"]).toContain(`MLflow run first (${first.info.runId}) FINISHED`);
    expect(summary["text/plain"]).toMatch(/loss=0\.333333/);
  });

  it("marks a throwing cell FAILED, saves the error, and the session goes on", async () => {
    const r = await host.execute(`%%mlflow_run boom\nmlflow.logMetric("acc", 0.5);\nthrow new RangeError("bad shape");`);
    expect(r.status).toBe("error");
    expect(errors(r.outputs)).toHaveLength(1);
    expect(errors(r.outputs)[0]).toMatchObject({ ename: "RangeError", evalue: "bad shape" });
    const run = (await allRuns(store)).at(-1)!;
    expect(run.info.status).toBe("FAILED");
    expect(await artifactText(store, run.info.runId, "error.txt")).toMatch(/^RangeError: bad shape/);
    expect(run.data.metrics.map((m) => [m.key, m.value])).toEqual([["acc", 0.5]]);
    expect((await host.execute("return 2 + 2")).status).toBe("ok");
  });

  it("refuses a bad metric at the call, naming it; the run is FAILED with earlier data kept", async () => {
    const r = await host.execute(`%%mlflow_run badmetric\nmlflow.logMetric("ok", 1);\nmlflow.logMetric("acc", "high");`);
    expect(errors(r.outputs)[0]!.evalue).toMatch(/Invalid value "high" for metric "acc"/);
    const run = (await allRuns(store)).at(-1)!;
    expect(run.info.status).toBe("FAILED");
    expect(run.data.metrics.map((m) => m.key)).toEqual(["ok"]);
  });

  it("marks an interrupted cell KILLED", async () => {
    // Interrupt once the cell says it is inside its wait: an event, not a sleep.
    let waiting!: () => void;
    const inside = new Promise<void>((r) => (waiting = r));
    host.onOutput((o) => {
      if (o.type === "stream" && o.text.includes("waiting now")) waiting();
    });
    const pending = host.execute(`%%mlflow_run waiting\nmlflow.logMetric("x", 1);\nprint("waiting now");\nawait new Promise(() => {});`);
    await inside;
    host.interrupt();
    const r = await pending;
    expect(r.status).toBe("error");
    const run = (await allRuns(store)).at(-1)!;
    expect(run.info.runName).toBe("waiting");
    expect(run.info.status).toBe("KILLED");
    expect(run.data.metrics[0]).toMatchObject({ key: "x", value: 1 });
  });

  it("nests under a script-style run and under --nested; endRun finishes the outer run", async () => {
    await host.execute(`await mlflow.startRun({ runName: "outer" });`);
    await host.execute(`%%mlflow_run inner --nested\nmlflow.logMetric("m", 2);`);
    await host.execute(`%%mlflow_run inner2\nmlflow.logMetric("m", 3);`);
    const ended = await host.execute(`const id = mlflow.activeRun().runId; await mlflow.endRun(); return id;`);
    expect(ended.status).toBe("ok");
    const runs = await allRuns(store);
    const outer = runs.find((r) => r.info.runName === "outer")!;
    expect(outer.info.status).toBe("FINISHED");
    for (const name of ["inner", "inner2"]) {
      const child = runs.find((r) => r.info.runName === name)!;
      expect(tagsOf(child)[TAG.parentRunId]).toBe(outer.info.runId);
      expect(child.info.status).toBe("FINISHED");
    }
    const orphan = await host.execute(`%%mlflow_run --nested\nprint(1)`);
    expect(errors(orphan.outputs)[0]!.evalue).toMatch(/--nested needs an open run/);
  });

  it("resumes an existing run", async () => {
    await host.execute(`%%mlflow_run --resume ${first.info.runId}\nmlflow.logMetric("loss", 0.1, 3);`);
    const run = await store.getRun(first.info.runId);
    expect(run.info.status).toBe("FINISHED");
    expect((await store.getMetricHistory(first.info.runId, "loss")).map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect((await allRuns(store)).filter((r) => r.info.runId === first.info.runId)).toHaveLength(1);
  });

  it("sets the experiment, creating it, and runs go there", async () => {
    const r = await host.execute(
      `%mlflow_experiment sweep\n%%mlflow_run a --param lr=0.1\nmlflow.logMetric("acc", 0.7, 0); mlflow.logMetric("acc", 0.8, 1);`,
    );
    expect(r.status).toBe("ok");
    const exp = (await store.getExperimentByName("sweep"))!;
    await host.execute(`%%mlflow_run b --param lr=0.01\nmlflow.logMetric("acc", 0.6, 0); mlflow.logMetric("acc", 0.9, 1);`);
    const runs = (await store.searchRuns({ experimentIds: [exp.experimentId], maxResults: 10 })).items;
    expect(runs.map((x) => x.info.runName).sort()).toEqual(["a", "b"]);
  });

  it("shows status and a runs table", async () => {
    const s = await host.execute("%mlflow_status");
    expect(displays(s.outputs)[0]!["text/plain"]).toMatch(/tracking URI\s+file:\/\/.*\nexperiment\s+sweep/);
    const t = await host.execute(`%mlflow_runs --order-by "metrics.acc DESC" --max 5`);
    const text = displays(t.outputs)[0]!["text/plain"] as string;
    expect(text.split("\n")[0]).toBe("2 runs in experiment sweep");
    expect(text.split("\n")[2]).toMatch(/^b\s/);
    const html = displays(t.outputs)[0]!["text/html"] as string;
    expect(html).toContain("<table>");
    // The run id column shows the id's start and keeps the whole id in its tooltip.
    const ids = [...html.matchAll(/<code title="([0-9a-f]{32})">([0-9a-f]{8})<\/code>/g)];
    expect(ids).toHaveLength(2);
    for (const [, full, short] of ids) expect(full!.startsWith(short!)).toBe(true);
    const bad = await host.execute("%mlflow_runs --max lots");
    expect(errors(bad.outputs)[0]!.evalue).toMatch(/Bad --max "lots": expected a positive whole number/);
  });

  it("compares runs inline with Vega-Lite v5 and SVG, and names unknown metrics and experiments", async () => {
    const r = await host.execute("%mlflow_compare --metric acc");
    expect(r.status).toBe("ok");
    const bundle = displays(r.outputs)[0]!;
    expect((bundle["application/vnd.vegalite.v5+json"] as { $schema: string }).$schema).toMatch(/vega-lite\/v5/);
    expect(bundle["image/svg+xml"]).toMatch(/^<svg/);
    const again = await host.execute("%mlflow_compare --metric acc");
    expect(JSON.stringify(displays(again.outputs)[0])).toBe(JSON.stringify(bundle));
    const m = await host.execute("%mlflow_compare --metric nope");
    expect(errors(m.outputs)[0]!.evalue).toMatch(/nope/);
    const e = await host.execute("%mlflow_compare --experiment nowhere");
    expect(errors(e.outputs)[0]!.evalue).toMatch(/Unknown experiment "nowhere"\. Experiments: .*sweep/);
    const sweep = (await store.searchRuns({ experimentIds: [(await store.getExperimentByName("sweep"))!.experimentId], maxResults: 10 }))
      .items;
    const byIds = await host.execute(`%mlflow_compare --runs ${sweep.map((x) => x.info.runId).join(",")} --metric acc --kind history`);
    expect(byIds.status).toBe("ok");
    expect(displays(byIds.outputs)[0]!["text/plain"]).toMatch(/\ba\b[\s\S]*\bb\b/);
    const unknownRun = await host.execute("%mlflow_compare --runs deadbeef");
    expect(errors(unknownRun.outputs)[0]!.evalue).toBe('--runs: no run with id "deadbeef".');
    const k = await host.execute("%mlflow_compare --kind pie");
    expect(errors(k.outputs)[0]!.evalue).toMatch(/Unknown --kind "pie"\. Accepted: auto, bar, history, scatter, parallel/);
  });

  it("leaves runs without the charted metrics out of a searched comparison, not out of --runs", async () => {
    const exp = (await store.getExperimentByName("sweep"))!;
    const bare = await store.createRun({ experimentId: exp.experimentId, runName: "notebook-run-without-metrics" });
    try {
      const searched = await host.execute("%mlflow_compare --metric acc --kind bar");
      expect(searched.status).toBe("ok");
      expect(displays(searched.outputs)[0]!["text/plain"]).not.toContain("notebook-run-without-metrics");
      const named = await host.execute(`%mlflow_compare --runs ${bare.info.runId} --metric acc --kind bar`);
      expect(errors(named.outputs)[0]!.evalue).toMatch(/acc/);
    } finally {
      await store.deleteRun(bare.info.runId);
    }
  });

  it("saves charts as .vl.json with an SVG beside them, and switches output logging off", async () => {
    await host.execute(
      `%%mlflow_run charted\nshow({ "application/vnd.vegalite.v5+json": { $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } }, "text/plain": "chart" });`,
    );
    const charted = (await allRuns(store)).at(-1)!;
    const files = await artifactPaths(charted.info.runId);
    expect(files).toContain("outputs/001-chart.vl.json");
    expect(await artifactText(store, charted.info.runId, "outputs/001-chart.svg")).toMatch(/^<svg/);
    const off = await host.execute("%mlflow_autolog off --what outputs,notebook");
    expect(displays(off.outputs)[0]!["text/plain"]).toMatch(/off\s+outputs/);
    await host.execute(`%%mlflow_run quiet\nprint("hi");`);
    const quiet = (await allRuns(store)).at(-1)!;
    expect(await artifactPaths(quiet.info.runId)).toEqual(["source.ts"]);
    await host.execute("%mlflow_autolog on");
    const bad = await host.execute("%mlflow_autolog off --what everything");
    expect(errors(bad.outputs)[0]!.evalue).toMatch(/Unknown autolog part "everything"\. Accepted: params, metrics/);
  });

  it("logs text, dicts, files, images and charts from the mlflow object; secret-named consts are redacted", async () => {
    const local = path.join(dir, "notes.md");
    writeFileSync(local, "# notes\n");
    const png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    const r = await host.execute(
      `%%mlflow_run helpers\nconst apiKey = "sk-live-123456";\nconst units = 4;\nawait mlflow.logText("hello tok-supersecret-42", "notes/hello.txt");\nawait mlflow.logDict({ a: 1 }, "config.json");\nawait mlflow.logArtifact(${JSON.stringify(local)}, "docs");\nawait mlflow.logImage(${JSON.stringify(png)}, "plots/dot.png");\nawait mlflow.logChart({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: { values: [{ a: 1 }] }, mark: "bar", encoding: { y: { field: "a", type: "quantitative" } } }, "charts/a");\nmlflow.setTags({ stage: "dev" });`,
    );
    expect(r.status).toBe("ok");
    const run = (await allRuns(store)).at(-1)!;
    expect(paramsOf(run)).toMatchObject({ apiKey: REDACTED, units: "4" });
    expect(tagsOf(run).stage).toBe("dev");
    const files = await artifactPaths(run.info.runId);
    expect(files).toEqual(
      expect.arrayContaining(["notes/hello.txt", "config.json", "docs/notes.md", "plots/dot.png", "charts/a.vl.json", "charts/a.svg"]),
    );
    expect(await artifactText(store, run.info.runId, "notes/hello.txt")).toBe(`hello ${REDACTED}`);
    expect(await artifactText(store, run.info.runId, "source.ts")).not.toContain("tok-supersecret-42");
    expect((await store.downloadArtifact(run.info.runId, "plots/dot.png"))[1]).toBe(0x50);
    expect(await artifactText(store, run.info.runId, "charts/a.svg")).toMatch(/^<svg/);
    const bad = await host.execute(`%%mlflow_run badpath\nawait mlflow.logText("x", "../escape.txt");`);
    expect(errors(bad.outputs)[0]!.evalue).toMatch(/Invalid artifact path "\.\.\/escape\.txt"/);
  });

  it("compares runs from a cell through the charts global, and calls a serving endpoint", async () => {
    const c = await host.execute(
      `const runs = await mlflow.searchRuns({ experiment: "sweep" });\nconst chart = await charts.compare(runs, { metrics: ["acc"], kind: "bar" });\nreturn chart[Symbol.for("Jupyter.display")]()["image/svg+xml"].slice(0, 4);`,
    );
    expect(c.status).toBe("ok");
    expect(c.outputs.find((o) => o.type === "execute_result")).toMatchObject({ data: { "text/plain": "<svg" } });
    const { createServer } = await import("node:http");
    const bodies: unknown[] = [];
    const srv = createServer((req, res) => {
      let b = "";
      req.on("data", (d) => (b += d));
      req.on("end", () => {
        bodies.push({ path: req.url, body: JSON.parse(b) });
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ predictions: [0.5] }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (srv.address() as { port: number }).port;
      const p = await host.execute(`return JSON.stringify(await mlflow.predict("http://127.0.0.1:${port}", [{ x: 1 }]));`);
      expect(p.outputs.find((o) => o.type === "execute_result")).toMatchObject({ data: { "text/plain": '{"predictions":[0.5]}' } });
      expect(bodies).toEqual([{ path: "/invocations", body: { dataframe_records: [{ x: 1 }] } }]);
    } finally {
      srv.close();
    }
  });

  it("refuses logging outside a run, naming what to do", async () => {
    const r = await host.execute(`mlflow.logMetric("x", 1);`);
    expect(errors(r.outputs)[0]!.evalue).toMatch(/no active run\. Use a %%mlflow_run cell or mlflow\.startRun\(\)/);
  });

  it("registers a model version and resolves an alias", async () => {
    const r = await host.execute(
      `const v = await mlflow.registerModel("runs:/${first.info.runId}/model", "demo-model");\nawait mlflow.setAlias("demo-model", "Champion", v.version);\nreturn (await mlflow.getModelVersionByAlias("demo-model", "Champion")).version;`,
    );
    expect(r.status).toBe("ok");
    const mv = await store.getModelVersionByAlias("demo-model", "Champion");
    expect(mv.version).toBe("1");
    expect(mv.source).toBe(`runs:/${first.info.runId}/model`);
  });
});

describe("a bad MLFLOW_TRACKING_URI", () => {
  it("does not stop the kernel; magics and the mlflow object name the URI and what is accepted", async () => {
    const bad = new FakeHost(dir ?? os.tmpdir(), mlflowExtension({ env: { MLFLOW_TRACKING_URI: "ftp://example.org/mlruns" } }));
    await bad.start();
    expect(bad.logs.join("\n")).toMatch(/MLflow tracking unavailable: Unsupported tracking URI "ftp:\/\/example\.org\/mlruns"/);
    const status = await bad.execute("%mlflow_status");
    expect(errors(status.outputs)[0]!.evalue).toMatch(
      /Unsupported tracking URI "ftp:\/\/example\.org\/mlruns" \(scheme "ftp:"\)\. Accepted: /,
    );
    const call = await bad.execute(`mlflow.logMetric("x", 1);`);
    expect(errors(call.outputs)[0]!.evalue).toMatch(/Unsupported tracking URI/);
    expect((await bad.execute("return 1 + 1")).status).toBe("ok");
  });
});

describe("kernel shutdown with runs open", () => {
  it("ends a script-style run FINISHED and a %%mlflow_run still running KILLED", async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), "magics-shutdown-"));
    try {
      const s = new FileStore(path.join(d, "mlruns"), { onWarning: () => undefined });
      const h = new FakeHost(
        d,
        mlflowExtension({
          env: {},
          tracking: trackingFromStore(s, () => undefined, { spoolDir: path.join(d, "spool"), exitHooks: false }),
        }),
      );
      await h.start();
      await h.execute(`await mlflow.startRun({ runName: "script" });`);
      // Shut down once the cell is inside its run (its first output says so), not after a guess.
      const inside = new Promise<void>((resolve) =>
        h.onOutput((o) => void (o.type === "stream" && o.text.includes("inside") && resolve())),
      );
      void h.execute(`%%mlflow_run stuck\nmlflow.logMetric("x", 1);\nprint("inside");\nawait new Promise(() => {});`);
      await inside;
      await h.shutdown();
      const exps = (await s.searchExperiments({ maxResults: 10 })).items.map((e) => e.experimentId);
      const runs = (await s.searchRuns({ experimentIds: exps, maxResults: 10 })).items;
      expect(Object.fromEntries(runs.map((r) => [r.info.runName, r.info.status]))).toEqual({ script: "FINISHED", stuck: "KILLED" });
      expect(runs.find((r) => r.info.runName === "stuck")!.data.metrics[0]).toMatchObject({ key: "x", value: 1 });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
