// The TensorFlow.js hook against the real @tensorflow/tfjs: fit and fitDataset log params and
// per-epoch metrics into the active run, the user's own callbacks still run, and nothing is
// logged without a run or with metrics autologging off.

import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { ActiveRun } from "../../magics/active-run.js";
import { HookRegistry } from "../../magics/hooks/index.js";
import { REPO_ROOT } from "../support/paths.js";

const tf = createRequire(import.meta.url)("@tensorflow/tfjs");

function fakeRun() {
  const params = new Map<string, string>();
  const metrics: [string, number, number][] = [];
  const uploads: string[] = [];
  const run = {
    params, isEnded: false,
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
  const hooks = new HookRegistry({ activeRun: () => active, enabled: () => enabled, warn: (m) => warnings.push(m) });
  const model = () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    m.compile({ optimizer: tf.train.sgd(0.02), loss: "meanSquaredError" });
    return m;
  };
  const xs = tf.tensor2d([[0], [1], [2], [3]]);
  const ys = tf.tensor2d([[1], [3], [5], [7]]);

  it("installs only when the library resolves from the notebook's directory", async () => {
    await hooks.prepare(REPO_ROOT);
    expect(hooks.installed).toEqual(["tfjs"]);
    const elsewhere = new HookRegistry({ activeRun: () => undefined, enabled: () => true, warn: () => undefined });
    await elsewhere.prepare("/");
    expect(elsewhere.installed).toEqual([]);
  });

  it("logs fit params and per-epoch metrics, keeping the user's callbacks", async () => {
    const f = fakeRun();
    active = f.run;
    const seen: number[] = [];
    await model().fit(xs, ys, { epochs: 3, batchSize: 2, validationSplit: 0.25, verbose: 0, callbacks: { onEpochEnd: async (e: number) => void seen.push(e) } });
    expect(Object.fromEntries(f.params)).toEqual({ epochs: "3", batch_size: "2", validation_split: "0.25", optimizer_name: "SGD", learning_rate: "0.02", loss: "meanSquaredError" });
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
