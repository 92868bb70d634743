// TrackingStore over MLflow's REST API (an MLflow tracking server or Databricks). Requests
// have the exact shape MLflow's own client sends (see test/fixtures/mlflow-wire): JSON bodies
// with only the fields that were set, GET parameters in the query string, max_results on every
// paginated call (MLflow's client defaults when the caller gives none), the alias DELETE with a
// JSON body. Every call goes through `request`, so an endpoint the server lacks is reported
// once, naming the server's version and the call.

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
} from "../entities.js";
import { MlflowError } from "../errors.js";
import { DEFAULT_SEARCH_MAX_RESULTS, METRIC_HISTORY_PAGE_SIZE } from "../limits.js";
import type { TrackingStore } from "../store.js";
import { artifactRepository, type ArtifactRepository } from "./artifacts.js";
import { checkArtifactPath } from "../validation.js";
import { MODEL_VERSIONS_PAGE_SIZE, REGISTERED_MODELS_PAGE_SIZE, RUNS_PAGE_SIZE, collectPages } from "./paging.js";
import { HttpClient, errorFromResponse, type HttpOptions, type HttpRequest } from "./http.js";
import {
  compact,
  datasetInputToWire,
  metricToWire,
  parseExperiment,
  parseFileInfo,
  parseMetric,
  parseModelVersion,
  parseRegisteredModel,
  parseRun,
  parseRunInfo,
  tagsToWire,
} from "./wire.js";

type Json = Record<string, any>;
const API = "/api/2.0/mlflow";

/** Databricks Unity Catalog's registry (registry URI `databricks-uc`): same calls under another prefix. */
export const UNITY_CATALOG_REGISTRY_API = "/api/2.0/mlflow/unity-catalog";

export interface RestStoreOptions extends HttpOptions {
  /** The URI the store was opened with (defaults to baseUrl). */
  uri?: string;
  /** API prefix of the model registry; default `/api/2.0/mlflow`. */
  registryApi?: string;
}

export class RestStore implements TrackingStore {
  readonly uri: string;
  /** The transport, for raw calls (health checks, protocol tests). */
  readonly http: HttpClient;
  // Artifact roots seen in run answers, so an upload needs no extra runs/get.
  private readonly artifactRoots = new Map<string, string>();
  /** API prefix of the model registry (Unity Catalog's for `databricks-uc`). */
  readonly registryApi: string;

  constructor(options: RestStoreOptions) {
    this.http = new HttpClient(options);
    this.uri = options.uri ?? this.http.baseUrl;
    this.registryApi = options.registryApi ?? API;
  }

  /**
   * One API call, answered with its parsed JSON. An endpoint this server does not have
   * (Flask's HTML 404 or 405, e.g. a 3.x-only call on a 2.x server) becomes an error that
   * names the server's version and the call: the transport alone cannot tell a missing
   * endpoint from a wrong tracking URI. Also for calls this class has no method for.
   */
  async request<T = Json>(req: HttpRequest): Promise<T> {
    try {
      return await this.http.json<T>(req);
    } catch (err) {
      throw await this.explainMissingEndpoint(`${req.method} ${new URL(this.http.urlFor(req.path)).pathname}`, err);
    }
  }

  /** `call` names what was asked, e.g. `POST /api/2.0/mlflow/runs/outputs`. */
  private async explainMissingEndpoint(call: string, err: unknown): Promise<unknown> {
    if (!(err instanceof MlflowError) || (err.code !== "ENDPOINT_NOT_FOUND" && err.code !== "METHOD_NOT_ALLOWED")) return err;
    const server = await this.describeServer();
    const message =
      err.code === "ENDPOINT_NOT_FOUND"
        ? `${server} has no endpoint for ${call} (HTTP ${err.httpStatus}): this server's MLflow version may not have this API (MLflow 3 added some), or the tracking URI is not the server's root.`
        : `${server} does not accept ${call} (HTTP ${err.httpStatus}): the endpoint exists for other methods only.`;
    return new MlflowError(err.code, message, err.httpStatus, { cause: err });
  }

  private post(path: string, body: Json, api = API): Promise<Json> {
    return this.request({ method: "POST", path: api + path, json: body });
  }
  private get(path: string, query: HttpRequest["query"], api = API): Promise<Json> {
    return this.request({ method: "GET", path: api + path, query });
  }
  private remember<T extends RunInfo>(info: T): T {
    if (info.artifactUri) this.artifactRoots.set(info.runId, info.artifactUri);
    return info;
  }
  private rememberRun(run: Run): Run {
    this.remember(run.info);
    return run;
  }

  // ---- Experiments

  async createExperiment(name: string, tags?: Tag[], artifactLocation?: string): Promise<string> {
    const res = await this.post("/experiments/create", compact({ name, artifact_location: artifactLocation, tags: tagsToWire(tags) }));
    return String(res.experiment_id);
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return parseExperiment((await this.get("/experiments/get", { experiment_id: experimentId })).experiment ?? {});
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      return parseExperiment((await this.get("/experiments/get-by-name", { experiment_name: name })).experiment ?? {});
    } catch (err) {
      if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw err;
    }
  }

  async searchExperiments(q: ExperimentQuery): Promise<Page<Experiment>> {
    // The server reads a missing max_results as 0 and refuses it (fixture 011).
    const res = await this.post(
      "/experiments/search",
      compact({
        filter: q.filter,
        max_results: q.maxResults ?? DEFAULT_SEARCH_MAX_RESULTS,
        order_by: q.orderBy,
        page_token: q.pageToken,
        view_type: q.viewType,
      }),
    );
    return page((res.experiments ?? []).map(parseExperiment), res.next_page_token);
  }

  async setExperimentTag(experimentId: string, tag: Tag): Promise<void> {
    await this.post("/experiments/set-experiment-tag", { experiment_id: experimentId, key: tag.key, value: tag.value });
  }
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.post("/experiments/delete", { experiment_id: experimentId });
  }
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.post("/experiments/restore", { experiment_id: experimentId });
  }

  // ---- Runs

  async createRun(args: CreateRun): Promise<Run> {
    const res = await this.post(
      "/runs/create",
      compact({
        experiment_id: args.experimentId,
        start_time: args.startTime ?? Date.now(),
        run_name: args.runName,
        tags: tagsToWire(args.tags),
        user_id: args.userId,
      }),
    );
    return this.rememberRun(parseRun(res.run ?? {}));
  }

  async updateRun(runId: string, update: RunUpdate): Promise<RunInfo> {
    const res = await this.post(
      "/runs/update",
      compact({
        run_id: runId,
        status: update.status,
        end_time: update.endTime,
        run_name: update.runName,
      }),
    );
    return this.remember(parseRunInfo(res.run_info ?? {}));
  }

  async getRun(runId: string): Promise<Run> {
    return this.rememberRun(parseRun((await this.get("/runs/get", { run_id: runId })).run ?? {}));
  }

  async deleteRun(runId: string): Promise<void> {
    await this.post("/runs/delete", { run_id: runId });
  }
  async restoreRun(runId: string): Promise<void> {
    await this.post("/runs/restore", { run_id: runId });
  }

  async searchRuns(q: RunQuery): Promise<Page<Run>> {
    const res = await this.post(
      "/runs/search",
      compact({
        experiment_ids: q.experimentIds,
        filter: q.filter,
        run_view_type: q.runViewType,
        max_results: q.maxResults ?? RUNS_PAGE_SIZE,
        order_by: q.orderBy,
        page_token: q.pageToken,
      }),
    );
    return page(
      (res.runs ?? []).map((r: Json) => this.rememberRun(parseRun(r))),
      res.next_page_token,
    );
  }

  async logBatch(runId: string, batch: Batch): Promise<void> {
    // The server refuses a batch naming one param twice, even with the same value (fixture 057).
    const params = dedupeParams(batch.params);
    // metricToWire already spells non-finite values as MLflow's strings, so the plain
    // JSON.stringify is exact here, and about twice as fast as a replacer on 1,000 metrics.
    await this.request({
      method: "POST",
      path: API + "/runs/log-batch",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(
        compact({
          run_id: runId,
          metrics: batch.metrics?.length ? batch.metrics.map(metricToWire) : undefined,
          params: params?.length ? params : undefined,
          tags: tagsToWire(batch.tags),
        }),
      ),
    });
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.post("/runs/log-inputs", { run_id: runId, datasets: datasets.map(datasetInputToWire) });
  }

  async logMetric(runId: string, metric: Metric): Promise<void> {
    await this.post("/runs/log-metric", { run_id: runId, ...metricToWire(metric) });
  }
  async logParam(runId: string, param: Param): Promise<void> {
    await this.post("/runs/log-parameter", { run_id: runId, key: param.key, value: param.value });
  }
  async setTag(runId: string, tag: Tag): Promise<void> {
    await this.post("/runs/set-tag", { run_id: runId, key: tag.key, value: tag.value });
  }
  async deleteTag(runId: string, key: string): Promise<void> {
    await this.post("/runs/delete-tag", { run_id: runId, key });
  }

  async getMetricHistory(runId: string, key: string, opts: { maxResults?: number } = {}): Promise<Metric[]> {
    // 3.x pages this call and, without max_results, answers a token it then refuses
    // (3.4 fixtures 066, 124); 2.x ignores max_results and sends everything at once.
    const maxResults = opts.maxResults ?? METRIC_HISTORY_PAGE_SIZE;
    return collectPages(
      `GET metrics/get-history (run ${runId}, key ${JSON.stringify(key)})`,
      async (pageToken) => {
        const res = await this.get("/metrics/get-history", {
          run_id: runId,
          metric_key: key,
          max_results: maxResults,
          page_token: pageToken,
        });
        // An unknown key, or even an unknown run, answers 200 `{}` (fixtures 071, 072).
        return { items: (res.metrics ?? []).map(parseMetric), nextPageToken: res.next_page_token };
      },
      () => this.describeServer(),
    );
  }

  // ---- Artifacts

  /** The repository holding a run's artifacts, from its artifact URI. */
  async artifactRepository(runId: string): Promise<ArtifactRepository> {
    let root = this.artifactRoots.get(runId);
    if (!root) root = (await this.getRun(runId)).info.artifactUri;
    return artifactRepository(root, this.http);
  }

  async logArtifact(runId: string, artifactPath: string, data: Uint8Array | string): Promise<void> {
    const repo = await this.artifactRepository(runId);
    await repo.put(artifactPath, data).catch(async (err) => {
      throw await this.explainMissingEndpoint(`PUT of artifact ${JSON.stringify(artifactPath)} under ${repo.rootUri}`, err);
    });
  }

  async listArtifacts(runId: string, path?: string): Promise<FileInfo[]> {
    const p = path === undefined ? undefined : checkArtifactPath(path, true) || undefined;
    const repo = await this.artifactRepository(runId);
    if (repo.list) return repo.list(p);
    return collectPages(
      `GET artifacts/list (run ${runId})`,
      async (pageToken) => {
        const res = await this.get("/artifacts/list", { run_id: runId, path: p, page_token: pageToken });
        // A missing path answers only `root_uri` (fixture 092).
        return { items: (res.files ?? []).map(parseFileInfo), nextPageToken: res.next_page_token };
      },
      () => this.describeServer(),
    );
  }

  async downloadArtifact(runId: string, path: string): Promise<Uint8Array> {
    const repo = await this.artifactRepository(runId);
    return repo.get(path).catch(async (err) => {
      // MLflow 3.4 under uvicorn stores and lists such a file but fails on the header naming it.
      if (err instanceof MlflowError && err.httpStatus === 500 && /[^\x00-\x7f]/.test(path))
        throw new MlflowError(
          err.code,
          `${await this.describeServer()} failed (HTTP 500) to send artifact ${JSON.stringify(path)}: either it does not exist, or the server cannot send a file whose name is not ASCII (MLflow 3.4 under uvicorn fails so, though it stores and lists such files). ${err.message}`,
          err.httpStatus,
          { cause: err },
        );
      throw await this.explainMissingEndpoint(`GET of artifact ${JSON.stringify(path)} under ${repo.rootUri}`, err);
    });
  }

  // ---- Model registry (names may be three-level on Databricks: catalog.schema.model)

  async createRegisteredModel(name: string, opts: { description?: string; tags?: Tag[] } = {}): Promise<RegisteredModel> {
    const res = await this.post(
      "/registered-models/create",
      compact({ name, description: opts.description, tags: tagsToWire(opts.tags) }),
      this.registryApi,
    );
    return parseRegisteredModel(res.registered_model ?? {});
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return parseRegisteredModel((await this.get("/registered-models/get", { name }, this.registryApi)).registered_model ?? {});
  }

  async searchRegisteredModels(
    q: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string } = {},
  ): Promise<Page<RegisteredModel>> {
    const res = await this.get(
      "/registered-models/search",
      {
        filter: q.filter,
        max_results: q.maxResults ?? REGISTERED_MODELS_PAGE_SIZE,
        order_by: q.orderBy,
        page_token: q.pageToken,
      },
      this.registryApi,
    );
    return page((res.registered_models ?? []).map(parseRegisteredModel), res.next_page_token);
  }

  async setRegisteredModelTag(name: string, tag: Tag): Promise<void> {
    await this.post("/registered-models/set-tag", { name, key: tag.key, value: tag.value }, this.registryApi);
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    const res = await this.request({ method: "PATCH", path: this.registryApi + "/registered-models/update", json: { name, description } });
    return parseRegisteredModel(res.registered_model ?? {});
  }

  async createModelVersion(args: {
    name: string;
    source: string;
    runId?: string;
    description?: string;
    tags?: Tag[];
  }): Promise<ModelVersion> {
    const res = await this.post(
      "/model-versions/create",
      compact({
        name: args.name,
        source: args.source,
        run_id: args.runId,
        description: args.description,
        tags: tagsToWire(args.tags),
      }),
      this.registryApi,
    );
    return parseModelVersion(res.model_version ?? {});
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return parseModelVersion((await this.get("/model-versions/get", { name, version }, this.registryApi)).model_version ?? {});
  }

  async searchModelVersions(
    q: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string } = {},
  ): Promise<Page<ModelVersion>> {
    const res = await this.get(
      "/model-versions/search",
      {
        filter: q.filter,
        max_results: q.maxResults ?? MODEL_VERSIONS_PAGE_SIZE,
        order_by: q.orderBy,
        page_token: q.pageToken,
      },
      this.registryApi,
    );
    return page((res.model_versions ?? []).map(parseModelVersion), res.next_page_token);
  }

  async setModelVersionTag(name: string, version: string, tag: Tag): Promise<void> {
    await this.post("/model-versions/set-tag", { name, version, key: tag.key, value: tag.value }, this.registryApi);
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await this.post("/registered-models/alias", { name, alias, version }, this.registryApi);
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    // Only GET reads the query string: a DELETE must carry its fields as JSON (fixtures 113, 114).
    await this.request({ method: "DELETE", path: this.registryApi + "/registered-models/alias", json: { name, alias } });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return parseModelVersion((await this.get("/registered-models/alias", { name, alias }, this.registryApi)).model_version ?? {});
  }

  // ---- Server

  /** `GET /health`: true when the server answers `OK`. */
  async health(): Promise<boolean> {
    const res = await this.http.send({ method: "GET", path: "/health", retry: "none" });
    return res.status === 200 && res.body.toString("utf8").trim() === "OK";
  }

  /** "MLflow 3.4.1 at http://host:5000", for errors about the server's own answers. */
  async describeServer(): Promise<string> {
    if (this.serverDescription) return this.serverDescription;
    const version = await this.serverVersion().catch(() => undefined);
    const description = `MLflow ${version ?? "(version unknown)"} at ${this.http.baseUrl}`;
    // An unknown version may be a passing failure: ask again next time.
    if (version !== undefined) this.serverDescription = description;
    return description;
  }
  private serverDescription?: string;

  /** `GET /version`: the server's MLflow version. */
  async serverVersion(): Promise<string> {
    const res = await this.http.send({ method: "GET", path: "/version" });
    if (res.status >= 400) throw errorFromResponse("GET", res);
    return res.body.toString("utf8").trim();
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

const page = <T>(items: T[], token: unknown): Page<T> =>
  typeof token === "string" && token !== "" ? { items, nextPageToken: token } : { items };

function dedupeParams(params: Param[] | undefined): Param[] | undefined {
  if (!params) return undefined;
  const seen = new Set<string>();
  return params
    .filter((p) => {
      const id = `${p.key}\u0000${p.value}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .map((p) => ({ key: p.key, value: p.value }));
}
