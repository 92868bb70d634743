// The interface every tracking store implements (file store, REST server, Databricks).
// `logBatch` is the one write primitive for metrics, params and tags; the conveniences
// (logMetric, logParam, setTag) live in the client on top of it.

import type {
  Batch,
  CreateRun,
  DatasetInput,
  Experiment,
  ExperimentQuery,
  FileInfo,
  Metric,
  ModelVersion,
  Page,
  Param,
  RegisteredModel,
  Run,
  RunInfo,
  RunQuery,
  RunUpdate,
  Tag,
} from "./entities.js";

export interface TrackingStore {
  /** The URI this store was opened with, normalised (e.g. `file:///abs/mlruns`). */
  readonly uri: string;

  // Experiments
  createExperiment(name: string, tags?: Tag[], artifactLocation?: string): Promise<string>;
  getExperiment(experimentId: string): Promise<Experiment>;
  getExperimentByName(name: string): Promise<Experiment | undefined>;
  searchExperiments(query: ExperimentQuery): Promise<Page<Experiment>>;
  setExperimentTag(experimentId: string, tag: Tag): Promise<void>;
  deleteExperiment(experimentId: string): Promise<void>;
  restoreExperiment(experimentId: string): Promise<void>;

  // Runs
  createRun(args: CreateRun): Promise<Run>;
  updateRun(runId: string, update: RunUpdate): Promise<RunInfo>;
  getRun(runId: string): Promise<Run>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  searchRuns(query: RunQuery): Promise<Page<Run>>;
  logBatch(runId: string, batch: Batch): Promise<void>;
  /**
   * Optional single-entity writes. A store that has dedicated endpoints for them (the REST
   * store: log-metric, log-parameter, set-tag) provides them; otherwise the client uses logBatch.
   */
  logMetric?(runId: string, metric: Metric): Promise<void>;
  logParam?(runId: string, param: Param): Promise<void>;
  setTag?(runId: string, tag: Tag): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  /** Records datasets as the run's inputs (`runs/log-inputs`); the same dataset twice is kept once. */
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void>;
  /** Every point of one metric, in logging order; `maxResults` is the page size on the wire. */
  getMetricHistory(runId: string, key: string, opts?: { maxResults?: number }): Promise<Metric[]>;

  // Artifacts (paths are relative to the run's artifact root, `/`-separated)
  logArtifact(runId: string, artifactPath: string, data: Uint8Array | string): Promise<void>;
  listArtifacts(runId: string, path?: string): Promise<FileInfo[]>;
  downloadArtifact(runId: string, path: string): Promise<Uint8Array>;

  // Model registry
  createRegisteredModel(name: string, opts?: { description?: string; tags?: Tag[] }): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  searchRegisteredModels(query: {
    filter?: string;
    maxResults?: number;
    orderBy?: string[];
    pageToken?: string;
  }): Promise<Page<RegisteredModel>>;
  setRegisteredModelTag(name: string, tag: Tag): Promise<void>;
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel>;
  createModelVersion(args: { name: string; source: string; runId?: string; description?: string; tags?: Tag[] }): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  searchModelVersions(query: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string }): Promise<Page<ModelVersion>>;
  setModelVersionTag(name: string, version: string, tag: Tag): Promise<void>;
  setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void>;
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;

  /** Release sockets, timers and locks. */
  close(): Promise<void>;
}
