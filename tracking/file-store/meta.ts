// meta.yaml contents as MLflow's FileStore writes and reads them: run status as an integer,
// ids as strings, the legacy empty fields, `tags: []`, and both run_id and run_uuid.

import type { Experiment, LifecycleStage, RunInfo, RunStatus, Tag } from "../entities.js";
import { corrupt } from "./fsio.js";

const STATUS_CODES: Record<RunStatus, number> = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 };
const STATUS_NAMES = Object.fromEntries(Object.entries(STATUS_CODES).map(([k, v]) => [v, k])) as Record<number, RunStatus>;

/** MLflow's LOCAL source type, the only one its FileStore writes. */
const SOURCE_TYPE_LOCAL = 4;

function str(doc: Record<string, unknown>, key: string, file: string, required = true): string | undefined {
  const v = doc[key];
  if (v === undefined || v === null) {
    if (required) throw corrupt(file, `missing '${key}'`);
    return undefined;
  }
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw corrupt(file, `'${key}' should be a string, found ${JSON.stringify(v)}`);
}

function int(doc: Record<string, unknown>, key: string, file: string): number | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) throw corrupt(file, `'${key}' should be an integer, found ${JSON.stringify(v)}`);
  return n;
}

function stage(doc: Record<string, unknown>, file: string): LifecycleStage {
  const s = doc.lifecycle_stage ?? "active";
  if (s !== "active" && s !== "deleted") throw corrupt(file, `unknown lifecycle_stage ${JSON.stringify(s)}`);
  return s;
}

export interface StoredRun {
  info: RunInfo;
  deletedTime?: number;
}

export function runFromMeta(doc: Record<string, unknown>, file: string): StoredRun {
  const runId = str(doc, "run_id", file, false) ?? str(doc, "run_uuid", file)!;
  const status = doc.status;
  const statusName =
    typeof status === "number"
      ? STATUS_NAMES[status]
      : typeof status === "string" && status in STATUS_CODES
        ? (status as RunStatus)
        : status === undefined
          ? "RUNNING"
          : undefined;
  if (!statusName) throw corrupt(file, `unknown run status ${JSON.stringify(status)}`);
  const info: RunInfo = {
    runId,
    experimentId: str(doc, "experiment_id", file)!,
    runName: str(doc, "run_name", file, false) ?? "",
    userId: str(doc, "user_id", file, false) ?? "",
    status: statusName,
    startTime: int(doc, "start_time", file) ?? 0,
    artifactUri: str(doc, "artifact_uri", file, false) ?? "",
    lifecycleStage: stage(doc, file),
  };
  const end = int(doc, "end_time", file);
  if (end !== undefined) info.endTime = end;
  const deleted = int(doc, "deleted_time", file);
  return deleted === undefined ? { info } : { info, deletedTime: deleted };
}

export function runToMeta(info: RunInfo, deletedTime?: number): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    artifact_uri: info.artifactUri,
    end_time: info.endTime ?? null,
    entry_point_name: "",
    experiment_id: info.experimentId,
    lifecycle_stage: info.lifecycleStage,
    run_id: info.runId,
    run_name: info.runName,
    run_uuid: info.runId,
    source_name: "",
    source_type: SOURCE_TYPE_LOCAL,
    source_version: "",
    start_time: info.startTime,
    status: STATUS_CODES[info.status],
    tags: [],
    user_id: info.userId,
  };
  if (deletedTime !== undefined) doc.deleted_time = deletedTime;
  return doc;
}

export function experimentFromMeta(doc: Record<string, unknown>, file: string, tags: Tag[]): Experiment {
  const exp: Experiment = {
    experimentId: str(doc, "experiment_id", file)!,
    name: str(doc, "name", file)!,
    artifactLocation: str(doc, "artifact_location", file, false) ?? "",
    lifecycleStage: stage(doc, file),
    tags,
  };
  const created = int(doc, "creation_time", file);
  const updated = int(doc, "last_update_time", file);
  if (created !== undefined) exp.creationTime = created;
  if (updated !== undefined) exp.lastUpdateTime = updated;
  return exp;
}

/** An experiment's meta; deleted (and restored) experiments also carry a `tags:` mapping, as MLflow writes. */
export function experimentToMeta(exp: Experiment, withTags: boolean): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    artifact_location: exp.artifactLocation,
    creation_time: exp.creationTime ?? null,
    experiment_id: exp.experimentId,
    last_update_time: exp.lastUpdateTime ?? null,
    lifecycle_stage: exp.lifecycleStage,
    name: exp.name,
  };
  if (withTags) doc.tags = Object.fromEntries(exp.tags.map((t) => [t.key, t.value]));
  return doc;
}
