// Finding the copies an earlier sync made: the runs of a target experiment that carry the
// source-run tag for this source store, by source run id. One search per experiment (the
// tag filter keeps it to copies), so a resumed sync of 50 runs asks the target once, not 50 times.

import type { Run } from "../entities.js";
import type { TrackingStore } from "../store.js";
import { SOURCE_RUN_ID_TAG, copiedFrom } from "./provenance.js";

/** Copies in `experimentId` of runs from `sourceUri`, by source run id (deleted copies too: a copy someone deleted is not remade). */
export async function findCopies(target: TrackingStore, experimentId: string, sourceUri: string): Promise<Map<string, Run[]>> {
  const found = new Map<string, Run[]>();
  let pageToken: string | undefined;
  do {
    const page = await target.searchRuns({
      experimentIds: [experimentId],
      filter: `tags.\`${SOURCE_RUN_ID_TAG}\` LIKE '%'`,
      runViewType: "ALL",
      maxResults: 1000,
      pageToken,
    });
    for (const run of page.items) {
      const sourceId = copiedFrom(run, sourceUri);
      if (sourceId !== undefined) found.set(sourceId, [...(found.get(sourceId) ?? []), run]);
    }
    pageToken = page.items.length ? page.nextPageToken : undefined;
  } while (pageToken);
  return found;
}
