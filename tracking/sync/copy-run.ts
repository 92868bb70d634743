// Copies one run into a target store, or completes a copy an interrupted sync left. The copy
// is created with its provenance tags (so a crash right after leaves a copy the next sync
// finds), then params and tags, full metric histories in logging order (log-batch within
// MLflow's 1,000-metric limit), dataset inputs and artifacts; its final status and end time
// are written last, so a copy that shows the source's final status is complete.
//
// Completing rather than deleting and redoing: MLflow deletes runs softly (the run, its tags
// and artifacts stay in the experiment's deleted view until `mlflow gc`), so a redo would
// leave a second copy behind. Completing compares what the copy holds with the source
// (metric points counted per key by step, timestamp and value; artifacts by path and size)
// and sends only what is missing; params and tags are idempotent writes.

import type { Metric, Run, RunInfo } from "../entities.js";
import { MAX_METRICS_PER_BATCH } from "../limits.js";
import type { TrackingStore } from "../store.js";
import { splitBatch } from "../client.js";
import { PARENT_RUN_ID_TAG, copiedTags, provenanceTags, tagValue } from "./provenance.js";

export type RunCopyOutcome = "copied" | "completed" | "skipped";

export interface RunCopy {
  outcome: RunCopyOutcome;
  copyId: string;
  /** What was sent (not what was already there). */
  params: number;
  points: number;
  artifacts: number;
}

export interface CopyRunArgs {
  source: TrackingStore;
  target: TrackingStore;
  /** The source store's URI as recorded on copies (provenanceUri). */
  sourceUri: string;
  run: Run;
  targetExperimentId: string;
  /** The copy's parent (the copy of the source's parent), when the run is nested. */
  parentCopyId?: string;
  /** An earlier copy of this run in the target, to skip or complete. */
  existing?: Run;
  /** Told the copy's id as soon as it exists (children wait for it). */
  onCreated?: (copyId: string) => void;
  /** Runs the dataset-input write alone (see oneAtATime); default: at once. */
  exclusive?: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * Runs one write at a time. MLflow 3.4 (uvicorn, requests in threads) checks for a dataset and
 * then inserts it: two runs logging the same dataset at once both insert, and one gets a 500
 * "UNIQUE constraint failed: datasets.experiment_id, datasets.name, datasets.digest".
 */
export function oneAtATime(): <T>(work: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (work) => {
    const next = last.then(work, work);
    last = next.catch(() => undefined);
    return next;
  };
}

/** A copy is complete when it ended as its source did: the final status is written last. */
export function isCompleteCopy(copy: RunInfo, source: RunInfo): boolean {
  return copy.status !== "RUNNING" && copy.status === source.status && copy.endTime === source.endTime;
}

const pointId = (m: Metric) => `${m.step}\u0000${m.timestamp}\u0000${m.value}`;

export async function copyRun(args: CopyRunArgs): Promise<RunCopy> {
  const { source, target, run, existing } = args;
  const info = run.info;
  if (existing && isCompleteCopy(existing.info, info)) {
    args.onCreated?.(existing.info.runId);
    return { outcome: "skipped", copyId: existing.info.runId, params: 0, points: 0, artifacts: 0 };
  }
  const hasParent = tagValue(run.data.tags, PARENT_RUN_ID_TAG) !== undefined;
  const copyId =
    existing?.info.runId ??
    (
      await target.createRun({
        experimentId: args.targetExperimentId,
        runName: info.runName || undefined,
        startTime: info.startTime,
        userId: info.userId || undefined,
        tags: [
          ...provenanceTags(args.sourceUri, info.runId),
          ...(hasParent && args.parentCopyId ? [{ key: PARENT_RUN_ID_TAG, value: args.parentCopyId }] : []),
        ],
      })
    ).info.runId;
  args.onCreated?.(copyId);

  const tags = copiedTags(run, args.parentCopyId);
  if (run.data.params.length || tags.length)
    for (const chunk of splitBatch({ params: run.data.params, tags })) await target.logBatch(copyId, chunk);

  const points = await copyMetrics(
    source,
    target,
    info.runId,
    copyId,
    [...new Set(run.data.metrics.map((m) => m.key))],
    existing !== undefined,
  );
  const datasets = run.inputs?.datasetInputs ?? [];
  // The same dataset logged twice is kept once, so a completed copy may send them again.
  if (datasets.length) await (args.exclusive ?? ((work) => work()))(() => target.logInputs(copyId, datasets));
  const artifacts = await copyArtifacts(source, target, info.runId, copyId, existing !== undefined);

  if (info.status !== "RUNNING" || info.endTime !== undefined)
    await target.updateRun(copyId, { status: info.status, endTime: info.endTime });
  return { outcome: existing ? "completed" : "copied", copyId, params: run.data.params.length, points, artifacts };
}

/** Every key's full history, in logging order, in log-batch requests of at most 1,000 points. */
async function copyMetrics(
  source: TrackingStore,
  target: TrackingStore,
  runId: string,
  copyId: string,
  keys: string[],
  resume: boolean,
): Promise<number> {
  let pending: Metric[] = [];
  let sent = 0;
  const flush = async (all: boolean) => {
    while (pending.length >= MAX_METRICS_PER_BATCH || (all && pending.length)) {
      const chunk = pending.slice(0, MAX_METRICS_PER_BATCH);
      pending = pending.slice(chunk.length);
      await target.logBatch(copyId, { metrics: chunk });
      sent += chunk.length;
    }
  };
  for (const key of keys) {
    let history = await source.getMetricHistory(runId, key);
    if (resume) history = missingPoints(history, await target.getMetricHistory(copyId, key));
    // Only the point's own fields: a LoggedModel id of the source means nothing in the target.
    for (const m of history) pending.push({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step });
    await flush(false);
  }
  await flush(true);
  return sent;
}

/** The source points the copy lacks, counted per (step, timestamp, value), in source order. */
export function missingPoints(sourcePoints: Metric[], copyPoints: Metric[]): Metric[] {
  const have = new Map<string, number>();
  for (const m of copyPoints) have.set(pointId(m), (have.get(pointId(m)) ?? 0) + 1);
  return sourcePoints.filter((m) => {
    const n = have.get(pointId(m)) ?? 0;
    if (n === 0) return true;
    have.set(pointId(m), n - 1);
    return false;
  });
}

async function listFiles(store: TrackingStore, runId: string, dir?: string): Promise<{ path: string; size?: number }[]> {
  const out: { path: string; size?: number }[] = [];
  for (const f of await store.listArtifacts(runId, dir)) {
    if (f.isDir) out.push(...(await listFiles(store, runId, f.path)));
    else out.push({ path: f.path, size: f.fileSize });
  }
  return out;
}

async function copyArtifacts(
  source: TrackingStore,
  target: TrackingStore,
  runId: string,
  copyId: string,
  resume: boolean,
): Promise<number> {
  const files = await listFiles(source, runId);
  if (!files.length) return 0;
  const there = resume ? new Map((await listFiles(target, copyId)).map((f) => [f.path, f.size])) : new Map<string, number | undefined>();
  let sent = 0;
  for (const f of files) {
    if (there.has(f.path) && there.get(f.path) === f.size) continue;
    await target.logArtifact(copyId, f.path, await source.downloadArtifact(runId, f.path));
    sent++;
  }
  return sent;
}
