// Which source runs a sync copies: every active run of the chosen experiments (all active
// experiments by default), narrowed by run ids and a start time, plus the ancestors of each
// chosen run (a nested run's copy must point at its parent's copy, so the parent goes too).
// Parents come before their children in the result, so a child's copy can name its
// parent's copy when it is created.

import type { Experiment, Run } from "../entities.js";
import { MlflowError } from "../errors.js";
import type { TrackingStore } from "../store.js";
import { PARENT_RUN_ID_TAG, tagValue } from "./provenance.js";

export interface Selection {
  /** Experiment names (all active experiments when absent). */
  experiments?: string[];
  /** Run ids (every run of the experiments when absent). */
  runIds?: string[];
  /** Only runs that started at or after this time (epoch ms). */
  since?: number;
}

export interface SourceRun {
  run: Run;
  experiment: Experiment;
  /** Not chosen itself, but the ancestor of a chosen run. */
  ancestor: boolean;
}

/** A selection that names something the source does not have. */
export class SyncSelectionError extends MlflowError {
  override name = "SyncSelectionError";
  constructor(message: string) {
    super("INVALID_PARAMETER_VALUE", message, 400);
  }
}

/** Every item of a paged search, page by page (a page without items ends it). */
export async function allPages<T>(fetch: (token?: string) => Promise<{ items: T[]; nextPageToken?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    out.push(...page.items);
    token = page.items.length ? page.nextPageToken : undefined;
  } while (token);
  return out;
}

async function chooseExperiments(source: TrackingStore, names: string[] | undefined): Promise<Experiment[]> {
  const active = await allPages((pageToken) => source.searchExperiments({ viewType: "ACTIVE_ONLY", pageToken }));
  if (!names) return active;
  return names.map((name) => {
    const found = active.find((e) => e.name === name);
    if (!found) {
      const known = active.map((e) => JSON.stringify(e.name)).join(", ") || "none";
      throw new SyncSelectionError(`No active experiment named ${JSON.stringify(name)} in ${source.uri}; its experiments: ${known}.`);
    }
    return found;
  });
}

async function getRunOrNone(source: TrackingStore, runId: string): Promise<Run | undefined> {
  try {
    return await source.getRun(runId);
  } catch (err) {
    if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST") return undefined;
    throw err;
  }
}

export async function selectRuns(source: TrackingStore, selection: Selection = {}): Promise<SourceRun[]> {
  const experiments = await chooseExperiments(source, selection.experiments);
  const byId = new Map(experiments.map((e) => [e.experimentId, e]));
  let runs: Run[];
  if (selection.runIds) {
    runs = [];
    for (const id of selection.runIds) {
      const run = await getRunOrNone(source, id);
      if (!run) throw new SyncSelectionError(`No run with id ${JSON.stringify(id)} in ${source.uri}.`);
      if (run.info.lifecycleStage === "deleted")
        throw new SyncSelectionError(`Run ${id} in ${source.uri} is deleted: restore it to sync it.`);
      if (byId.has(run.info.experimentId)) runs.push(run);
    }
  } else {
    const ids = experiments.map((e) => e.experimentId);
    runs =
      ids.length === 0
        ? []
        : await allPages((pageToken) => source.searchRuns({ experimentIds: ids, runViewType: "ACTIVE_ONLY", maxResults: 1000, pageToken }));
  }
  if (selection.since !== undefined) runs = runs.filter((r) => r.info.startTime >= selection.since!);

  const chosen = new Map<string, SourceRun>();
  const experimentOf = async (id: string) => {
    let e = byId.get(id);
    if (!e) byId.set(id, (e = await source.getExperiment(id)));
    return e;
  };
  for (const run of runs) chosen.set(run.info.runId, { run, experiment: await experimentOf(run.info.experimentId), ancestor: false });
  // Ancestors outside the choice come along (a dangling parent id is kept as it is).
  for (const entry of [...chosen.values()]) {
    let parentId = tagValue(entry.run.data.tags, PARENT_RUN_ID_TAG);
    while (parentId && !chosen.has(parentId)) {
      const parent = await getRunOrNone(source, parentId);
      if (!parent || parent.info.lifecycleStage === "deleted") break;
      chosen.set(parentId, { run: parent, experiment: await experimentOf(parent.info.experimentId), ancestor: true });
      parentId = tagValue(parent.data.tags, PARENT_RUN_ID_TAG);
    }
  }
  return parentsFirst([...chosen.values()]);
}

/** Orders runs by nesting depth, then start time: every parent precedes its children. */
function parentsFirst(runs: SourceRun[]): SourceRun[] {
  const ids = new Map(runs.map((r) => [r.run.info.runId, r]));
  const depth = new Map<string, number>();
  const depthOf = (r: SourceRun, seen = new Set<string>()): number => {
    const id = r.run.info.runId;
    const known = depth.get(id);
    if (known !== undefined) return known;
    const parent = ids.get(tagValue(r.run.data.tags, PARENT_RUN_ID_TAG) ?? "");
    // A parent cycle (a hand-edited store) is cut where it closes.
    const d = parent && !seen.has(id) ? 1 + depthOf(parent, seen.add(id)) : 0;
    depth.set(id, d);
    return d;
  };
  return runs
    .map((r) => ({ r, d: depthOf(r) }))
    .sort((a, b) => a.d - b.d || a.r.run.info.startTime - b.r.run.info.startTime || a.r.run.info.runId.localeCompare(b.r.run.info.runId))
    .map(({ r }) => r);
}
