// The light public entry of tracking/: what a command needs before its slow work starts
// (MLflow's errors, which tracking URI is in effect and what it names, atomic file writes),
// without loading any store. index.ts exports all of it too; use this entry only on a path
// where start time counts, like `tslab-mlflow run` before its kernel is spawned.
//
// Why two entries: Node 20's ESM loader costs about a millisecond per module, and index.ts
// reaches ~57 of them (the file and REST stores, search, logging, sync), ~70 ms of CPU, while
// these modules are 3 (~10 ms). Outside tracking/, import tracking/index.ts or this, nothing
// deeper (test/tracking/import-boundaries.test.ts checks it).

export * from "./errors.js";
export {
  ACCEPTED_TRACKING_URIS,
  DEFAULT_TRACKING_DIR,
  fileStoreRoot,
  resolveTrackingUri,
  trackingUriKind,
  type TrackingUriKind,
} from "./tracking-uri.js";
export { writeFileAtomic, writeFileAtomicSync, type AtomicWriteOptions } from "./atomic-write.js";
