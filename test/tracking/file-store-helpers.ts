// Shared by the file-store tests: where the recorded MLflow fixtures live, a fresh copy
// of the fixture mlruns tree in a temp dir (so it has "moved"), and converters from
// MLflow's wire JSON (what expected.json holds) to our entities.

import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Experiment, Metric, ModelVersion, RegisteredModel, Run } from "../../tracking/entities.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WIRE = resolve(REPO, "test/fixtures/mlflow-wire");
export const FIXTURE_MLRUNS = join(WIRE, "filestore/mlruns");
export const ORIGINAL_ROOT_URI = "file:///data/mlflow-fixture/mlruns";

export async function loadExpected(): Promise<any> {
  return JSON.parse(await fs.readFile(join(WIRE, "filestore/expected.json"), "utf8"));
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), prefix));
}

/** Copies the fixture tree (read-only on disk) into a fresh writable temp directory. */
export async function copyFixture(): Promise<string> {
  const dir = await tempDir("fs-fixture-");
  const root = join(dir, "moved", "mlruns");
  await fs.cp(FIXTURE_MLRUNS, root, { recursive: true });
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
    experimentId: e.experiment_id, name: e.name, artifactLocation: rebaseUri(e.artifact_location, rootUri),
    lifecycleStage: e.lifecycle_stage, tags: byKey(e.tags ?? []),
  };
  if (e.creation_time !== undefined) out.creationTime = e.creation_time;
  if (e.last_update_time !== undefined) out.lastUpdateTime = e.last_update_time;
  return out;
}

export const wireMetric = (m: any): Metric => ({ key: m.key, value: wireNumber(m.value), timestamp: m.timestamp, step: m.step });

export function wireRun(r: any, rootUri: string): Run {
  const i = r.info;
  const info: Run["info"] = {
    runId: i.run_id, experimentId: i.experiment_id, runName: i.run_name, userId: i.user_id, status: i.status,
    startTime: i.start_time, artifactUri: rebaseUri(i.artifact_uri, rootUri), lifecycleStage: i.lifecycle_stage,
  };
  if (i.end_time !== undefined) info.endTime = i.end_time;
  return {
    info,
    data: {
      metrics: byKey((r.data.metrics ?? []).map(wireMetric)),
      params: byKey(r.data.params ?? []),
      tags: byKey(r.data.tags ?? []),
    },
  };
}

/** Our entities with params/tags/metrics in key order, since MLflow's order is the directory listing's. */
export function sortedRun(r: Run): Run {
  return { info: r.info, data: { metrics: byKey(r.data.metrics), params: byKey(r.data.params), tags: byKey(r.data.tags) } };
}
export const sortedExperiment = (e: Experiment): Experiment => ({ ...e, tags: byKey(e.tags) });

export function wireModelVersion(v: any): ModelVersion {
  const out: ModelVersion = {
    name: v.name, version: v.version, creationTimestamp: v.creation_timestamp, lastUpdatedTimestamp: v.last_updated_timestamp,
    currentStage: v.current_stage, source: v.source, status: v.status, tags: byKey(v.tags ?? []), aliases: v.aliases ?? [],
  };
  if (v.description !== undefined) out.description = v.description;
  if (v.run_id !== undefined) out.runId = v.run_id;
  return out;
}
export const sortedVersion = (v: ModelVersion): ModelVersion => ({ ...v, tags: byKey(v.tags) });

export function wireRegisteredModel(m: any): RegisteredModel {
  const out: RegisteredModel = {
    name: m.name, creationTimestamp: m.creation_timestamp, lastUpdatedTimestamp: m.last_updated_timestamp,
    latestVersions: (m.latest_versions ?? []).map(wireModelVersion), tags: byKey(m.tags ?? []), aliases: m.aliases ?? [],
  };
  if (m.description !== undefined) out.description = m.description;
  return out;
}
export const sortedModel = (m: RegisteredModel): RegisteredModel =>
  ({ ...m, tags: byKey(m.tags), latestVersions: m.latestVersions.map(sortedVersion) });
