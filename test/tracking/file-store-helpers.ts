// Shared by the file-store tests: where the recorded MLflow fixtures live (the trees MLflow
// 2.22's and 3.4's Python clients wrote), a fresh copy of a fixture mlruns tree in a temp dir
// (so it has "moved"), and converters from MLflow's wire JSON (what expected.json holds) to
// our entities.

import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { DatasetInput, Experiment, Metric, ModelVersion, RegisteredModel, Run } from "../../tracking/entities.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WIRE = resolve(REPO, "test/fixtures/mlflow-wire");
/** The fixture trees, by the MLflow version whose Python client wrote them. */
export const FIXTURE_TREES = { "2.22": join(WIRE, "filestore"), "3.4": join(WIRE, "mlflow-3.4/filestore") } as const;
export type FixtureVersion = keyof typeof FIXTURE_TREES;
export const fixtureMlruns = (version: FixtureVersion = "2.22") => join(FIXTURE_TREES[version], "mlruns");
export const FIXTURE_MLRUNS = fixtureMlruns("2.22");
export const ORIGINAL_ROOT_URI = "file:///data/mlflow-fixture/mlruns";

export async function loadExpected(version: FixtureVersion = "2.22"): Promise<any> {
  return JSON.parse(await fs.readFile(join(FIXTURE_TREES[version], "expected.json"), "utf8"));
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), prefix));
}

/** Copies a fixture tree (read-only on disk) into a fresh writable temp directory. */
export async function copyFixture(version: FixtureVersion = "2.22"): Promise<string> {
  const dir = await tempDir("fs-fixture-");
  const root = join(dir, "moved", "mlruns");
  await fs.cp(fixtureMlruns(version), root, { recursive: true });
  const makeWritable = async (p: string): Promise<void> => {
    const st = await fs.stat(p);
    await fs.chmod(p, st.mode | 0o200);
    if (st.isDirectory()) for (const e of await fs.readdir(p)) await makeWritable(join(p, e));
  };
  await makeWritable(root);
  return root;
}

export const wireNumber = (v: number | string): number =>
  v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v);

const byKey = <T extends { key: string }>(xs: T[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

export const rebaseUri = (uri: string, rootUri: string) =>
  uri.startsWith(ORIGINAL_ROOT_URI) ? rootUri + uri.slice(ORIGINAL_ROOT_URI.length) : uri;

export function wireExperiment(e: any, rootUri: string): Experiment {
  const out: Experiment = {
    experimentId: e.experiment_id,
    name: e.name,
    artifactLocation: rebaseUri(e.artifact_location, rootUri),
    lifecycleStage: e.lifecycle_stage,
    tags: byKey(e.tags ?? []),
  };
  if (e.creation_time !== undefined) out.creationTime = e.creation_time;
  if (e.last_update_time !== undefined) out.lastUpdateTime = e.last_update_time;
  return out;
}

/** A metric as MLflow reports it; MLflow 3's dataset fields are kept, its `run_id` echo is not part of ours. */
export function wireMetric(m: any): Metric {
  const out: Metric = { key: m.key, value: wireNumber(m.value), timestamp: m.timestamp, step: m.step };
  if (m.dataset_name !== undefined) out.datasetName = m.dataset_name;
  if (m.dataset_digest !== undefined) out.datasetDigest = m.dataset_digest;
  return out;
}

export function wireDatasetInput(d: any): DatasetInput {
  const ds = d.dataset;
  const dataset: DatasetInput["dataset"] = { name: ds.name, digest: ds.digest, sourceType: ds.source_type, source: ds.source };
  if (ds.schema !== undefined) dataset.schema = ds.schema;
  if (ds.profile !== undefined) dataset.profile = ds.profile;
  return { dataset, tags: d.tags ?? [] };
}

export function wireRun(r: any, rootUri: string): Run {
  const i = r.info;
  const info: Run["info"] = {
    runId: i.run_id,
    experimentId: i.experiment_id,
    runName: i.run_name,
    userId: i.user_id,
    status: i.status,
    startTime: i.start_time,
    artifactUri: rebaseUri(i.artifact_uri, rootUri),
    lifecycleStage: i.lifecycle_stage,
  };
  if (i.end_time !== undefined) info.endTime = i.end_time;
  const run: Run = {
    info,
    data: {
      metrics: byKey((r.data.metrics ?? []).map(wireMetric)),
      params: byKey(r.data.params ?? []),
      tags: byKey(r.data.tags ?? []),
    },
  };
  const inputs = r.inputs?.dataset_inputs ?? [];
  if (inputs.length) run.inputs = { datasetInputs: sortedInputs(inputs.map(wireDatasetInput)) };
  return run;
}

const sortedInputs = (xs: DatasetInput[]) =>
  [...xs].sort((a, b) => (a.dataset.name + "\0" + a.dataset.digest).localeCompare(b.dataset.name + "\0" + b.dataset.digest));

/** Our entities with params/tags/metrics (and inputs) in key order, since MLflow's order is the directory listing's. */
export function sortedRun(r: Run): Run {
  const out: Run = { info: r.info, data: { metrics: byKey(r.data.metrics), params: byKey(r.data.params), tags: byKey(r.data.tags) } };
  if (r.inputs) out.inputs = { datasetInputs: sortedInputs(r.inputs.datasetInputs) };
  return out;
}
export const sortedExperiment = (e: Experiment): Experiment => ({ ...e, tags: byKey(e.tags) });

export function wireModelVersion(v: any): ModelVersion {
  const out: ModelVersion = {
    name: v.name,
    version: v.version,
    creationTimestamp: v.creation_timestamp,
    lastUpdatedTimestamp: v.last_updated_timestamp,
    currentStage: v.current_stage,
    source: v.source,
    status: v.status,
    tags: byKey(v.tags ?? []),
    aliases: v.aliases ?? [],
  };
  if (v.description !== undefined) out.description = v.description;
  if (v.run_id !== undefined) out.runId = v.run_id;
  return out;
}
export const sortedVersion = (v: ModelVersion): ModelVersion => ({ ...v, tags: byKey(v.tags) });

export function wireRegisteredModel(m: any): RegisteredModel {
  const out: RegisteredModel = {
    name: m.name,
    creationTimestamp: m.creation_timestamp,
    lastUpdatedTimestamp: m.last_updated_timestamp,
    latestVersions: (m.latest_versions ?? []).map(wireModelVersion),
    tags: byKey(m.tags ?? []),
    aliases: m.aliases ?? [],
  };
  if (m.description !== undefined) out.description = m.description;
  return out;
}
export const sortedModel = (m: RegisteredModel): RegisteredModel => ({
  ...m,
  tags: byKey(m.tags),
  latestVersions: m.latestVersions.map(sortedVersion),
});
