// The example notebooks executed by Debian's `jupyter nbconvert --execute` through our installed
// kernelspec, each into a fresh file store, then the store checked: run count, statuses,
// params, metric histories and artifacts.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Run } from "../../tracking/entities.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { TAG } from "../../magics/system-tags.js";
import { installedKernelSandbox, KERNEL_NAME, type JupyterSandbox } from "../support/jupyter.js";
import { nbconvertExecute } from "../support/notebook-runs.js";
import { makeTempDir, REPO_ROOT, rmTempDir } from "../support/paths.js";

interface Output {
  output_type: string;
  name?: string;
  ename?: string;
  evalue?: string;
  data?: Record<string, unknown>;
  text?: string | string[];
}
interface Notebook {
  cells: { cell_type: string; outputs?: Output[]; metadata?: { tags?: string[] } }[];
}

let sandbox: JupyterSandbox;
let work: string;

async function execute(name: string): Promise<{ nb: Notebook; store: FileStore; runs: (experiment: string) => Promise<Run[]> }> {
  const dir = fs.mkdtempSync(path.join(work, `${path.basename(name, ".ipynb")}-`));
  fs.copyFileSync(path.join(REPO_ROOT, "notebooks", name), path.join(dir, name));
  const mlruns = path.join(dir, "mlruns");
  const r = await nbconvertExecute<Notebook>(path.join(dir, name), KERNEL_NAME, {
    output: "executed.ipynb",
    cellTimeout: 240,
    env: { ...sandbox.env, MLFLOW_TRACKING_URI: `file://${mlruns}`, TSLAB_MLFLOW_SPOOL_DIR: path.join(dir, "spool") },
  });
  expect(r.status, r.stderr).toBe(0);
  const nb = r.nb!;
  const store = new FileStore(mlruns, { onWarning: () => undefined });
  const runs = async (experiment: string) => {
    const exp = await store.getExperimentByName(experiment);
    expect(exp, `experiment ${experiment}`).toBeDefined();
    return (await store.searchRuns({ experimentIds: [exp!.experimentId], maxResults: 100, orderBy: ["attributes.start_time ASC"] })).items;
  };
  return { nb, store, runs };
}

const errorsOf = (nb: Notebook) =>
  nb.cells.flatMap((c, i) =>
    (c.outputs ?? []).filter((o) => o.output_type === "error").map((o) => ({ i, tags: c.metadata?.tags ?? [], o })),
  );
const params = (r: Run) => Object.fromEntries(r.data.params.map((p) => [p.key, p.value]));
async function nonEmptyArtifacts(store: FileStore, runId: string, sub?: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await store.listArtifacts(runId, sub)) {
    if (f.isDir) out.push(...(await nonEmptyArtifacts(store, runId, f.path)));
    else if ((await store.downloadArtifact(runId, f.path)).length > 0) out.push(f.path);
  }
  return out.sort();
}

beforeAll(async () => {
  sandbox = await installedKernelSandbox();
  work = makeTempDir("magics-notebooks");
}, 120_000);
afterAll(() => {
  sandbox?.cleanup();
  rmTempDir(work);
});

describe("example notebooks under nbconvert --execute", () => {
  it("quickstart: one FINISHED run per learning rate with per-epoch metrics, then inline comparisons", { timeout: 320_000 }, async () => {
    const { nb, store, runs } = await execute("quickstart.ipynb");
    expect(errorsOf(nb)).toEqual([]);
    const sweep = await runs("quickstart");
    expect(sweep.map((r) => [r.info.runName, r.info.status])).toEqual([
      ["lr-0.01", "FINISHED"],
      ["lr-0.1", "FINISHED"],
      ["lr-1", "FINISHED"],
    ]);
    for (const r of sweep) {
      expect(params(r)).toEqual({ lr: r.info.runName.slice(3), epochs: "40", seed: "7" });
      expect(r.data.tags.find((t) => t.key === "sweep")?.value).toBe("learning-rate");
      expect(r.data.tags.find((t) => t.key === TAG.sourceType)?.value).toBe("NOTEBOOK");
      for (const key of ["loss", "accuracy", "test_loss", "test_accuracy"]) {
        const history = await store.getMetricHistory(r.info.runId, key);
        expect(history.map((m) => m.step)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      }
      expect(await nonEmptyArtifacts(store, r.info.runId)).toEqual(["notebook.ipynb", "source.ts"]);
    }
    // Learning faster reaches a lower loss in 40 epochs.
    const finalLoss = sweep.map((r) => r.data.metrics.find((m) => m.key === "test_loss")!.value);
    expect(finalLoss[0]).toBeGreaterThan(finalLoss[2]!);
    const charts = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.["application/vnd.vegalite.v5+json"]);
    expect(charts).toHaveLength(2);
    for (const c of charts) expect(String(c.data!["image/svg+xml"])).toMatch(/^<svg/);
  });

  it("failure-and-interrupt: FAILED, FINISHED and KILLED runs; the kernel goes on", { timeout: 320_000 }, async () => {
    const { nb, store, runs } = await execute("failure-and-interrupt.ipynb");
    const errs = errorsOf(nb);
    expect(errs.map((e) => e.tags)).toEqual([["raises-exception"], ["raises-exception"]]);
    expect(errs[0]!.o.evalue).toMatch(/diverged at step 4: loss 100000/);
    const all = await runs("failure-demo");
    expect(all.map((r) => [r.info.runName, r.info.status])).toEqual([
      ["diverging", "FAILED"],
      ["converging", "FINISHED"],
      ["interrupted", "KILLED"],
    ]);
    const [failed, ok, killed] = all as [Run, Run, Run];
    expect((await store.getMetricHistory(failed.info.runId, "loss")).map((m) => m.value)).toEqual([10, 100, 1000, 10000, 100000]);
    expect(await nonEmptyArtifacts(store, failed.info.runId)).toContain("error.txt");
    expect(await store.getMetricHistory(ok.info.runId, "loss")).toHaveLength(5);
    expect(killed.data.metrics.map((m) => [m.key, m.value])).toEqual([["progress", 0.5]]);
    for (const r of all) expect(r.info.endTime).toBeGreaterThan(0);
  });

  it("tfjs-autolog: model.fit logs params and per-epoch metrics by itself", { timeout: 320_000 }, async () => {
    const { nb, store, runs } = await execute("tfjs-autolog.ipynb");
    expect(errorsOf(nb)).toEqual([]);
    const all = await runs("tfjs-autolog");
    expect(all.map((r) => [r.info.runName, r.info.status])).toEqual([
      ["sgd-0.05", "FINISHED"],
      ["adam-0.1", "FINISHED"],
    ]);
    for (const r of all) {
      const p = params(r);
      expect(p).toMatchObject({ epochs: "15", batch_size: "32", validation_split: "0.2", loss: "meanSquaredError" });
      expect(p.learning_rate).toBe(r.info.runName.split("-")[1]);
      expect(p.optimizer_name.toLowerCase()).toContain(r.info.runName.split("-")[0]);
      for (const key of ["loss", "val_loss"]) {
        expect((await store.getMetricHistory(r.info.runId, key)).map((m) => m.step)).toEqual(Array.from({ length: 15 }, (_, i) => i));
      }
      expect(await nonEmptyArtifacts(store, r.info.runId)).toEqual(
        expect.arrayContaining(["model_summary.txt", "source.ts", "notebook.ipynb"]),
      );
    }
  });
});
