// MLflow 3 in the file store: the tree MLflow 3.4's Python client wrote (runs without
// `run_uuid`, LoggedModels under `<exp>/models/`, run `inputs/` and `outputs/`, 5-field metric
// lines, registry meta with 3.x fields) reads and updates cleanly, and datasets logged as run
// inputs land in MLflow's own layout (the ids MLflow computes, once per dataset).

import { promises as fs } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { DatasetInput, Metric } from "../../tracking/entities.js";
import { MlflowError } from "../../tracking/errors.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { datasetId, inputId } from "../../tracking/file-store/inputs.js";
import { latestPoint, parseModelMetricFile } from "../../tracking/file-store/metrics.js";
import { copyFixture, loadExpected, sortedRun, tempDir, wireMetric, wireRun } from "./file-store-helpers.js";

let root: string;
let store: FileStore;
let expected: any;
let ids: Record<string, string>;
let warnings: MlflowError[];

beforeAll(async () => {
  root = await copyFixture("3.4");
  warnings = [];
  store = new FileStore(root, { onWarning: (e) => warnings.push(e) });
  expected = await loadExpected("3.4");
  ids = expected.ids;
});

const trainingSet: DatasetInput = {
  dataset: {
    // The texts MLflow's Python client wrote into the fixture (json.dumps spacing).
    name: "fs-data",
    digest: "d1g3st01",
    sourceType: "local",
    source: '{"uri": "file:///data/fs-data.csv"}',
    schema: '{"mlflow_colspec": []}',
    profile: '{"num_rows": 3}',
  },
  tags: [{ key: "mlflow.data.context", value: "training" }],
};

describe("a tree MLflow 3.4 wrote", () => {
  it("getRun gives the run's dataset inputs as MLflow read them (its LoggedModel inputs and outputs are not run data)", async () => {
    const want = wireRun(expected.get_run_model.result, store.uri);
    // MLflow 3.4 reads step 0 from 5-field lines; the line holds step 1, which we keep.
    want.data.metrics = want.data.metrics.map((m) => (m.key === "accuracy" ? { ...m, step: 1 } : m));
    const got = await store.getRun(ids.run_model!);
    expect(sortedRun(got)).toEqual(want);
    expect(got.inputs?.datasetInputs).toHaveLength(1);
    expect(got.data.metrics.find((m) => m.key === "accuracy")).toMatchObject({ datasetName: "fs-data", datasetDigest: "d1g3st01" });
  });

  it("5-field run metric lines keep step and dataset in the history", async () => {
    expect(await store.getMetricHistory(ids.run_model!, "accuracy")).toEqual([
      { key: "accuracy", value: 0.91, timestamp: 1700000005100, step: 0, datasetName: "fs-data", datasetDigest: "d1g3st01" },
      { key: "accuracy", value: 0.93, timestamp: 1700000005200, step: 1, datasetName: "fs-data", datasetDigest: "d1g3st01" },
    ]);
  });

  it("models/ (LoggedModels) and datasets/ are not runs: searches list exactly MLflow's runs, no warnings", async () => {
    const page = await store.searchRuns({ experimentIds: [ids.exp!], runViewType: "ALL" });
    expect(page.items.map((r) => r.info.runId).sort()).toEqual(expected.search_runs.result.ALL.map((r: any) => r.info.run_id).sort());
    for (const name of ["models", "datasets", ids.logged_model!])
      await expect(store.getRun(name)).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
    expect((await store.searchExperiments({ viewType: "ALL" })).items.map((e) => e.experimentId).sort()).toEqual(
      expected.search_experiments.result.ALL.map((e: any) => e.experiment_id).sort(),
    );
    expect(warnings).toEqual([]);
  });

  it("LoggedModel metric lines (4 and 6 fields) parse to what get_logged_model reports", async () => {
    const dir = join(root, ids.exp!, "models", ids.logged_model!, "metrics");
    const latest: (Metric & { runId: string })[] = [];
    for (const key of (await fs.readdir(dir)).sort()) {
      const points = parseModelMetricFile(await fs.readFile(join(dir, key), "utf8"), key, join(dir, key), ids.logged_model!);
      const best = latestPoint(points.map((p) => p.metric))!;
      latest.push({ ...best, runId: points.find((p) => p.metric === best)!.runId });
    }
    const want = expected.get_logged_model.result.data.metrics.map((m: any) => ({
      ...wireMetric(m),
      modelId: m.model_id,
      runId: m.run_id,
    }));
    expect(latest).toEqual(want.sort((a: Metric, b: Metric) => a.key.localeCompare(b.key)));
  });

  it("writing to a run without run_uuid adds it (so MLflow 2.x reads the run) and keeps the rest", async () => {
    const file = join(root, ids.exp!, ids.run_model!, "meta.yaml");
    expect(await fs.readFile(file, "utf8")).not.toContain("run_uuid");
    await store.updateRun(ids.run_model!, { runName: "renamed" });
    const meta = await fs.readFile(file, "utf8");
    expect(meta).toContain(`run_uuid: ${ids.run_model}`);
    expect(meta).toContain(`run_id: ${ids.run_model}`);
    expect((await store.getRun(ids.run_model!)).inputs?.datasetInputs).toHaveLength(1);
  });

  it("registry meta with MLflow 3 fields (deployment_job_id, model_id, ...) reads, and a write keeps those fields", async () => {
    const v3 = await store.getModelVersion("fs-model", "3");
    expect(v3).toMatchObject({ version: "3", source: `models:/${ids.logged_model}`, runId: ids.run_model, aliases: ["prod"] });
    await store.setRegisteredModelTag("fs-model", { key: "k", value: "v" });
    await store.setRegisteredModelAlias("fs-model", "best", "3");
    const modelMeta = await fs.readFile(join(root, "models", "fs-model", "meta.yaml"), "utf8");
    expect(modelMeta).toContain("deployment_job_id: null");
    expect((await store.getModelVersionByAlias("fs-model", "best")).version).toBe("3");
  });

  it("datasets logged by MLflow and by us share MLflow's ids: the same dataset is one directory", async () => {
    const dsId = datasetId(trainingSet.dataset);
    const inputsDir = join(root, ids.exp!, ids.run_model!, "inputs");
    expect(await fs.readdir(join(root, ids.exp!, "datasets"))).toEqual([dsId]);
    expect(await fs.readdir(inputsDir)).toContain(inputId(dsId, ids.run_model!));
    const before = (await fs.readdir(inputsDir)).sort();
    await store.logInputs(ids.run_model!, [trainingSet]);
    expect((await fs.readdir(inputsDir)).sort()).toEqual(before);
    await store.logInputs(ids.run_finished!, [trainingSet]);
    expect(await fs.readdir(join(root, ids.exp!, "datasets"))).toEqual([dsId]);
    expect((await store.getRun(ids.run_finished!)).inputs).toEqual({ datasetInputs: [trainingSet] });
  });
});

describe("logInputs", () => {
  const setUp = async () => {
    const dir = join(await tempDir("fs-inputs-"), "mlruns");
    const s = new FileStore(dir);
    const expId = await s.createExperiment("inputs");
    const run = await s.createRun({ experimentId: expId });
    return { dir, s, expId, runId: run.info.runId };
  };
  const evalSet: DatasetInput = {
    dataset: { name: "holdout set", digest: "abc12345", sourceType: "code", source: "{}" },
    tags: [{ key: "mlflow.data.context", value: "eval" }],
  };

  it("writes MLflow's layout: one dataset meta per experiment, one input meta per run, nothing staged left behind", async () => {
    const { dir, s, expId, runId } = await setUp();
    await s.logInputs(runId, [trainingSet, evalSet]);
    await s.logInputs(runId, [trainingSet]);
    const dsId = datasetId(evalSet.dataset);
    expect(await fs.readFile(join(dir, expId, "datasets", dsId, "meta.yaml"), "utf8")).toBe(
      "digest: abc12345\nname: holdout set\nprofile: null\nschema: null\nsource: '{}'\nsource_type: code\n",
    );
    expect(await fs.readFile(join(dir, expId, runId, "inputs", inputId(dsId, runId), "meta.yaml"), "utf8")).toBe(
      `destination_id: ${runId}\ndestination_type: RUN\nsource_id: ${dsId}\nsource_type: DATASET\ntags:\n  mlflow.data.context: eval\n`,
    );
    expect((await fs.readdir(join(dir, expId, "datasets"))).length).toBe(2);
    expect((await fs.readdir(join(dir, expId, runId, "inputs"))).length).toBe(2);
    expect((await fs.readdir(join(dir, expId, runId))).sort()).toEqual(["artifacts", "inputs", "meta.yaml", "metrics", "params", "tags"]);
    const run = await s.getRun(runId);
    expect(run.inputs!.datasetInputs.map((d) => d.dataset.name).sort()).toEqual(["fs-data", "holdout set"]);
    const found = await s.searchRuns({ experimentIds: [expId] });
    expect(found.items[0]!.inputs).toEqual(run.inputs);
  });

  it("a run without inputs has no `inputs`", async () => {
    const { s, runId } = await setUp();
    expect((await s.getRun(runId)).inputs).toBeUndefined();
  });

  it("many stores logging the same dataset at once store it once", async () => {
    const { dir, expId, runId } = await setUp();
    await Promise.all(Array.from({ length: 8 }, () => new FileStore(dir).logInputs(runId, [trainingSet])));
    expect(await fs.readdir(join(dir, expId, "datasets"))).toEqual([datasetId(trainingSet.dataset)]);
    expect(await fs.readdir(join(dir, expId, runId, "inputs"))).toHaveLength(1);
  });

  it("bad input is refused, naming the value, and writes nothing", async () => {
    const { dir, s, expId, runId } = await setUp();
    const bad = async (datasets: unknown, message: RegExp) => {
      const err = await s.logInputs(runId, datasets as DatasetInput[]).catch((e) => e);
      expect(err).toBeInstanceOf(MlflowError);
      expect(err.code).toBe("INVALID_PARAMETER_VALUE");
      expect(err.message).toMatch(message);
    };
    await bad("fs-data", /array of dataset inputs.*"fs-data"/);
    await bad([{ dataset: { ...trainingSet.dataset, name: "" }, tags: [] }], /name must be a non-empty string; got ""/);
    await bad([{ dataset: { ...trainingSet.dataset, digest: 7 }, tags: [] }], /'fs-data': digest must be a string; got 7/);
    await bad([{ dataset: { ...trainingSet.dataset, schema: { a: 1 } }, tags: [] }], /schema must be JSON text/);
    await bad([trainingSet, { dataset: evalSet.dataset, tags: [{ key: "", value: "x" }] }], /tag/i);
    await expect(fs.readdir(join(dir, expId, "datasets"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a deleted run takes no inputs; an unknown run is not found", async () => {
    const { s, runId } = await setUp();
    await s.deleteRun(runId);
    await expect(s.logInputs(runId, [trainingSet])).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("'active' state"),
    });
    await expect(s.logInputs("0123456789abcdef0123456789abcdef", [trainingSet])).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("metrics with dataset fields are written as 3-field lines, the form MLflow 2.x and 3.x both read with their step", async () => {
    const { dir, s, expId, runId } = await setUp();
    await s.logBatch(runId, {
      metrics: [{ key: "acc", value: 0.5, timestamp: 1, step: 4, datasetName: "fs-data", datasetDigest: "d1g3st01", modelId: "m-1" }],
    });
    expect(await fs.readFile(join(dir, expId, runId, "metrics", "acc"), "utf8")).toBe("1 0.5 4\n");
  });
});
