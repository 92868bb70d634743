// The public face of tracking/: everything other folders (magics, charts, cli) and plain
// scripts use. Import from here rather than from individual modules.

export * from "./entities.js";
export * from "./errors.js";
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
export { ArtifactSpool, type ArtifactDelivery } from "./logging/artifact-spool.js";
export { writeFileAtomic, writeFileAtomicSync, type AtomicWriteOptions } from "./atomic-write.js";
export { generateRunName, isGeneratedRunName } from "./run-names.js";
export * from "./sync/index.js";
