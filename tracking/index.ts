// The public face of tracking/: everything other folders (magics, charts, cli) and plain
// scripts use. Import from here rather than from individual modules; light.ts is the subset
// a command's start path may import without loading the stores (see its header).
//
// Third-party libraries load on first use, not here: undici at a REST store's first request,
// yaml at the first meta file the flat fast path cannot read, proper-lockfile at the first
// file-store lock. Importing this module loads only our own modules and Node's.

export * from "./entities.js";
export * from "./light.js";
export * from "./limits.js";
export * from "./validation.js";
export type { TrackingStore } from "./store.js";
export * from "./client.js";
export { datasetFromRecords, toDatasetInput, DATASET_CONTEXT_TAG, type DatasetDescriptor } from "./datasets.js";
export * from "./open-store.js";
export * from "./databricks.js";
export * from "./model-uri.js";
export { RestStore, UNITY_CATALOG_REGISTRY_API, type RestStoreOptions } from "./rest/store.js";
export {
  HttpClient,
  type Auth,
  type HttpOptions,
  type HttpRequest,
  type HttpResponse,
  stringifyJson,
} from "./rest/http.js";
export { ACCEPTED_ARTIFACT_SCHEMES, contentTypeFor } from "./rest/artifacts.js";
export * from "./rest/logged-models.js";
export { DATABRICKS_ENDPOINT_NAME, invokeServingEndpoint, scoringBody, invocationsUrl, SCORING_KEYS } from "./rest/serving.js";
export { FileStore, type FileStoreOptions } from "./file-store/index.js";
export * from "./logging/logger.js";
export { waitAtMost } from "./logging/logger-jobs.js";
export { ArtifactSpool, type ArtifactDelivery } from "./logging/artifact-spool.js";
export { generateRunName, isGeneratedRunName } from "./run-names.js";
export * from "./sync/index.js";
