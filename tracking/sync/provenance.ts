// Where a copy came from. Every run and model version `syncRuns` writes carries the source's
// run id (or model version) and the source store's URI as tags, so a later sync finds the
// copy instead of making another: that is what makes sync idempotent and resumable. The URI
// in the tag never holds credentials.

import type { Run, Tag } from "../entities.js";

export const SOURCE_RUN_ID_TAG = "tslab_mlflow.sync.source_run_id";
export const SOURCE_URI_TAG = "tslab_mlflow.sync.source_uri";
/** On a model version copy: `<registered model name>/<version>` in the source registry. */
export const SOURCE_MODEL_VERSION_TAG = "tslab_mlflow.sync.source_model_version";
export const PARENT_RUN_ID_TAG = "mlflow.parentRunId";

const SYNC_TAGS = new Set([SOURCE_RUN_ID_TAG, SOURCE_URI_TAG, SOURCE_MODEL_VERSION_TAG]);

/** The store URI as recorded on copies: user, password, query and fragment removed. */
export function provenanceUri(uri: string): string {
  if (!/^[a-z][\w+.-]*:\/\//i.test(uri) || uri.startsWith("file:")) return uri;
  try {
    const u = new URL(uri);
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return uri;
  }
}

export const tagValue = (tags: Tag[], key: string): string | undefined => tags.find((t) => t.key === key)?.value;

/** The tags that tie a copy to its source. */
export const provenanceTags = (sourceUri: string, sourceRunId: string): Tag[] => [
  { key: SOURCE_RUN_ID_TAG, value: sourceRunId },
  { key: SOURCE_URI_TAG, value: sourceUri },
];

/** A run's tags for its copy: the source's own sync tags dropped (a copy of a copy names its nearest source), the parent remapped. */
export function copiedTags(run: Run, parentCopyId: string | undefined): Tag[] {
  return run.data.tags
    .filter((t) => !SYNC_TAGS.has(t.key))
    .map((t) => (t.key === PARENT_RUN_ID_TAG && parentCopyId !== undefined ? { key: t.key, value: parentCopyId } : t));
}

/** The source run id a target run was copied from, when it was copied from `sourceUri`. */
export function copiedFrom(run: Run, sourceUri: string): string | undefined {
  if (tagValue(run.data.tags, SOURCE_URI_TAG) !== sourceUri) return undefined;
  return tagValue(run.data.tags, SOURCE_RUN_ID_TAG);
}
