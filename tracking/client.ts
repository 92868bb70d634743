// MlflowClient: the tracking API for notebooks and plain scripts, over any TrackingStore.
// It validates input at the call (before anything is sent), splits batches to MLflow's
// limits, pages through searches, and moves artifacts between local files and the store.

import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import type {
  Batch,
  Dataset,
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
  RunStatus,
  RunUpdate,
  Tag,
} from "./entities.js";
import { toDatasetInput, type DatasetDescriptor } from "./datasets.js";
import { isRunStatus } from "./entities.js";
import { MlflowError, invalidParameter } from "./errors.js";
import { MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_RUN_NAME_LENGTH, MAX_TAGS_PER_BATCH } from "./limits.js";
import { parseModelUri, resolveModelUri, type ResolvedModel } from "./model-uri.js";
import type { TrackingStore } from "./store.js";
import { getOrCreateExperiment, openStore, resolveExperiment } from "./open-store.js";
import { checkArtifactPath, validateBatch, validateMetric, validateParam, validateParamsConsistent, validateTag } from "./validation.js";

/** Tags as a list or as a plain `{key: value}` object. */
export type TagsInput = Tag[] | Record<string, string>;
type Env = Record<string, string | undefined>;

export const toTags = (tags: TagsInput | undefined): Tag[] | undefined =>
  tags === undefined ? undefined : Array.isArray(tags) ? tags : Object.entries(tags).map(([key, value]) => ({ key, value: String(value) }));

// MLflow's own run id rule (`_validate_run_id`).
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
function checkRunId(runId: unknown): asserts runId is string {
  if (typeof runId !== "string" || !RUN_ID.test(runId))
    throw invalidParameter(
      `Invalid run id ${JSON.stringify(runId)}: a run id is letters, digits, '_' and '-' (32 hex characters for MLflow runs).`,
    );
}

/** Splits a batch into requests within MLflow's per-request limits (params and tags first). */
export function splitBatch(batch: Batch): Batch[] {
  const metrics = batch.metrics ?? [],
    params = batch.params ?? [],
    tags = batch.tags ?? [];
  const out: Batch[] = [];
  let m = 0,
    p = 0,
    t = 0;
  while (m < metrics.length || p < params.length || t < tags.length || out.length === 0) {
    const ps = params.slice(p, p + MAX_PARAMS_PER_BATCH);
    const ts = tags.slice(t, t + MAX_TAGS_PER_BATCH);
    const room = Math.min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - ps.length - ts.length);
    const ms = metrics.slice(m, m + room);
    p += ps.length;
    t += ts.length;
    m += ms.length;
    const chunk: Batch = {};
    if (ms.length) chunk.metrics = ms;
    if (ps.length) chunk.params = ps;
    if (ts.length) chunk.tags = ts;
    out.push(chunk);
    if (!ms.length && !ps.length && !ts.length) break;
  }
  return out;
}

export class MlflowClient {
  readonly store: TrackingStore;

  /** From a store, or a tracking URI (default: MLFLOW_TRACKING_URI, else ./mlruns). */
  constructor(
    storeOrUri?: TrackingStore | string,
    private readonly env: Env = process.env,
  ) {
    this.store = typeof storeOrUri === "object" ? storeOrUri : openStore(storeOrUri, env);
  }

  get trackingUri(): string {
    return this.store.uri;
  }

  // ---- Experiments

  createExperiment(name: string, opts: { tags?: TagsInput; artifactLocation?: string } = {}): Promise<string> {
    if (typeof name !== "string" || name.trim() === "")
      throw invalidParameter(`Invalid experiment name ${JSON.stringify(name)}: a name must be a non-empty string.`);
    const tags = toTags(opts.tags);
    tags?.forEach(validateTag);
    return this.store.createExperiment(name, tags, opts.artifactLocation);
  }
  getExperiment(experimentId: string): Promise<Experiment> {
    return this.store.getExperiment(experimentId);
  }
  getExperimentByName(name: string): Promise<Experiment | undefined> {
    return this.store.getExperimentByName(name);
  }
  getOrCreateExperiment(name: string, tags?: TagsInput): Promise<Experiment> {
    return getOrCreateExperiment(this.store, name, toTags(tags));
  }
  /** The experiment MLflow would use: explicit id/name, else MLFLOW_EXPERIMENT_ID/NAME, else "0". */
  resolveExperiment(opts: { experimentId?: string; experimentName?: string } = {}): Promise<Experiment> {
    return resolveExperiment(this.store, opts, this.env);
  }
  searchExperiments(query: ExperimentQuery = {}): Promise<Page<Experiment>> {
    return this.store.searchExperiments(query);
  }
  /** Every experiment matching the query, across all pages. */
  async *iterateExperiments(query: ExperimentQuery = {}): AsyncGenerator<Experiment> {
    yield* pages((pageToken) => this.store.searchExperiments({ ...query, pageToken }), query.pageToken);
  }
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    const tag = { key, value: String(value) };
    validateTag(tag);
    return this.store.setExperimentTag(experimentId, tag);
  }
  deleteExperiment(experimentId: string): Promise<void> {
    return this.store.deleteExperiment(experimentId);
  }
  restoreExperiment(experimentId: string): Promise<void> {
    return this.store.restoreExperiment(experimentId);
  }

  // ---- Runs

  async createRun(
    experimentId: string,
    opts: { runName?: string; tags?: TagsInput; startTime?: number; userId?: string } = {},
  ): Promise<Run> {
    const tags = toTags(opts.tags);
    tags?.forEach(validateTag);
    checkRunName(opts.runName);
    checkMillis("start time", opts.startTime);
    return this.store.createRun({
      experimentId: String(experimentId),
      runName: opts.runName,
      tags,
      startTime: opts.startTime ?? Date.now(),
      userId: opts.userId,
    });
  }
  async updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    checkRunId(runId);
    if (update.status !== undefined && !isRunStatus(update.status))
      throw invalidParameter(`Invalid run status ${JSON.stringify(update.status)}: use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.`);
    checkRunName(update.runName);
    checkMillis("end time", update.endTime);
    return this.store.updateRun(runId, update);
  }
  /** Ends a run: status (default FINISHED) and end time (default now). */
  setTerminated(runId: string, status: RunStatus = "FINISHED", endTime = Date.now()): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime });
  }
  async getRun(runId: string): Promise<Run> {
    checkRunId(runId);
    return this.store.getRun(runId);
  }
  async deleteRun(runId: string): Promise<void> {
    checkRunId(runId);
    return this.store.deleteRun(runId);
  }
  async restoreRun(runId: string): Promise<void> {
    checkRunId(runId);
    return this.store.restoreRun(runId);
  }
  searchRuns(query: RunQuery): Promise<Page<Run>> {
    return this.store.searchRuns(query);
  }
  /** Every run matching the query, across all pages. */
  async *iterateRuns(query: RunQuery): AsyncGenerator<Run> {
    yield* pages((pageToken) => this.store.searchRuns({ ...query, pageToken }), query.pageToken);
  }

  /** Validates everything first, then sends the batch in requests within MLflow's limits. */
  async logBatch(runId: string, batch: Batch): Promise<void> {
    checkRunId(runId);
    const metrics = batch.metrics ?? [],
      params = batch.params ?? [],
      tags = batch.tags ?? [];
    metrics.forEach(validateMetric);
    params.forEach(validateParam);
    tags.forEach(validateTag);
    validateParamsConsistent(params);
    for (const chunk of splitBatch({ metrics, params, tags })) {
      validateBatch(chunk);
      await this.store.logBatch(runId, chunk);
    }
  }

  async logMetric(runId: string, key: string, value: number, opts: { step?: number; timestamp?: number } = {}): Promise<void> {
    checkRunId(runId);
    const metric: Metric = { key, value, timestamp: opts.timestamp ?? Date.now(), step: opts.step ?? 0 };
    validateMetric(metric);
    await (this.store.logMetric ? this.store.logMetric(runId, metric) : this.store.logBatch(runId, { metrics: [metric] }));
  }
  logMetrics(runId: string, values: Record<string, number>, opts: { step?: number; timestamp?: number } = {}): Promise<void> {
    const timestamp = opts.timestamp ?? Date.now();
    return this.logBatch(runId, {
      metrics: Object.entries(values).map(([key, value]) => ({ key, value, timestamp, step: opts.step ?? 0 })),
    });
  }
  /** Logs a param (the value is stringified). Re-logging the same value is fine; a different one is INVALID_PARAMETER_VALUE. */
  async logParam(runId: string, key: string, value: unknown): Promise<void> {
    checkRunId(runId);
    const param: Param = { key, value: String(value) };
    validateParam(param);
    await (this.store.logParam ? this.store.logParam(runId, param) : this.store.logBatch(runId, { params: [param] }));
  }
  logParams(runId: string, values: Record<string, unknown>): Promise<void> {
    return this.logBatch(runId, { params: Object.entries(values).map(([key, value]) => ({ key, value: String(value) })) });
  }
  async setTag(runId: string, key: string, value: unknown): Promise<void> {
    checkRunId(runId);
    const tag: Tag = { key, value: String(value) };
    validateTag(tag);
    await (this.store.setTag ? this.store.setTag(runId, tag) : this.store.logBatch(runId, { tags: [tag] }));
  }
  setTags(runId: string, tags: TagsInput): Promise<void> {
    return this.logBatch(runId, { tags: toTags(tags) });
  }
  async deleteTag(runId: string, key: string): Promise<void> {
    checkRunId(runId);
    return this.store.deleteTag(runId, key);
  }
  /**
   * Records a dataset the run used (`mlflow.log_input`): from `datasetFromRecords` or given by
   * hand; `context` ("training", "eval", ...) goes into the `mlflow.data.context` tag.
   */
  async logInput(runId: string, dataset: Dataset | DatasetDescriptor, opts: { context?: string } = {}): Promise<void> {
    checkRunId(runId);
    await this.store.logInputs(runId, [toDatasetInput(dataset, opts.context)]);
  }
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    checkRunId(runId);
    return this.store.getMetricHistory(runId, key);
  }

  // ---- Artifacts

  /** Uploads one local file into the run, under `artifactDir` (default: the root). Returns its artifact path. */
  async logArtifact(runId: string, localPath: string, artifactDir?: string): Promise<string> {
    const target = joinArtifact(artifactDir, basename(localPath));
    await this.store.logArtifact(runId, target, await readLocal(localPath));
    return target;
  }
  /** Uploads a local directory tree into the run, under `artifactDir`. Returns the artifact paths written. */
  async logArtifacts(runId: string, localDir: string, artifactDir?: string): Promise<string[]> {
    const files = await walk(localDir).catch((err) => {
      throw localError(localDir, err, "a directory");
    });
    const written: string[] = [];
    // A few uploads at a time: enough to hide latency without flooding the server.
    const queue = [...files];
    const worker = async () => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        const rel = relative(localDir, f).split(sep).join("/");
        const target = joinArtifact(artifactDir, rel);
        await this.store.logArtifact(runId, target, await readLocal(f));
        written.push(target);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, files.length) }, worker));
    return written.sort();
  }
  logBytes(runId: string, data: Uint8Array, artifactFile: string): Promise<void> {
    return this.store.logArtifact(runId, checkArtifactPath(artifactFile), data);
  }
  logText(runId: string, text: string, artifactFile: string): Promise<void> {
    return this.store.logArtifact(runId, checkArtifactPath(artifactFile), text);
  }
  /** Writes a value as indented JSON. */
  logDict(runId: string, value: unknown, artifactFile: string): Promise<void> {
    return this.logText(runId, JSON.stringify(value, null, 2), artifactFile);
  }
  listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    return this.store.listArtifacts(runId, path === undefined ? undefined : checkArtifactPath(path, true));
  }
  downloadArtifact(runId: string, path: string): Promise<Uint8Array> {
    return this.store.downloadArtifact(runId, checkArtifactPath(path));
  }
  /** Downloads a file or a whole directory of the run into `dstDir`; returns the local path. */
  async downloadArtifacts(runId: string, path: string, dstDir: string): Promise<string> {
    const p = checkArtifactPath(path, true);
    const entries = await this.store.listArtifacts(runId, p || undefined);
    const local = join(dstDir, ...(p ? p.split("/") : []));
    if (p !== "" && entries.length === 0) {
      await mkdir(dirname(local), { recursive: true });
      await writeFile(local, await this.store.downloadArtifact(runId, p));
      return local;
    }
    await mkdir(local, { recursive: true });
    for (const e of entries) {
      if (e.isDir) await this.downloadArtifacts(runId, e.path, dstDir);
      else {
        const file = join(dstDir, ...e.path.split("/"));
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, await this.store.downloadArtifact(runId, e.path));
      }
    }
    return local;
  }

  // ---- Model registry

  createRegisteredModel(name: string, opts: { description?: string; tags?: TagsInput } = {}): Promise<RegisteredModel> {
    checkModelName(name);
    return this.store.createRegisteredModel(name, { description: opts.description, tags: toTags(opts.tags) });
  }
  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.store.getRegisteredModel(name);
  }
  searchRegisteredModels(
    query: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string } = {},
  ): Promise<Page<RegisteredModel>> {
    return this.store.searchRegisteredModels(query);
  }
  setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    return this.store.setRegisteredModelTag(name, { key, value: String(value) });
  }
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return this.store.updateRegisteredModel(name, description);
  }
  createModelVersion(
    name: string,
    source: string,
    opts: { runId?: string; description?: string; tags?: TagsInput } = {},
  ): Promise<ModelVersion> {
    checkModelName(name);
    return this.store.createModelVersion({ name, source, runId: opts.runId, description: opts.description, tags: toTags(opts.tags) });
  }
  /**
   * Registers the model at `modelUri` (`runs:/<run_id>/<path>` or an artifact URI) under
   * `name`, creating the registered model if needed, as `mlflow.register_model` does.
   */
  async registerModel(modelUri: string, name: string, opts: { description?: string; tags?: TagsInput } = {}): Promise<ModelVersion> {
    checkModelName(name);
    const runId = modelUri.startsWith("runs:/") ? (parseModelUri(modelUri) as { runId: string }).runId : undefined;
    try {
      await this.store.createRegisteredModel(name);
    } catch (err) {
      if (!(err instanceof MlflowError && err.code === "RESOURCE_ALREADY_EXISTS")) throw err;
    }
    return this.store.createModelVersion({ name, source: modelUri, runId, description: opts.description, tags: toTags(opts.tags) });
  }
  getModelVersion(name: string, version: string | number): Promise<ModelVersion> {
    return this.store.getModelVersion(name, String(version));
  }
  searchModelVersions(
    query: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string } = {},
  ): Promise<Page<ModelVersion>> {
    return this.store.searchModelVersions(query);
  }
  setModelVersionTag(name: string, version: string | number, key: string, value: string): Promise<void> {
    return this.store.setModelVersionTag(name, String(version), { key, value: String(value) });
  }
  setRegisteredModelAlias(name: string, alias: string, version: string | number): Promise<void> {
    return this.store.setRegisteredModelAlias(name, alias, String(version));
  }
  deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    return this.store.deleteRegisteredModelAlias(name, alias);
  }
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.store.getModelVersionByAlias(name, alias);
  }
  /** Resolves `runs:/`, `models:/name/version`, `models:/name@alias`, `models:/name/latest`. */
  resolveModelUri(uri: string): Promise<ResolvedModel> {
    return resolveModelUri(this.store, uri);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function checkRunName(name: unknown): void {
  if (name === undefined) return;
  if (typeof name !== "string" || name.length > MAX_RUN_NAME_LENGTH)
    throw invalidParameter(
      `Invalid run name ${JSON.stringify(name)}: a run name is a string of at most ${MAX_RUN_NAME_LENGTH} characters.`,
    );
}

function checkMillis(what: string, value: unknown): void {
  if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value >= 0))
    throw invalidParameter(`Invalid ${what} ${JSON.stringify(value)}: expected integer epoch milliseconds.`);
}

function checkModelName(name: unknown): asserts name is string {
  // Three-level Unity Catalog names (catalog.schema.model) are names like any other here.
  if (typeof name !== "string" || name.trim() === "" || name.includes("/") || name.includes("@"))
    throw invalidParameter(
      `Invalid registered model name ${JSON.stringify(name)}: a non-empty name without '/' or '@' (e.g. "my-model" or "catalog.schema.model").`,
    );
}

const joinArtifact = (dir: string | undefined, rel: string) => checkArtifactPath(dir ? `${checkArtifactPath(dir)}/${rel}` : rel);

function localError(path: string, err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return invalidParameter(`Cannot upload ${JSON.stringify(path)}: no such file or directory (expected ${what}).`);
  if (code === "EISDIR")
    return invalidParameter(`Cannot upload ${JSON.stringify(path)} as a file: it is a directory (use logArtifacts for directories).`);
  if (code === "ENOTDIR")
    return invalidParameter(`Cannot upload ${JSON.stringify(path)} as a directory: it is a file (use logArtifact for files).`);
  return err;
}

const readLocal = (path: string) =>
  readFile(path).catch((err) => {
    throw localError(path, err, "a file");
  });

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

async function* pages<T>(fetch: (token: string | undefined) => Promise<Page<T>>, first?: string): AsyncGenerator<T> {
  let token = first;
  do {
    const page = await fetch(token);
    yield* page.items;
    // Runs search hands out a token even when the next page is empty (fixtures 079, 080).
    token = page.items.length ? page.nextPageToken : undefined;
  } while (token);
}
