// Our `./mlruns` file store and MLflow's own Python clients, both ways:
//  - a tree our FileStore writes (experiment, runs with params, metrics with NaN/±inf and many
//    steps, tags, a nested run, dataset inputs, artifacts, a registered model with versions and
//    an alias) is read back by MLflow 2.22's and 3.4's Python clients, which must report what we wrote;
//  - a tree MLflow 3.4's Python client writes (no run_uuid, LoggedModels, 5-field metric lines,
//    dataset inputs, model versions with model_id) is read by our store, which must report what
//    that client itself reads from it.
// Both sides are put into one JSON shape (`dump` in Python, `ours` here) and compared whole.

import { promises as fs } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { DatasetInput, Run } from "../../tracking/entities.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { mlflowPython, pythonClientAvailable } from "../support/mlflow-servers.js";
import { tempDir } from "../tracking/file-store-helpers.js";

const VERSIONS = ["2.22", "3.4"] as const;
const availability = new Map<string, boolean>();
const clientAvailable = (v: string) => availability.get(v) ?? availability.set(v, pythonClientAvailable(v)).get(v)!;

/** Reads a tree the way a user would with MLflow's client, into plain JSON (NaN/±inf as strings). */
const DUMP = String.raw`
import json, math, os, tempfile
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient()
EXP, MODEL = os.environ["EXP_NAME"], os.environ["MODEL_NAME"]

def num(v):
    if isinstance(v, float) and math.isnan(v): return "NaN"
    if isinstance(v, float) and math.isinf(v): return "Infinity" if v > 0 else "-Infinity"
    return v

def metric(m):
    out = {"key": m.key, "value": num(m.value), "timestamp": m.timestamp, "step": m.step}
    if getattr(m, "dataset_name", None): out["dataset_name"] = m.dataset_name
    if getattr(m, "dataset_digest", None): out["dataset_digest"] = m.dataset_digest
    return out

def run(r):
    i = r.info
    inputs = r.inputs.dataset_inputs if r.inputs else []
    return {
        "run_id": i.run_id, "run_name": i.run_name, "experiment_id": i.experiment_id, "user_id": i.user_id,
        "status": i.status, "start_time": i.start_time, "end_time": i.end_time,
        "lifecycle_stage": i.lifecycle_stage, "artifact_uri": i.artifact_uri,
        "params": r.data.params, "tags": r.data.tags,
        "metrics": sorted((metric(m) for m in r.data._metric_objs), key=lambda m: m["key"]),
        "inputs": sorted(({"name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
                           "source": d.dataset.source, "schema": d.dataset.schema, "profile": d.dataset.profile,
                           "tags": {t.key: t.value for t in d.tags}} for d in inputs), key=lambda d: d["name"]),
    }

def artifacts(run_id, path=None):
    out = []
    for f in c.list_artifacts(run_id, path):
        out.append({"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size})
        if f.is_dir: out.extend(artifacts(run_id, f.path))
    return out

def version(v):
    return {"name": v.name, "version": str(v.version), "source": v.source, "run_id": v.run_id or None,
            "status": v.status, "current_stage": v.current_stage, "description": v.description or None,
            "tags": v.tags, "aliases": sorted(v.aliases)}

exp = c.get_experiment_by_name(EXP)
runs = c.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, order_by=["attributes.start_time ASC"])
active = c.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
out = {
    "experiment": {"experiment_id": exp.experiment_id, "name": exp.name, "artifact_location": exp.artifact_location,
                   "lifecycle_stage": exp.lifecycle_stage, "tags": exp.tags},
    "search_runs": [run(r) for r in runs],
    "search_runs_active": [r.info.run_id for r in active],
    "get_run": {r.info.run_id: run(c.get_run(r.info.run_id)) for r in runs},
    "history": {r.info.run_id: {k: [metric(m) for m in c.get_metric_history(r.info.run_id, k)] for k in sorted(r.data.metrics)} for r in runs},
    "artifacts": {r.info.run_id: sorted(artifacts(r.info.run_id), key=lambda f: f["path"]) for r in runs},
}
text = {}
for r in runs:
    for f in out["artifacts"][r.info.run_id]:
        if f["path"].endswith(".txt"):
            with open(c.download_artifacts(r.info.run_id, f["path"], tempfile.mkdtemp())) as fh: text[r.info.run_id + "/" + f["path"]] = fh.read()
out["artifact_text"] = text
models = c.search_registered_models(filter_string="name='%s'" % MODEL)
out["registered_models"] = [{"name": m.name, "description": m.description or None, "tags": m.tags, "aliases": m.aliases,
                             "latest_versions": sorted((version(v) for v in m.latest_versions), key=lambda v: v["version"])} for m in models]
out["versions"] = sorted((version(v) for v in c.search_model_versions("name='%s'" % MODEL)), key=lambda v: v["version"])
out["by_alias"] = version(c.get_model_version_by_alias(MODEL, "champion"))
# A script that wrote the tree first hands back its ids too (one Python start instead of two).
if "WRITTEN" in globals(): out["written"] = WRITTEN
print(json.dumps(out))
`;

/** Our store's reading of a tree, in DUMP's shape. */
async function ours(store: FileStore, expName: string, modelName: string): Promise<any> {
  const exp = (await store.getExperimentByName(expName))!;
  const runs = (await store.searchRuns({ experimentIds: [exp.experimentId], runViewType: "ALL", orderBy: ["attributes.start_time ASC"] }))
    .items;
  const active = (await store.searchRuns({ experimentIds: [exp.experimentId], orderBy: ["attributes.start_time ASC"] })).items;
  const num = (v: number) => (Number.isNaN(v) ? "NaN" : v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : v);
  const metric = (m: Run["data"]["metrics"][number]) => {
    const out: any = { key: m.key, value: num(m.value), timestamp: m.timestamp, step: m.step };
    if (m.datasetName) out.dataset_name = m.datasetName;
    if (m.datasetDigest) out.dataset_digest = m.datasetDigest;
    return out;
  };
  const dict = (xs: { key: string; value: string }[]) => Object.fromEntries(xs.map((t) => [t.key, t.value]));
  const run = (r: Run) => ({
    run_id: r.info.runId,
    run_name: r.info.runName,
    experiment_id: r.info.experimentId,
    user_id: r.info.userId,
    status: r.info.status,
    start_time: r.info.startTime,
    end_time: r.info.endTime ?? null,
    lifecycle_stage: r.info.lifecycleStage,
    artifact_uri: r.info.artifactUri,
    params: dict(r.data.params),
    tags: dict(r.data.tags),
    metrics: r.data.metrics.map(metric).sort((a, b) => a.key.localeCompare(b.key)),
    inputs: (r.inputs?.datasetInputs ?? [])
      .map((d) => ({
        name: d.dataset.name,
        digest: d.dataset.digest,
        source_type: d.dataset.sourceType,
        source: d.dataset.source,
        schema: d.dataset.schema ?? null,
        profile: d.dataset.profile ?? null,
        tags: dict(d.tags),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  });
  const walk = async (runId: string, path?: string): Promise<any[]> => {
    const out: any[] = [];
    for (const f of await store.listArtifacts(runId, path)) {
      out.push({ path: f.path, is_dir: f.isDir, file_size: f.isDir ? null : f.fileSize });
      if (f.isDir) out.push(...(await walk(runId, f.path)));
    }
    return out;
  };
  const version = (v: any) => ({
    name: v.name,
    version: v.version,
    source: v.source,
    run_id: v.runId ?? null,
    status: v.status,
    current_stage: v.currentStage,
    description: v.description ?? null,
    tags: dict(v.tags),
    aliases: [...v.aliases].sort(),
  });
  const out: any = {
    experiment: {
      experiment_id: exp.experimentId,
      name: exp.name,
      artifact_location: exp.artifactLocation,
      lifecycle_stage: exp.lifecycleStage,
      tags: dict(exp.tags),
    },
    search_runs: runs.map(run),
    search_runs_active: active.map((r) => r.info.runId),
    get_run: {},
    history: {},
    artifacts: {},
    artifact_text: {},
  };
  for (const r of runs) {
    const id = r.info.runId;
    out.get_run[id] = run(await store.getRun(id));
    out.history[id] = {};
    for (const key of r.data.metrics.map((m) => m.key).sort()) out.history[id][key] = (await store.getMetricHistory(id, key)).map(metric);
    out.artifacts[id] = (await walk(id)).sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const f of out.artifacts[id])
      if (f.path.endsWith(".txt"))
        out.artifact_text[`${id}/${f.path}`] = new TextDecoder().decode(await store.downloadArtifact(id, f.path));
  }
  const models = (await store.searchRegisteredModels({ filter: `name='${modelName}'` })).items;
  out.registered_models = models.map((m) => ({
    name: m.name,
    description: m.description ?? null,
    tags: dict(m.tags),
    aliases: Object.fromEntries(m.aliases.map((a) => [a.alias, a.version])),
    latest_versions: m.latestVersions.map(version).sort((a, b) => a.version.localeCompare(b.version)),
  }));
  out.versions = (await store.searchModelVersions({ filter: `name='${modelName}'` })).items
    .map(version)
    .sort((a, b) => a.version.localeCompare(b.version));
  out.by_alias = version(await store.getModelVersionByAlias(modelName, "champion"));
  return out;
}

// ---- the tree we write ---------------------------------------------------------------------

const T0 = 1_700_000_000_000;
const training: DatasetInput = {
  dataset: {
    name: "train-rows",
    digest: "5e1f0c2a",
    sourceType: "local",
    source: '{"uri": "file:///data/train.csv"}',
    schema: '{"mlflow_colspec": [{"type": "double", "name": "x", "required": true}]}',
    profile: '{"num_rows": 100, "num_elements": 100}',
  },
  tags: [{ key: "mlflow.data.context", value: "training" }],
};
const evaluation: DatasetInput = {
  dataset: { name: "eval-rows", digest: "77aa0b01", sourceType: "code", source: "{}" },
  tags: [{ key: "mlflow.data.context", value: "eval" }],
};
const STEPS = 300;

interface Written {
  dir: string;
  uri: string;
  expName: string;
  modelName: string;
  parent: string;
  child: string;
  deleted: string;
}

async function writeOurTree(): Promise<Written> {
  const dir = join(await tempDir("fs-python-"), "mlruns");
  const store = new FileStore(dir);
  const suffix = Math.random().toString(36).slice(2, 8);
  const expName = `fs-python-${suffix}`,
    modelName = `fs-python-model-${suffix}`;
  const expId = await store.createExperiment(expName, [{ key: "team", value: "ts" }]);

  const parent = (
    await store.createRun({
      experimentId: expId,
      runName: "parent",
      startTime: T0,
      userId: "alice",
      tags: [
        { key: "mlflow.source.type", value: "NOTEBOOK" },
        { key: "owner", value: "alice" },
      ],
    })
  ).info.runId;
  const loss = Array.from({ length: STEPS }, (_, step) => ({ key: "train/loss", value: 1 / (step + 1), timestamp: T0 + step, step }));
  for (let i = 0; i < loss.length; i += 1000) await store.logBatch(parent, { metrics: loss.slice(i, i + 1000) });
  await store.logBatch(parent, {
    params: [
      { key: "lr", value: "0.01" },
      { key: "optimizer", value: "adam" },
    ],
    metrics: [
      { key: "nan_metric", value: NaN, timestamp: T0 + 1, step: 0 },
      { key: "inf_metric", value: Infinity, timestamp: T0 + 1, step: 0 },
      { key: "neg_inf_metric", value: -Infinity, timestamp: T0 + 1, step: 0 },
      // Dataset fields are written as a plain line (see metrics.ts): both clients read the step.
      { key: "accuracy", value: 0.5, timestamp: T0 + 2, step: 1, datasetName: "eval-rows", datasetDigest: "77aa0b01" },
      { key: "accuracy", value: 0.75, timestamp: T0 + 3, step: 2, datasetName: "eval-rows", datasetDigest: "77aa0b01" },
    ],
    tags: [{ key: "mlflow.note.content", value: "written by tslab-mlflow's file store" }],
  });
  await store.logInputs(parent, [training, evaluation]);
  await store.logInputs(parent, [training]); // the same dataset again: stored once
  await store.logArtifact(parent, "notes.txt", "hello from the file store\n");
  await store.logArtifact(parent, "model/MLmodel", "flavors: {}\n");
  await store.logArtifact(parent, "plots/deeper/data.bin", new Uint8Array([0, 1, 2, 3, 255]));
  await store.updateRun(parent, { status: "FINISHED", endTime: T0 + 10_000 });

  const child = (
    await store.createRun({
      experimentId: expId,
      runName: "child",
      startTime: T0 + 100,
      tags: [{ key: "mlflow.parentRunId", value: parent }],
    })
  ).info.runId;
  await store.logBatch(child, {
    params: [{ key: "fold", value: "1" }],
    metrics: [{ key: "acc", value: 0.88, timestamp: T0 + 101, step: 0 }],
  });
  await store.logInputs(child, [training]);
  await store.updateRun(child, { status: "FAILED", endTime: T0 + 200 });

  const deleted = (await store.createRun({ experimentId: expId, runName: "gone", startTime: T0 + 300 })).info.runId;
  await store.deleteRun(deleted);

  await store.createRegisteredModel(modelName, { description: "a model", tags: [{ key: "domain", value: "vision" }] });
  await store.createModelVersion({ name: modelName, source: `runs:/${parent}/model`, runId: parent, description: "first" });
  await store.createModelVersion({
    name: modelName,
    source: `runs:/${child}/model`,
    runId: child,
    tags: [{ key: "quality", value: "good" }],
  });
  await store.setRegisteredModelAlias(modelName, "champion", "2");
  return { dir, uri: store.uri, expName, modelName, parent, child, deleted };
}

let written: Promise<Written> | undefined;
const ourTree = () => (written ??= writeOurTree());

for (const version of VERSIONS) {
  const available = clientAvailable(version);
  describe(`our file store read by MLflow ${version}'s Python client`, () => {
    if (!available) {
      it.skip(`skipped: MLflow ${version}'s Python client cannot run here (../shared/mlflow-server/python.sh ${version} -c 'import mlflow' failed)`, () =>
        undefined);
      return;
    }
    let tree: Written;
    let theirs: any;
    beforeAll(async () => {
      tree = await ourTree();
      theirs = await mlflowPython(version, tree.uri, DUMP, { EXP_NAME: tree.expName, MODEL_NAME: tree.modelName });
    }, 180_000);

    it("reads exactly what our store reads: runs, metrics, history, inputs, artifacts, registry", async () => {
      expect(theirs).toEqual(await ours(new FileStore(tree.dir), tree.expName, tree.modelName));
    });

    it("reports what we wrote", () => {
      expect(theirs.experiment).toMatchObject({ name: tree.expName, tags: { team: "ts" }, lifecycle_stage: "active" });
      expect(theirs.search_runs.map((r: any) => r.run_id)).toEqual([tree.parent, tree.child, tree.deleted]);
      expect(theirs.search_runs_active).toEqual([tree.parent, tree.child]);
      const parent = theirs.get_run[tree.parent];
      expect(parent).toMatchObject({
        run_name: "parent",
        user_id: "alice",
        status: "FINISHED",
        start_time: T0,
        end_time: T0 + 10_000,
        params: { lr: "0.01", optimizer: "adam" },
        tags: { owner: "alice", "mlflow.runName": "parent", "mlflow.source.type": "NOTEBOOK" },
      });
      expect(parent.metrics).toEqual([
        { key: "accuracy", value: 0.75, timestamp: T0 + 3, step: 2 },
        { key: "inf_metric", value: "Infinity", timestamp: T0 + 1, step: 0 },
        { key: "nan_metric", value: "NaN", timestamp: T0 + 1, step: 0 },
        { key: "neg_inf_metric", value: "-Infinity", timestamp: T0 + 1, step: 0 },
        { key: "train/loss", value: 1 / STEPS, timestamp: T0 + STEPS - 1, step: STEPS - 1 },
      ]);
      const asRead = (d: DatasetInput) => ({
        name: d.dataset.name,
        digest: d.dataset.digest,
        source_type: d.dataset.sourceType,
        source: d.dataset.source,
        schema: d.dataset.schema ?? null,
        profile: d.dataset.profile ?? null,
        tags: { "mlflow.data.context": d.tags[0]!.value },
      });
      expect(parent.inputs).toEqual([asRead(evaluation), asRead(training)]);
      expect(theirs.search_runs[0].inputs).toEqual(parent.inputs);
      expect(theirs.get_run[tree.child]).toMatchObject({
        status: "FAILED",
        tags: { "mlflow.parentRunId": tree.parent },
        inputs: [asRead(training)],
      });
      expect(theirs.get_run[tree.deleted].lifecycle_stage).toBe("deleted");
    });

    it("metric history: every step in order, NaN and ±inf kept", () => {
      const hist = theirs.history[tree.parent];
      expect(hist["train/loss"]).toHaveLength(STEPS);
      expect(hist["train/loss"].map((m: any) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i));
      expect(hist["train/loss"][STEPS - 1].value).toBe(1 / STEPS);
      expect(hist.nan_metric).toEqual([{ key: "nan_metric", value: "NaN", timestamp: T0 + 1, step: 0 }]);
      expect(hist.accuracy.map((m: any) => [m.step, m.value])).toEqual([
        [1, 0.5],
        [2, 0.75],
      ]);
    });

    it("artifacts and the registry", () => {
      expect(theirs.artifacts[tree.parent]).toEqual([
        { path: "model", is_dir: true, file_size: null },
        { path: "model/MLmodel", is_dir: false, file_size: 12 },
        { path: "notes.txt", is_dir: false, file_size: 26 },
        { path: "plots", is_dir: true, file_size: null },
        { path: "plots/deeper", is_dir: true, file_size: null },
        { path: "plots/deeper/data.bin", is_dir: false, file_size: 5 },
      ]);
      expect(theirs.artifact_text[`${tree.parent}/notes.txt`]).toBe("hello from the file store\n");
      expect(theirs.registered_models).toEqual([
        expect.objectContaining({
          name: tree.modelName,
          description: "a model",
          tags: { domain: "vision" },
          aliases: { champion: "2" },
        }),
      ]);
      expect(theirs.versions.map((v: any) => [v.version, v.run_id, v.source, v.aliases])).toEqual([
        ["1", tree.parent, `runs:/${tree.parent}/model`, []],
        ["2", tree.child, `runs:/${tree.child}/model`, ["champion"]],
      ]);
      expect(theirs.by_alias).toMatchObject({ version: "2", tags: { quality: "good" }, aliases: ["champion"] });
    });
  });
}

// ---- a tree MLflow 3.4's Python client writes -------------------------------------------------

const WRITE_34 = String.raw`
import json, os
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelInput, LoggedModelOutput, LoggedModelStatus
c = MlflowClient()
EXP, MODEL = os.environ["EXP_NAME"], os.environ["MODEL_NAME"]
T0 = 1700000000000
exp_id = c.create_experiment(EXP, tags={"team": "py"})
parent = c.create_run(exp_id, run_name="py-parent", start_time=T0).info.run_id
for step in range(50):
    c.log_metric(parent, "loss", 1.0 / (step + 1), timestamp=T0 + step, step=step)
c.log_metric(parent, "nan_metric", float("nan"), timestamp=T0 + 1)
c.log_metric(parent, "inf_metric", float("inf"), timestamp=T0 + 1)
c.log_param(parent, "lr", "0.1")
c.set_tag(parent, "owner", "bob")
ds = Dataset(name="py-data", digest="0badc0de", source_type="local", source='{"uri": "file:///data/py.csv"}',
             schema='{"mlflow_colspec": []}', profile='{"num_rows": 7}')
c.log_inputs(parent, datasets=[DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
model = c.create_logged_model(exp_id, name="py-lm", source_run_id=parent, params={"alpha": "1"})
c.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
c.log_metric(parent, "accuracy", 0.8, timestamp=T0 + 60, step=3, dataset_name="py-data", dataset_digest="0badc0de", model_id=model.model_id)
c.log_outputs(parent, [LoggedModelOutput(model.model_id, step=3)])
c.log_artifact(parent, __import__("tempfile").NamedTemporaryFile("w", suffix=".txt", delete=False).name)
child = c.create_run(exp_id, run_name="py-child", start_time=T0 + 100, tags={"mlflow.parentRunId": parent}).info.run_id
c.log_inputs(child, models=[LoggedModelInput(model.model_id)])
c.log_metric(child, "acc", 0.5, timestamp=T0 + 101)
c.set_terminated(child, "FAILED", end_time=T0 + 200)
c.set_terminated(parent, "FINISHED", end_time=T0 + 300)
gone = c.create_run(exp_id, run_name="py-gone", start_time=T0 + 400).info.run_id
c.delete_run(gone)
c.create_registered_model(MODEL, tags={"domain": "text"}, description="py model")
c.create_model_version(MODEL, "runs:/%s/model" % parent, run_id=parent, description="v1")
c.create_model_version(MODEL, "models:/%s" % model.model_id, model_id=model.model_id)
c.set_registered_model_alias(MODEL, "champion", "2")
WRITTEN = {"parent": parent, "child": child, "gone": gone, "model_id": model.model_id}
`;

describe("a tree MLflow 3.4's Python client wrote, read by our store", () => {
  if (!clientAvailable("3.4")) {
    it.skip("skipped: MLflow 3.4's Python client cannot run here (../shared/mlflow-server/python.sh 3.4 -c 'import mlflow' failed)", () =>
      undefined);
    return;
  }
  it("equals what MLflow 3.4 itself reads from it (steps of 5-field lines aside)", async () => {
    const dir = join(await tempDir("fs-python34-"), "mlruns");
    const uri = new FileStore(dir).uri;
    const suffix = Math.random().toString(36).slice(2, 8);
    const env = { EXP_NAME: `py-exp-${suffix}`, MODEL_NAME: `py-model-${suffix}` };
    const theirs = await mlflowPython("3.4", uri, WRITE_34 + DUMP, env);
    const ids = theirs.written;
    delete theirs.written;
    // Check the writer did write MLflow 3's forms, so this test keeps testing them.
    const expDir = join(dir, (await new FileStore(dir).getExperimentByName(env.EXP_NAME))!.experimentId);
    expect(await fs.readFile(join(expDir, ids.parent, "meta.yaml"), "utf8")).not.toContain("run_uuid");
    expect(await fs.readFile(join(expDir, ids.parent, "metrics", "accuracy"), "utf8")).toBe(`${T0 + 60} 0.8 3 py-data 0badc0de\n`);
    expect(await fs.readdir(join(expDir, "models"))).toEqual([ids.model_id]);

    const store = new FileStore(dir, {
      onWarning: (e) => {
        throw e;
      },
    });
    const mine = await ours(store, env.EXP_NAME, env.MODEL_NAME);
    // MLflow 3.4 reads step 0 from a 5-field run metric line; the line holds step 3, which we keep.
    const fix = (m: any) => (m.dataset_name === "py-data" ? { ...m, step: 3 } : m);
    for (const r of [...theirs.search_runs, ...Object.values<any>(theirs.get_run)]) r.metrics = r.metrics.map(fix);
    theirs.history[ids.parent].accuracy = theirs.history[ids.parent].accuracy.map(fix);
    expect(mine).toEqual(theirs);
    expect(mine.get_run[ids.parent].inputs).toEqual([
      {
        name: "py-data",
        digest: "0badc0de",
        source_type: "local",
        source: '{"uri": "file:///data/py.csv"}',
        schema: '{"mlflow_colspec": []}',
        profile: '{"num_rows": 7}',
        tags: { "mlflow.data.context": "training" },
      },
    ]);
    expect(mine.get_run[ids.child].inputs).toEqual([]); // a LoggedModel input is not a dataset
    expect(mine.versions.map((v: any) => v.version)).toEqual(["1", "2"]);
  }, 180_000);
});
