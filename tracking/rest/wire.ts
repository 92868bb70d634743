// Translation between MLflow's REST JSON (snake_case, fields dropped when unset, metric
// values possibly "NaN"/"Infinity" strings) and our camelCase entities.

import type {
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  LifecycleStage,
  Metric,
  ModelVersion,
  RegisteredModel,
  Run,
  RunData,
  RunInfo,
  RunStatus,
  Tag,
} from "../entities.js";
import { MlflowError } from "../errors.js";

type Json = Record<string, unknown>;

const str = (v: unknown, fallback = ""): string => (v === undefined || v === null ? fallback : String(v));
const optNum = (v: unknown): number | undefined => (v === undefined || v === null || v === "" ? undefined : Number(v));
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/** "NaN", "Infinity", "-Infinity" (how MLflow writes non-finite doubles) and numeric strings to numbers. */
export function parseDouble(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new MlflowError("UNEXPECTED_RESPONSE", `The server sent metric value ${JSON.stringify(v)}, which is not a number.`);
}

/** A metric for the request body: non-finite values as MLflow's strings (JSON.stringify would write null). */
export function metricToWire(m: Metric): Json {
  const value = Number.isFinite(m.value) ? m.value : Number.isNaN(m.value) ? "NaN" : m.value > 0 ? "Infinity" : "-Infinity";
  const wire: Json = { key: m.key, value, timestamp: m.timestamp, step: m.step };
  // MLflow 3 fields; 2.x servers ignore fields they do not know.
  if (m.modelId !== undefined) wire.model_id = m.modelId;
  if (m.datasetName !== undefined) wire.dataset_name = m.datasetName;
  if (m.datasetDigest !== undefined) wire.dataset_digest = m.datasetDigest;
  return wire;
}

export const datasetInputToWire = (d: DatasetInput): Json => ({
  tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
  dataset: compact({
    name: d.dataset.name,
    digest: d.dataset.digest,
    source_type: d.dataset.sourceType,
    source: d.dataset.source,
    schema: d.dataset.schema,
    profile: d.dataset.profile,
  }),
});

export function parseDatasetInput(d: Json): DatasetInput {
  const ds = (d.dataset ?? {}) as Json;
  const dataset: Dataset = { name: str(ds.name), digest: str(ds.digest), sourceType: str(ds.source_type), source: str(ds.source) };
  if (ds.schema !== undefined) dataset.schema = str(ds.schema);
  if (ds.profile !== undefined) dataset.profile = str(ds.profile);
  return { dataset, tags: parseTags(d.tags) };
}

export const tagsToWire = (tags: Tag[] | undefined): Tag[] | undefined =>
  tags && tags.length ? tags.map((t) => ({ key: t.key, value: t.value })) : undefined;

export const parseTags = (v: unknown): Tag[] => list(v).map((t) => ({ key: str(t.key), value: str(t.value) }));

export const parseMetric = (m: Json): Metric => ({
  key: str(m.key),
  value: parseDouble(m.value),
  timestamp: optNum(m.timestamp) ?? 0,
  // int64 fields left at their default (0) are dropped from the answer.
  step: optNum(m.step) ?? 0,
});

export function parseExperiment(e: Json): Experiment {
  return {
    experimentId: str(e.experiment_id),
    name: str(e.name),
    artifactLocation: str(e.artifact_location),
    lifecycleStage: str(e.lifecycle_stage, "active") as LifecycleStage,
    creationTime: optNum(e.creation_time),
    lastUpdateTime: optNum(e.last_update_time),
    tags: parseTags(e.tags),
  };
}

export function parseRunInfo(i: Json): RunInfo {
  const info: RunInfo = {
    runId: str(i.run_id ?? i.run_uuid),
    experimentId: str(i.experiment_id),
    runName: str(i.run_name),
    userId: str(i.user_id),
    status: str(i.status, "RUNNING") as RunStatus,
    startTime: optNum(i.start_time) ?? 0,
    artifactUri: str(i.artifact_uri),
    lifecycleStage: str(i.lifecycle_stage, "active") as LifecycleStage,
  };
  const end = optNum(i.end_time);
  if (end !== undefined) info.endTime = end;
  return info;
}

export function parseRunData(d: Json | undefined): RunData {
  return {
    metrics: list(d?.metrics).map(parseMetric),
    params: parseTags(d?.params),
    tags: parseTags(d?.tags),
  };
}

export function parseRun(r: Json): Run {
  const run: Run = { info: parseRunInfo((r.info ?? {}) as Json), data: parseRunData(r.data as Json | undefined) };
  // runs/get and runs/search carry `inputs` when the run has any (2.x and 3.x alike).
  const inputs = list((r.inputs as Json | undefined)?.dataset_inputs);
  if (inputs.length) run.inputs = { datasetInputs: inputs.map(parseDatasetInput) };
  return run;
}

export const parseFileInfo = (f: Json): FileInfo => {
  const info: FileInfo = { path: str(f.path), isDir: f.is_dir === true };
  const size = optNum(f.file_size);
  if (size !== undefined) info.fileSize = size;
  return info;
};

export function parseModelVersion(v: Json): ModelVersion {
  const mv: ModelVersion = {
    name: str(v.name),
    version: str(v.version),
    creationTimestamp: optNum(v.creation_timestamp),
    lastUpdatedTimestamp: optNum(v.last_updated_timestamp),
    source: str(v.source),
    tags: parseTags(v.tags),
    aliases: Array.isArray(v.aliases) ? v.aliases.map(String) : [],
  };
  // Kept as the server sent them: a version made without run_id or description has "" (fixture 101).
  if (v.current_stage !== undefined) mv.currentStage = str(v.current_stage);
  if (v.description !== undefined) mv.description = str(v.description);
  if (v.run_id !== undefined) mv.runId = str(v.run_id);
  if (v.status !== undefined) mv.status = str(v.status);
  return mv;
}

export function parseRegisteredModel(m: Json): RegisteredModel {
  const rm: RegisteredModel = {
    name: str(m.name),
    creationTimestamp: optNum(m.creation_timestamp),
    lastUpdatedTimestamp: optNum(m.last_updated_timestamp),
    latestVersions: list(m.latest_versions).map(parseModelVersion),
    tags: parseTags(m.tags),
    aliases: list(m.aliases).map((a) => ({ alias: str(a.alias), version: str(a.version) })),
  };
  if (m.description !== undefined) rm.description = str(m.description);
  return rm;
}

/** Drops undefined fields so request bodies carry only what the caller set, as MLflow's client does. */
export function compact(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}
