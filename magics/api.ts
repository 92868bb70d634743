// The `mlflow` object every cell sees, and its type declaration for the cell type-checker.
// Logging calls are synchronous and never wait on the store (the run's sink sends in the
// background); bad input throws at the call with a message naming the value.

import {
  datasetFromRecords,
  invokeServingEndpoint,
  MlflowError,
  type Dataset,
  type DatasetDescriptor,
  type MlflowClient,
  type Run,
  type RunStatus,
} from "../tracking/index.js";
import type { BatchPredictOptions, LogModelOptions, ModelInput } from "../models/index.js";
import type { ActiveRun } from "./active-run.js";
import { kernelDisplay, runBatchPredict } from "./magic-predict.js";
import { loadModels } from "./models-lazy.js";
import type { MlflowSession } from "./session.js";

type Scalar = string | number | boolean;

/** The statuses a run can be ended with: MLflow's run statuses but the open ones. */
type EndStatus = Exclude<RunStatus, "RUNNING" | "SCHEDULED">;

export interface RunHandle {
  runId: string;
  runName: string;
  experimentId: string;
  artifactUri: string;
  parentRunId?: string;
}

const handle = (r: ActiveRun): RunHandle => ({ ...r.info, ...(r.parentRunId ? { parentRunId: r.parentRunId } : {}) });

export function createMlflowApi(session: MlflowSession) {
  const run = (what: string): ActiveRun => {
    const r = session.activeRun();
    if (!r) throw new MlflowError("BAD_REQUEST", `mlflow.${what}: no active run. Use a %%mlflow_run cell or mlflow.startRun() first.`, 400);
    return r;
  };
  const store = () => session.tracking.store;
  const client = () => session.tracking.client;
  return {
    logParam: (key: string, value: Scalar) => run("logParam").logParam(key, value),
    logParams: (params: Record<string, Scalar>) => run("logParams").logParams(params),
    logMetric: (key: string, value: number, step?: number) => run("logMetric").logMetric(key, value, step),
    logMetrics: (metrics: Record<string, number>, step?: number) => run("logMetrics").logMetrics(metrics, step),
    setTag: (key: string, value: Scalar) => run("setTag").setTag(key, value),
    setTags: (tags: Record<string, Scalar>) => run("setTags").setTags(tags),
    logText: (text: string, artifactFile: string) => run("logText").logText(text, artifactFile),
    logDict: (value: unknown, artifactFile: string) => run("logDict").logDict(value, artifactFile),
    logArtifact: (localPath: string, artifactPath?: string) => run("logArtifact").logArtifact(localPath, artifactPath),
    logImage: (image: Uint8Array | string, artifactFile: string) => run("logImage").logImage(image, artifactFile),
    logChart: (spec: object, artifactFile?: string) => run("logChart").logChart(spec, artifactFile),
    /** Records a dataset the active run used; `context` is e.g. "training" or "eval". */
    logInput: async (dataset: Dataset | DatasetDescriptor, opts: { context?: string } = {}): Promise<void> => {
      const r = run("logInput");
      await client().logInput(r.info.runId, dataset, opts);
    },
    /** Dataset helpers, as `mlflow.data` in Python. */
    data: {
      /** Describes an array of records (name, digest, MLflow column schema, profile) for `logInput`. */
      fromRecords: (rows: readonly Record<string, unknown>[], opts?: { name?: string; source?: string; targets?: string }): Dataset =>
        datasetFromRecords(rows, opts),
    },
    activeRun: (): RunHandle | undefined => {
      const r = session.activeRun();
      return r ? handle(r) : undefined;
    },
    startRun: async (
      o: { runName?: string; experiment?: string; nested?: boolean; tags?: Record<string, Scalar>; description?: string } = {},
    ): Promise<RunHandle> => {
      const tags = Object.entries(o.tags ?? {}).map(([key, value]) => ({ key, value: String(value) }));
      return handle(await session.startRun({ ...o, tags }));
    },
    endRun: async (status: EndStatus = "FINISHED"): Promise<void> => {
      const r = session.activeRun();
      if (!r || !r.owned) throw new MlflowError("BAD_REQUEST", "mlflow.endRun: no run started with mlflow.startRun() is open.", 400);
      await session.endRun(status, r);
    },
    flush: async (): Promise<void> => {
      for (const r of session.stack) await r.flush();
    },
    setExperiment: async (name: string) => {
      const exp = await session.resolveExperiment(name);
      session.setExperiment(exp);
      return exp;
    },
    getRun: (runId: string): Promise<Run> => store().getRun(runId),
    searchRuns: async (o: { experiment?: string; filter?: string; orderBy?: string[]; maxResults?: number } = {}): Promise<Run[]> => {
      const exp = o.experiment ? await session.resolveExperiment(o.experiment, false) : await session.currentExperiment();
      const page = await store().searchRuns({
        experimentIds: [exp.experimentId],
        filter: o.filter,
        orderBy: o.orderBy,
        maxResults: o.maxResults ?? 1000,
      });
      return page.items;
    },
    getMetricHistory: (runId: string, key: string) => store().getMetricHistory(runId, key),
    /** Registers `runs:/<id>/<path>` (or any artifact URI) as a new version of `name`, creating the model if needed. */
    registerModel: (modelUri: string, name: string) => client().registerModel(modelUri, name),
    /** Points `alias` (e.g. "Champion", "Challenger") at a version of a registered model. */
    setAlias: (name: string, alias: string, version: string | number) => client().setRegisteredModelAlias(name, alias, version),
    deleteAlias: (name: string, alias: string) => client().deleteRegisteredModelAlias(name, alias),
    getModelVersionByAlias: (name: string, alias: string) => client().getModelVersionByAlias(name, alias),
    /**
     * Logs a model into the active run (a TensorFlow.js LayersModel, or the path of a .ts file whose
     * default export has predict): MLmodel, signature, input example, environment; registers it
     * as a new version of `registeredModelName` when given.
     */
    logModel: (model: ModelInput, options: LogModelOptions = {}) => {
      const r = run("logModel");
      return loadModels().then((m) => m.logModel(client(), r.info.runId, model, options));
    },
    /** Loads `runs:/`, `models:/name/version`, `models:/name@alias`, `models:/<model_id>` or a local folder (downloaded once into the cache). */
    loadModel: async (uri: string) => {
      const m = await loadModels();
      return m.loadModel(client(), uri, { cacheDir: m.defaultModelCache(session.env) });
    },
    /** Where a `runs:/`, `models:/name/version` or `models:/name@alias` URI points. */
    resolveModelUri: (uri: string) => client().resolveModelUri(uri),
    /**
     * Batch inference: the model over a file (.csv, .jsonl, .parquet) or records, predictions written
     * beside the input columns (Parquet, or CSV by `output`'s extension), logged into the active run.
     */
    batchPredict: (modelUri: string, input: string | readonly Record<string, unknown>[], options: BatchPredictOptions = {}) =>
      runBatchPredict(session, modelUri, input, options, kernelDisplay()),
    /** POSTs a payload to a model-serving endpoint (`mlflow models serve`, Databricks) and returns its JSON answer. */
    predict: (endpointUrl: string, payload: unknown) => invokeServingEndpoint(endpointUrl, payload, { env: session.env }),
    get trackingUri(): string {
      return session.tracking.uri;
    },
    /** The full tracking client (experiments, runs, artifacts, registry). */
    get client(): MlflowClient {
      return session.tracking.client;
    },
  };
}

export type MlflowApi = ReturnType<typeof createMlflowApi>;

/** What cells are type-checked against. Kept by hand beside the object above. */
export const MLFLOW_DECLARATION = `
interface MlflowRunHandle { runId: string; runName: string; experimentId: string; artifactUri: string; parentRunId?: string }
interface MlflowMetric { key: string; value: number; timestamp: number; step: number }
interface MlflowRunRecord {
  info: { runId: string; experimentId: string; runName: string; userId: string; status: "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED"; startTime: number; endTime?: number; artifactUri: string; lifecycleStage: string };
  data: { metrics: MlflowMetric[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] };
  inputs?: { datasetInputs: { dataset: MlflowDataset; tags: { key: string; value: string }[] }[] };
}
interface MlflowModelVersion { name: string; version: string; source: string; runId?: string; status?: string; aliases: string[]; tags: { key: string; value: string }[] }
interface MlflowModelInfo { modelUri: string; runId: string; artifactPath: string; modelId?: string; registeredModelVersion?: string; signature?: any }
interface MlflowLogModelOptions {
  /** Artifact path in the run (default "model"). */
  name?: string;
  /** MLflow's specs: { inputs: [{ type: "double", name: "x" }], outputs: [{ type: "double" }] }; inferred from inputExample when absent. */
  signature?: { inputs?: any; outputs?: any };
  inputExample?: unknown;
  /** Files or folders the model's loadContext receives, by name. */
  artifacts?: Record<string, string>;
  registeredModelName?: string;
  metadata?: Record<string, unknown>;
}
interface MlflowLoadedModel {
  predict(input: any, params?: Record<string, unknown>): Promise<any>;
  metadata: { path: string; flavor: string; signature?: any; runId?: string; modelId?: string; modelUuid: string; artifactPath?: string; inputExample(): Promise<unknown> };
}
interface MlflowBatchPredictOptions {
  /** .parquet (default) or .csv; default: predictions.parquet in a new temporary folder. */
  output?: string;
  /** Input columns kept in the output (default all). */
  columns?: string[];
  /** Rows per predict call and Parquet row group (default 10000). */
  batchSize?: number;
  /** Leave out rows the signature refuses and report them in badRows. */
  skipBadRows?: boolean;
  params?: Record<string, unknown>;
}
interface MlflowBatchPredictResult {
  output: string; rows: number; batches: number; columns: string[]; preview: Record<string, unknown>[];
  badRows: { row: number; message: string }[]; elapsedMs: number; modelUri: string; modelVersion?: string; runId?: string;
}
interface MlflowDataset { name: string; digest: string; sourceType: string; source: string; schema?: string; profile?: string }
interface MlflowApi {
  /** Logs a parameter of the active run (stringified). Re-logging the same value is fine; a different one is an error. */
  logParam(key: string, value: string | number | boolean): void;
  /** Logs several parameters of the active run at once. */
  logParams(params: Record<string, string | number | boolean>): void;
  /** Logs one point of a metric (step defaults to 0); returns at once, delivery happens in the background. */
  logMetric(key: string, value: number, step?: number): void;
  /** Logs one point of each metric at the same step. */
  logMetrics(metrics: Record<string, number>, step?: number): void;
  /** Sets a tag on the active run. */
  setTag(key: string, value: string | number | boolean): void;
  /** Sets several tags on the active run. */
  setTags(tags: Record<string, string | number | boolean>): void;
  /** Saves text as an artifact file of the active run (e.g. "notes/summary.md"). */
  logText(text: string, artifactFile: string): Promise<void>;
  /** Saves a value as a JSON artifact file of the active run. */
  logDict(value: unknown, artifactFile: string): Promise<void>;
  /** Uploads a local file or folder as artifacts of the active run, under artifactPath. */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  /** Saves an image (bytes, base64 text or a data URI) as an artifact file of the active run. */
  logImage(image: Uint8Array | string, artifactFile: string): Promise<void>;
  /** Saves a Vega-Lite spec as an artifact (.vl.json, with an SVG beside it). */
  logChart(spec: object, artifactFile?: string): Promise<void>;
  /** Records a dataset the active run used (from mlflow.data.fromRecords, or { name, digest?, source?, schema?, profile? }). */
  logInput(dataset: MlflowDataset | { name: string; digest?: string; source?: string; sourceType?: string; schema?: string | object; profile?: string | object }, options?: { context?: string }): Promise<void>;
  /** Dataset helpers, as mlflow.data in Python. */
  readonly data: {
    /** Describes records as a dataset: name, digest of the content, MLflow column schema and profile. */
    fromRecords(rows: readonly Record<string, unknown>[], options?: { name?: string; source?: string; targets?: string }): MlflowDataset;
  };
  /** The run logging goes to now (a %%mlflow_run cell's, or one opened with startRun), if any. */
  activeRun(): MlflowRunHandle | undefined;
  /** Opens a run that stays active across cells until endRun() (script style). */
  startRun(options?: { runName?: string; experiment?: string; nested?: boolean; tags?: Record<string, string | number | boolean>; description?: string }): Promise<MlflowRunHandle>;
  /** Ends the run opened with startRun() (FINISHED by default). */
  endRun(status?: "FINISHED" | "FAILED" | "KILLED"): Promise<void>;
  /** Waits until everything logged so far has been delivered (or spooled). */
  flush(): Promise<void>;
  /** Makes an experiment the session's, creating it if missing. */
  setExperiment(name: string): Promise<{ experimentId: string; name: string }>;
  /** Reads a run: info, params, metrics (latest values), tags and inputs. */
  getRun(runId: string): Promise<MlflowRunRecord>;
  /** Searches runs of an experiment (the session's by default) with MLflow's filter syntax. */
  searchRuns(options?: { experiment?: string; filter?: string; orderBy?: string[]; maxResults?: number }): Promise<MlflowRunRecord[]>;
  /** Every point of one metric of a run, in logging order. */
  getMetricHistory(runId: string, key: string): Promise<MlflowMetric[]>;
  /** Registers runs:/<id>/<path> (or any artifact URI) as a new version of a model, creating the model if needed. */
  registerModel(modelUri: string, name: string): Promise<MlflowModelVersion>;
  /** Points an alias (e.g. "Champion", "Challenger") at a version of a registered model. */
  setAlias(name: string, alias: string, version: string | number): Promise<void>;
  /** Removes an alias from a registered model. */
  deleteAlias(name: string, alias: string): Promise<void>;
  /** The model version an alias points at. */
  getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion>;
  /** Logs a TensorFlow.js LayersModel, or a model-from-code .ts file (default export with predict), into the active run. */
  logModel(model: string | { save(handler: any): Promise<any>; predict(x: any): any; layers: any[] }, options?: MlflowLogModelOptions): Promise<MlflowModelInfo>;
  /** Loads a model by URI (runs:/, models:/name/version, models:/name@alias, models:/<model_id>) or local folder. */
  loadModel(uri: string): Promise<MlflowLoadedModel>;
  /** Where a runs:/, models:/name/version or models:/name@alias URI points. */
  resolveModelUri(uri: string): Promise<{ uri: string; runId?: string; path?: string; artifactUri: string; modelVersion?: MlflowModelVersion }>;
  /** Batch inference over a .csv/.jsonl/.parquet file or records; predictions as Parquet (or CSV by the output's extension), logged into the active run. */
  batchPredict(modelUri: string, input: string | readonly Record<string, unknown>[], options?: MlflowBatchPredictOptions): Promise<MlflowBatchPredictResult>;
  /** POSTs a payload to a model-serving endpoint (an http(s) URL speaking MLflow's scoring protocol, or databricks://NAME) and returns its JSON answer. */
  predict(endpointUrl: string, payload: unknown): Promise<any>;
  /** The tracking URI in use (credentials removed). */
  readonly trackingUri: string;
  /** The full tracking client. */
  readonly client: any;
}
declare const mlflow: MlflowApi;
`;

export const CHARTS_DECLARATION = `
interface ChartsCompareOptions { metrics?: string[]; params?: string[]; kind?: "auto" | "bar" | "history" | "scatter" | "parallel"; max?: number; title?: string }
interface ChartsApi {
  /** A comparison chart of runs (from mlflow.searchRuns): \`await charts.compare(runs)\` displays itself. */
  compare(runs: readonly any[], options?: ChartsCompareOptions): Promise<any>;
  /** Renders a Vega-Lite or Vega spec to SVG text. */
  renderSvg(spec: object): Promise<string>;
}
declare const charts: ChartsApi;
`;
