// MLflow's entities in TypeScript names (camelCase); the stores translate to and from
// the wire (snake_case) and the file layout. Values keep MLflow's meanings: ids are
// strings, times are epoch milliseconds, metric values may be NaN or ±Infinity.

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const isRunStatus = (s: unknown): s is RunStatus => RUN_STATUSES.includes(s as RunStatus);

export const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export type LifecycleStage = "active" | "deleted";

export interface Tag {
  key: string;
  value: string;
}
export interface Param {
  key: string;
  value: string;
}
export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** MLflow 3: the LoggedModel this point measures, and the dataset it was computed on. */
  modelId?: string;
  datasetName?: string;
  datasetDigest?: string;
}

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime?: number;
  lastUpdateTime?: number;
  tags: Tag[];
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime?: number;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

export interface RunData {
  /** The latest value of each metric (highest step, then timestamp, then value). */
  metrics: Metric[];
  params: Param[];
  tags: Tag[];
}

/**
 * A dataset as MLflow records it (`mlflow.entities.Dataset`): `digest` identifies its content,
 * `sourceType`/`source` say where it came from (source is JSON, e.g. `{"uri": "..."}`),
 * `schema` and `profile` are JSON texts (e.g. `{"mlflow_colspec": [...]}`, `{"num_rows": 3}`).
 */
export interface Dataset {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  schema?: string;
  profile?: string;
}

/** A dataset used by a run; tags carry `mlflow.data.context` (`training`, `eval`, ...). */
export interface DatasetInput {
  dataset: Dataset;
  tags: Tag[];
}

export interface RunInputs {
  datasetInputs: DatasetInput[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs?: RunInputs;
}

/** What `logBatch` writes: the one write primitive of every store. */
export interface Batch {
  metrics?: Metric[];
  params?: Param[];
  tags?: Tag[];
}

export interface CreateRun {
  experimentId: string;
  runName?: string;
  startTime?: number;
  tags?: Tag[];
  userId?: string;
}

export interface RunUpdate {
  status?: RunStatus;
  endTime?: number;
  runName?: string;
}

export interface RunQuery {
  experimentIds: string[];
  filter?: string;
  runViewType?: ViewType;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface ExperimentQuery {
  filter?: string;
  viewType?: ViewType;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export interface FileInfo {
  path: string;
  isDir: boolean;
  fileSize?: number;
}

export interface RegisteredModel {
  name: string;
  creationTimestamp?: number;
  lastUpdatedTimestamp?: number;
  description?: string;
  latestVersions: ModelVersion[];
  tags: Tag[];
  aliases: { alias: string; version: string }[];
}

export interface ModelVersion {
  name: string;
  version: string;
  creationTimestamp?: number;
  lastUpdatedTimestamp?: number;
  currentStage?: string;
  description?: string;
  source: string;
  runId?: string;
  status?: string;
  tags: Tag[];
  aliases: string[];
}
