// The TensorFlow.js hook against the real @tensorflow/tfjs. In process: which package loads
// trigger it, where the patched module comes from, and that fit and fitDataset log params and
// per-epoch metrics into the active run, keeping the user's callbacks, and nothing without a run
// or with metrics autologging off. Through a spawned kernel (inside an outer run, as under
// `tslab-mlflow run`): cells that never import tfjs never load it, and importing it in a cell
// before autologging is on and before the run opens still autologs `model.fit` in the run.

import path from "node:path";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActiveRun } from "../../magics/active-run.js";
import { HookRegistry, type LibraryHook } from "../../magics/hooks/index.js";
import { tfjsHook } from "../../magics/hooks/tfjs.js";
import { FileStore } from "../../tracking/file-store/index.js";
import type { Run } from "../../tracking/entities.js";
import { KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, REPO_ROOT, rmTempDir } from "../support/paths.js";

const tf = createRequire(import.meta.url)("@tensorflow/tfjs");
function fakeRun() {
  const params = new Map<string, string>();
  const metrics: [string, number, number][] = [];
  const uploads: string[] = [];
  const run = {
    params,
    isEnded: false,
    logParam: (k: string, v: string | number) => void params.set(k, String(v)),
    logMetric: (k: string, v: number, step?: number) => void metrics.push([k, v, step ?? 0]),
    upload: async (p: string) => void uploads.push(p),
  };
  return { run: run as unknown as ActiveRun, params, metrics, uploads };
}

describe("TensorFlow.js hook", () => {
  let active: ActiveRun | undefined;
  let enabled = true;
  const warnings: string[] = [];
  const hooks = new HookRegistry({ activeRun: () => active, enabled: () => enabled, warn: (m) => warnings.push(m) }, REPO_ROOT);
  const model = () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    m.compile({ optimizer: tf.train.sgd(0.02), loss: "meanSquaredError" });
    return m;
  };
  const xs = tf.tensor2d([[0], [1], [2], [3]]);
  const ys = tf.tensor2d([[1], [3], [5], [7]]);

  it("installs once, when a cell loads tfjs, a package re-exporting it or its layers", () => {
    for (const id of [
      "@tensorflow/tfjs",
      "@tensorflow/tfjs-node",
      "@tensorflow/tfjs-node-gpu",
      "@tensorflow/tfjs-layers",
      "@tensorflow/tfjs/dist/index.js",
    ])
      expect(tfjsHook.triggers.test(id), id).toBe(true);
    for (const id of ["@tensorflow/tfjs-vis", "@tensorflow/tfjs-core", "@tensorflow/tfjs-nodes", "tfjs", "lodash"])
      expect(tfjsHook.triggers.test(id), id).toBe(false);
    hooks.loaded("lodash", {});
    expect(hooks.installed).toEqual([]);
    hooks.loaded("@tensorflow/tfjs", tf);
    hooks.loaded("@tensorflow/tfjs-node", tf);
    expect(hooks.installed).toEqual(["tfjs"]);
  });

  it("patches the package resolved from the notebook's directory, else the trigger's own exports", () => {
    const quiet = () => ({ activeRun: () => undefined, enabled: () => true, warn: (m: string) => ws.push(m) });
    const ws: string[] = [];
    // Resolved from the repo: the trigger's (here empty) exports are not what gets patched.
    const inRepo = new HookRegistry(quiet(), REPO_ROOT);
    inRepo.loaded("@tensorflow/tfjs-node", {});
    expect([inRepo.installed, ws]).toEqual([["tfjs"], []]);
    // Not resolvable from "/": a re-exporting package's exports are patched.
    const nested = new HookRegistry(quiet(), "/");
    nested.loaded("@tensorflow/tfjs-node", tf);
    expect([nested.installed, ws]).toEqual([["tfjs"], []]);
    // Nothing patchable: one warning naming the package, no second try.
    const none = new HookRegistry(quiet(), "/");
    none.loaded("@tensorflow/tfjs-layers", {});
    none.loaded("@tensorflow/tfjs", {});
    expect(none.installed).toEqual([]);
    expect(ws).toEqual(["autologging for @tensorflow/tfjs is off: LayersModel.prototype.fit not found"]);
  });

  it("tries each hook at most once and leaves other hooks to their own triggers", () => {
    const calls: string[] = [];
    const fake = (name: string, triggers: RegExp): LibraryHook => ({
      name,
      module: name,
      triggers,
      install: (lib) => void calls.push(`${name}:${String(lib)}`),
    });
    const reg = new HookRegistry({ activeRun: () => undefined, enabled: () => true, warn: () => undefined }, "/", [
      fake("a", /^a(-x)?$/),
      fake("b", /^b$/),
    ]);
    reg.loaded("a", "A1");
    reg.loaded("a-x", "A2");
    reg.loaded("c", "C");
    reg.loaded("b", "B");
    expect(calls).toEqual(["a:A1", "b:B"]);
    expect(reg.installed).toEqual(["a", "b"]);
  });

  it("logs fit params and per-epoch metrics, keeping the user's callbacks", async () => {
    const f = fakeRun();
    active = f.run;
    const seen: number[] = [];
    await model().fit(xs, ys, {
      epochs: 3,
      batchSize: 2,
      validationSplit: 0.25,
      verbose: 0,
      callbacks: { onEpochEnd: async (e: number) => void seen.push(e) },
    });
    expect(Object.fromEntries(f.params)).toEqual({
      epochs: "3",
      batch_size: "2",
      validation_split: "0.25",
      optimizer_name: "SGD",
      learning_rate: "0.02",
      loss: "meanSquaredError",
    });
    expect(f.metrics.filter(([k]) => k === "loss").map(([, , s]) => s)).toEqual([0, 1, 2]);
    expect(f.metrics.filter(([k]) => k === "val_loss").map(([, , s]) => s)).toEqual([0, 1, 2]);
    expect(seen).toEqual([0, 1, 2]);
    expect(f.uploads).toEqual(["model_summary.txt"]);
    expect(warnings).toEqual([]);
  });

  it("logs fitDataset too", async () => {
    const f = fakeRun();
    active = f.run;
    const ds = tf.data.zip({ xs: tf.data.array([[0], [1], [2], [3]]), ys: tf.data.array([[1], [3], [5], [7]]) }).batch(2);
    await model().fitDataset(ds, { epochs: 2, verbose: 0 });
    expect(f.params.get("epochs")).toBe("2");
    expect(f.metrics.filter(([k]) => k === "loss").map(([, , s]) => s)).toEqual([0, 1]);
  });

  it("logs nothing without a run or with metrics autologging off", async () => {
    const f = fakeRun();
    active = undefined;
    await model().fit(xs, ys, { epochs: 1, verbose: 0 });
    active = f.run;
    enabled = false;
    await model().fit(xs, ys, { epochs: 1, verbose: 0 });
    expect(f.metrics).toEqual([]);
    expect(f.params.size).toBe(0);
  });
});

describe("tfjs autologging through a spawned kernel inside an outer run", () => {
  let work: string;
  let store: FileStore;
  let kernel: KernelClient;
  type Content = Record<string, any>;

  async function ok(code: string): Promise<string | undefined> {
    const { reply, outputs } = await kernel.execute(code, { timeout: 120_000 });
    const c = reply.content as Content;
    if (c.status !== "ok") throw new Error(`cell failed: ${code}\n${JSON.stringify(c)}`);
    return outputs.filter((m) => m.header.msg_type === "execute_result").map((m) => (m.content as Content).data["text/plain"] as string)[0];
  }
  const run = async (name: string): Promise<Run> => {
    const exps = (await store.searchExperiments({ maxResults: 100 })).items.map((e) => e.experimentId);
    const runs = (await store.searchRuns({ experimentIds: exps, maxResults: 100 })).items;
    return runs.find((r) => r.info.runName === name)!;
  };
  const params = (r: Run) => Object.fromEntries(r.data.params.map((p) => [p.key, p.value]));
  // How many of the kernel's loaded modules are TensorFlow.js files.
  const TF_LOADED = 'Object.keys(require.cache).filter((f) => f.includes("@tensorflow")).length';

  beforeAll(async () => {
    // Inside the repo, so the repo's @tensorflow/tfjs resolves from the notebook's directory.
    work = makeTempDir("hooks");
    store = new FileStore(path.join(work, "mlruns"), { onWarning: () => undefined });
    const experimentId = await store.createExperiment("hooks");
    const outer = await store.createRun({ experimentId, runName: "notebook-run", startTime: Date.now() });
    kernel = await startKernelIn(work, { MLFLOW_RUN_ID: outer.info.runId });
  }, 120_000);
  afterAll(async () => {
    await kernel?.close();
    rmTempDir(work);
  });

  it("does not load tfjs for cells that do not import it, though it is installed and a run is open", { timeout: 180_000 }, async () => {
    expect(await ok('require.resolve("@tensorflow/tfjs").includes("node_modules")')).toBe("true");
    expect(await ok("const two = 1 + 1; mlflow.activeRun() !== undefined")).toBe("true");
    await ok("%%mlflow_run no-tf\nconst three = two + 1;");
    expect(await ok(TF_LOADED)).toBe("0");
  });

  it("hooks tfjs when a cell imports it: a later run logs fit, also with autologging turned on after the import", {
    timeout: 300_000,
  }, async () => {
    await ok("%mlflow_autolog off --what metrics");
    await ok(
      [
        'import * as tf from "@tensorflow/tfjs";',
        "const xs = tf.tensor2d([[0], [1], [2], [3]]);",
        "const ys = tf.tensor2d([[1], [3], [5], [7]]);",
        "const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });",
        'model.compile({ optimizer: tf.train.sgd(0.02), loss: "meanSquaredError" });',
      ].join("\n"),
    );
    expect(Number(await ok(TF_LOADED))).toBeGreaterThan(0);
    await ok("%%mlflow_run fit-off\nawait model.fit(xs, ys, { epochs: 2, verbose: 0 });");
    await ok("%mlflow_autolog on");
    await ok("%%mlflow_run fit-on\nconst h = await model.fit(xs, ys, { epochs: 3, batchSize: 2, verbose: 0 });");

    const off = await run("fit-off");
    expect(params(off)).not.toHaveProperty("epochs");
    expect(await store.getMetricHistory(off.info.runId, "loss")).toEqual([]);
    const on = await run("fit-on");
    expect(on.info.status).toBe("FINISHED");
    expect(params(on)).toMatchObject({
      epochs: "3",
      batch_size: "2",
      optimizer_name: "SGD",
      learning_rate: "0.02",
      loss: "meanSquaredError",
    });
    expect((await store.getMetricHistory(on.info.runId, "loss")).map((m) => m.step)).toEqual([0, 1, 2]);
    expect((await store.listArtifacts(on.info.runId)).map((f) => f.path)).toContain("model_summary.txt");
  });
});
