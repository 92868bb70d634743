// Fetching runs for %mlflow_runs and %mlflow_compare: experiment lookup with a helpful error,
// paged search, explicit run ids, bounded concurrency. (The metric histories a chart draws are
// in history-query.ts, which needs charts/ and so loads with %mlflow_compare.)

import { MlflowError, DEFAULT_SEARCH_MAX_RESULTS, type Experiment, type Run, type TrackingStore } from "../tracking/index.js";
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
