// Fetching runs for %mlflow_runs and %mlflow_compare: experiment lookup with a helpful error,
// paged search, explicit run ids, and metric histories fetched with bounded concurrency.

import { HISTORY_MAX_RUNS } from "../charts/history.js";
import { MlflowError, DEFAULT_SEARCH_MAX_RESULTS, type Experiment, type Metric, type Run, type TrackingStore } from "../tracking/index.js";
import { MagicError } from "./registry.js";
import type { MlflowSession } from "./session.js";

/** A positive integer option such as --max, naming a bad value. */
export function positiveInt(value: unknown, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || !Number.isSafeInteger(n) || n <= 0)
    throw new MagicError("BAD_ARGUMENT", `Bad ${option} ${JSON.stringify(value)}: expected a positive whole number.`);
  return n;
}

/** An existing experiment by name or id (never created here), or an error listing the known ones. */
export async function existingExperiment(session: MlflowSession, nameOrId: string | undefined): Promise<Experiment> {
  if (nameOrId === undefined) return session.currentExperiment();
  try {
    return await session.resolveExperiment(nameOrId, false);
  } catch (err) {
    if (!(err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
    const page = await session.tracking.store.searchExperiments({ maxResults: 100 });
    const names = page.items.map((e) => e.name).sort();
    throw new MagicError("BAD_ARGUMENT", `Unknown experiment ${JSON.stringify(nameOrId)}. Experiments: ${names.join(", ") || "(none)"}.`);
  }
}

export async function searchAll(
  store: TrackingStore,
  experimentId: string,
  filter: string | undefined,
  orderBy: string[],
  max: number,
): Promise<Run[]> {
  const runs: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await store.searchRuns({
      experimentIds: [experimentId],
      filter,
      orderBy,
      maxResults: Math.min(max - runs.length, DEFAULT_SEARCH_MAX_RESULTS),
      pageToken,
    });
    runs.push(...page.items);
    pageToken = page.items.length ? page.nextPageToken : undefined;
  } while (pageToken && runs.length < max);
  return runs.slice(0, max);
}

export async function runsById(store: TrackingStore, ids: string[]): Promise<Run[]> {
  return Promise.all(
    ids.map((id) =>
      store.getRun(id).catch((err: unknown) => {
        if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")
          throw new MagicError("BAD_ARGUMENT", `--runs: no run with id ${JSON.stringify(id)}.`);
        throw err;
      }),
    ),
  );
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

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
