// Reading a tracking store back after a test has written to it: every run it holds, and an
// artifact as text.
import type { Run, TrackingStore } from "../../tracking/index.js";

/**
 * Every run of every active experiment, oldest first (or newest first with "DESC"); none
 * before the first experiment exists.
 */
export async function allRuns(store: TrackingStore, order: "ASC" | "DESC" = "ASC"): Promise<Run[]> {
  const exps = (await store.searchExperiments({ maxResults: 1000 })).items.map((e) => e.experimentId);
  if (exps.length === 0) return [];
  return (await store.searchRuns({ experimentIds: exps, maxResults: 1000, orderBy: [`attributes.start_time ${order}`] })).items;
}

/** A run's artifact at `artifactPath`, decoded as UTF-8. */
export async function artifactText(store: TrackingStore, runId: string, artifactPath: string): Promise<string> {
  return Buffer.from(await store.downloadArtifact(runId, artifactPath)).toString("utf8");
}

/** A run's tags as a key → value record. */
export const tagsOf = (run: Run): Record<string, string> => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));

/** A run's params as a key → value record. */
export const paramsOf = (run: Run): Record<string, string> => Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
