// A tracking store on MLflow's own FileStore layout (`./mlruns`), readable by `mlflow ui`
// and by MLflow's 2.x and 3.x Python clients, and able to read trees either wrote (even after a move).
// Each concern lives in its own module; this class only routes the TrackingStore calls.

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
  RegisteredModel,
  Run,
  RunInfo,
  RunQuery,
  RunUpdate,
  Tag,
} from "../entities.js";
import { MlflowError, notFound } from "../errors.js";
import { searchExperimentList, searchRunList, type SearchArgs } from "../search/index.js";
import type { TrackingStore } from "../store.js";
import { Artifacts } from "./artifacts.js";
import { Experiments } from "./experiments.js";
import { Layout, rootPathFrom } from "./layout.js";
import { Registry } from "./registry.js";
import { Runs } from "./runs.js";

export interface FileStoreOptions {
  /** Told about damaged files that a listing or search skipped. Default: process.emitWarning. */
  onWarning?: (error: MlflowError) => void;
}

const defaultWarn = (e: MlflowError) => process.emitWarning(e.message, { code: e.code });

export class FileStore implements TrackingStore {
  readonly uri: string;
  /** Absolute path of the mlruns directory. */
  readonly root: string;
  private readonly experiments: Experiments;
  private readonly runs: Runs;
  private readonly artifacts: Artifacts;
  private readonly registry: Registry;

  constructor(rootPathOrFileUri: string, options: FileStoreOptions = {}) {
    this.root = rootPathFrom(rootPathOrFileUri);
    const layout = new Layout(this.root);
    this.uri = layout.rootUri;
    const warn = options.onWarning ?? defaultWarn;
    this.experiments = new Experiments(layout, warn);
    this.runs = new Runs(layout, this.experiments, warn);
    this.artifacts = new Artifacts(this.runs);
    this.registry = new Registry(layout, warn);
  }

  // ---- experiments -----------------------------------------------------------------------
  createExperiment(name: string, tags?: Tag[], artifactLocation?: string): Promise<string> {
    return this.experiments.create(name, tags, artifactLocation);
  }
  getExperiment(experimentId: string): Promise<Experiment> {
    return this.experiments.get(experimentId);
  }
  getExperimentByName(name: string): Promise<Experiment | undefined> {
    return this.experiments.getByName(name);
  }
  async searchExperiments(query: ExperimentQuery = {}): Promise<Page<Experiment>> {
    return searchExperimentList(await this.experiments.list(query.viewType ?? "ACTIVE_ONLY"), query);
  }
  async setExperimentTag(experimentId: string, tag: Tag): Promise<void> {
    await this.experiments.setTag(experimentId, tag);
  }
  deleteExperiment(experimentId: string): Promise<void> {
    return this.experiments.delete(experimentId, (dir, _id, time) => this.runs.markAll(dir, "deleted", time));
  }
  restoreExperiment(experimentId: string): Promise<void> {
    return this.experiments.restore(experimentId, (dir) => this.runs.markAll(dir, "active"));
  }

  // ---- runs ------------------------------------------------------------------------------
  async createRun(args: CreateRun): Promise<Run> {
    await this.experiments.ensureDefault();
    return this.runs.create(args);
  }
  updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    return this.runs.update(runId, update);
  }
  getRun(runId: string): Promise<Run> {
    return this.runs.get(runId);
  }
  deleteRun(runId: string): Promise<void> {
    return this.runs.setLifecycle(runId, "deleted");
  }
  restoreRun(runId: string): Promise<void> {
    return this.runs.setLifecycle(runId, "active");
  }

  async searchRuns(query: RunQuery): Promise<Page<Run>> {
    const all: Run[] = [];
    for (const id of query.experimentIds ?? []) {
      const found = await this.experiments.locate(String(id), false);
      if (!found) throw notFound(`Could not find experiment with ID ${id}`);
      all.push(...(await this.runs.listIn(found.dir, query.runViewType ?? "ACTIVE_ONLY")));
    }
    const args: SearchArgs = { filter: query.filter, orderBy: query.orderBy, maxResults: query.maxResults, pageToken: query.pageToken };
    return searchRunList(all, args);
  }

  logBatch(runId: string, batch: Batch): Promise<void> {
    return this.runs.logBatch(runId, batch);
  }
  deleteTag(runId: string, key: string): Promise<void> {
    return this.runs.deleteTag(runId, key);
  }
  /** `<exp>/datasets/` + `<run>/inputs/`, as MLflow's FileStore lays them out; the same dataset twice is kept once. */
  logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    return this.runs.logInputs(runId, datasets);
  }
  /** Every point in logging order; like MLflow, `maxResults` is accepted and ignored. */
  getMetricHistory(runId: string, key: string, _opts?: { maxResults?: number }): Promise<Metric[]> {
    return this.runs.metricHistory(runId, key);
  }

  // ---- artifacts -------------------------------------------------------------------------
  logArtifact(runId: string, artifactPath: string, data: Uint8Array | string): Promise<void> {
    return this.artifacts.log(runId, artifactPath, data);
  }
  listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return this.artifacts.list(runId, path);
  }
  downloadArtifact(runId: string, path: string): Promise<Uint8Array> {
    return this.artifacts.download(runId, path);
  }

  // ---- model registry --------------------------------------------------------------------
  createRegisteredModel(name: string, opts?: { description?: string; tags?: Tag[] }): Promise<RegisteredModel> {
    return this.registry.create(name, opts);
  }
  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.registry.get(name);
  }
  searchRegisteredModels(query: SearchArgs = {}): Promise<Page<RegisteredModel>> {
    return this.registry.search(query);
  }
  setRegisteredModelTag(name: string, tag: Tag): Promise<void> {
    return this.registry.setTag(name, tag);
  }
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return this.registry.update(name, description);
  }
  createModelVersion(args: { name: string; source: string; runId?: string; description?: string; tags?: Tag[] }): Promise<ModelVersion> {
    return this.registry.createVersion(args);
  }
  getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return this.registry.getVersion(name, version);
  }
  searchModelVersions(query: SearchArgs = {}): Promise<Page<ModelVersion>> {
    return this.registry.searchVersions(query);
  }
  setModelVersionTag(name: string, version: string, tag: Tag): Promise<void> {
    return this.registry.setVersionTag(name, version, tag);
  }
  setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    return this.registry.setAlias(name, alias, version);
  }
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    return this.registry.deleteAlias(name, alias);
  }
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.registry.getByAlias(name, alias);
  }

  /** Nothing to release: every operation opens and closes its own files. */
  async close(): Promise<void> {}

  /** The on-disk directory of a run (for tools that copy or export runs). */
  runDirectory(runId: string): Promise<string> {
    return this.runs.locate(runId);
  }
}

export { formatPyFloat, parsePyFloat } from "./pyfloat.js";
