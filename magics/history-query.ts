// The metric histories %mlflow_compare draws: which runs a history chart shows (by charts'
// own rule), whether any metric has steps (what makes `auto` a history chart), and the
// histories fetched with bounded concurrency. Loaded with the magic's implementation, since
// it needs charts/history.ts.

import { HISTORY_MAX_RUNS } from "../charts/history.js";
import type { Metric, Run, TrackingStore } from "../tracking/index.js";
import { mapLimit } from "./run-query.js";

/**
 * The ids of the runs a history chart draws: charts orders runs by start time then run id,
 * keeps the latest `max`, and draws the latest HISTORY_MAX_RUNS of those.
 */
export function drawnInHistory(runs: readonly Run[], max: number): Set<string> {
  const unique = [...new Map(runs.map((r) => [r.info.runId, r])).values()];
  unique.sort(
    (a, b) =>
      (Number(a.info.startTime) || 0) - (Number(b.info.startTime) || 0) ||
      (a.info.runId < b.info.runId ? -1 : a.info.runId > b.info.runId ? 1 : 0),
  );
  return new Set(unique.slice(-Math.min(max, HISTORY_MAX_RUNS)).map((r) => r.info.runId));
}

/** True when some history has points at more than one step (what makes `auto` draw histories). */
export function hasSteps(hist: readonly Record<string, Metric[]>[]): boolean {
  return hist.some((h) => Object.values(h).some((points) => points.some((p) => p.step !== points[0]!.step)));
}

/**
 * Histories of `metrics` for the runs `include` accepts (all by default). Only metrics whose
 * latest point has a step above 0 can have a history worth drawing, so the others are not
 * fetched (that keeps 1,000-run bar charts fast).
 */
export async function histories(
  store: TrackingStore,
  runs: readonly Run[],
  metrics: readonly string[] | undefined,
  include: (runId: string) => boolean = () => true,
): Promise<Record<string, Metric[]>[]> {
  const want = metrics ? new Set(metrics) : undefined;
  const jobs: { i: number; key: string }[] = [];
  runs.forEach((r, i) => {
    if (!include(r.info.runId)) return;
    for (const m of r.data.metrics) if (m.step > 0 && (!want || want.has(m.key))) jobs.push({ i, key: m.key });
  });
  const out = runs.map(() => ({}) as Record<string, Metric[]>);
  await mapLimit(jobs, 16, async ({ i, key }) => {
    out[i]![key] = await store.getMetricHistory(runs[i]!.info.runId, key);
  });
  return out;
}
