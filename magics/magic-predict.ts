// `%mlflow_predict MODEL_URI --input PATH --output PATH [--batch-size N]` and the runner it
// shares with `mlflow.batchPredict`: loads the model (downloaded once), runs batch inference
// (models/batch-predict.ts) with a progress display updated in place (one display id), then
// shows a preview of the first rows, and logs the predictions file into the active run (if
// any) with tags naming the model URI and version. With `--endpoint NAME` instead of a model
// URI, no model is loaded: each batch of rows goes to the Databricks serving endpoint NAME
// (`databricks://NAME`, the workspace's Bearer auth) and its predictions are written the same way.

import { randomBytes } from "node:crypto";
import path from "node:path";
import {
  batchPredict,
  defaultModelCache,
  loadModel,
  type BatchPredictOptions,
  type LoadedModel,
  type BatchPredictResult,
  type BatchProgress,
  type TableRecord,
} from "../models/index.js";
import type { MimeBundle } from "../kernel/extensions.js";
import { DATABRICKS_ENDPOINT_NAME, invokeServingEndpoint } from "../tracking/index.js";
import type { MagicContext } from "./context.js";
import { table } from "./table-output.js";
import { MagicError, type Invocation, type Magic, type OptionSchema } from "./registry.js";
import { positiveInt } from "./run-query.js";
import type { MlflowSession } from "./session.js";

/** Tags set on the active run: which model made the predictions. */
export const MODEL_URI_TAG = "batch_predict.model_uri";
export const MODEL_VERSION_TAG = "batch_predict.model_version";
/** Where the predictions file goes in the run's artifacts. */
export const PREDICTIONS_ARTIFACT_DIR = "predictions";

/** Shows a bundle; `update` replaces the one shown before under the same display id. */
export type Show = (bundle: MimeBundle, opts: { displayId: string; update: boolean }) => void;

export interface BatchPredictRun extends BatchPredictResult {
  modelUri: string;
  /** The registered version, for `models:/` URIs. */
  modelVersion?: string;
  /** The run the predictions were logged to, if one was active. */
  runId?: string;
}

const PROGRESS_EVERY_MS = 250;
const n = (x: number) => x.toLocaleString("en-US");
const mb = (bytes: number) => (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0);

export function progressBundle(uri: string, p: BatchProgress, done = false): MimeBundle {
  const rate = p.elapsedMs > 0 ? Math.round((p.rows / p.elapsedMs) * 1000) : 0;
  const fraction = p.totalRows ? p.rows / p.totalRows : p.totalBytes ? (p.bytesRead ?? 0) / p.totalBytes : undefined;
  const of = p.totalRows ? ` of ${n(p.totalRows)}` : p.totalBytes ? ` (${mb(p.bytesRead ?? 0)} of ${mb(p.totalBytes)} MB)` : "";
  const text = `${done ? "Predicted" : "Predicting"} ${uri}: ${n(p.rows)} rows${of}, ${p.batches} batches, ${n(rate)} rows/s`;
  const bar =
    fraction === undefined
      ? ""
      : ` <progress value="${Math.min(1, fraction).toFixed(4)}" max="1"></progress> ${(Math.min(1, fraction) * 100).toFixed(0)}%`;
  return { "text/plain": text, "text/html": `<div>${text.replace(/&/g, "&amp;").replace(/</g, "&lt;")}${bar}</div>` };
}

export function previewBundle(r: BatchPredictRun): MimeBundle {
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? ""
      : typeof v === "object"
        ? JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x))
        : String(v);
  const rows = r.preview.map((rec: TableRecord) => r.columns.map((c) => cell(rec[c])));
  const caption =
    `${n(r.rows)} predictions by ${r.modelUri}${r.modelVersion ? ` (version ${r.modelVersion})` : ""} in ${(r.elapsedMs / 1000).toFixed(1)} s -> ${r.output}` +
    (r.runId ? `, logged to run ${r.runId}` : "") +
    (r.badRows.length
      ? `; ${r.badRows.length} bad rows left out: ${r.badRows
          .slice(0, 5)
          .map((b) => `row ${b.row} (${b.message})`)
          .join("; ")}${r.badRows.length > 5 ? "; …" : ""}`
      : "") +
    `. First ${rows.length} rows:`;
  return table(caption, r.columns, rows);
}

/** Loads `uri`, predicts over `input`, shows progress and a preview, logs into the active run. */
export async function runBatchPredict(
  session: MlflowSession,
  uri: string,
  input: string | readonly TableRecord[],
  opts: BatchPredictOptions,
  show?: Show,
): Promise<BatchPredictRun> {
  if (typeof uri !== "string" || !uri)
    throw new MagicError(
      "BAD_ARGUMENT",
      `Bad model URI ${JSON.stringify(uri)}: give models:/<name>@<alias>, models:/<name>/<version>, runs:/<run_id>/<path> or a model folder.`,
    );
  const client = session.tracking.client;
  const model = await loadModel(client, uri, { cacheDir: defaultModelCache(session.env) });
  const modelVersion = uri.startsWith("models:/")
    ? await client.resolveModelUri(uri).then(
        (r) => r.modelVersion?.version,
        () => undefined,
      )
    : undefined;
  return predictAndShow(session, model, uri, modelVersion, input, opts, show);
}

function checkEndpointName(name: string): void {
  if (!DATABRICKS_ENDPOINT_NAME.test(name))
    throw new MagicError(
      "BAD_ARGUMENT",
      `Bad --endpoint ${JSON.stringify(name)}: give a Databricks serving endpoint name (letters, digits, '-' and '_'), e.g. --endpoint churn-scorer.`,
    );
}

/**
 * The serving endpoint as a model for batchPredict: each batch goes out as
 * `{dataframe_records}` and the answer's `predictions` come back. There is no signature to
 * check rows against here; the endpoint checks them and answers 400 naming the problem.
 */
function endpointModel(uri: string, env: Record<string, string | undefined>): LoadedModel {
  const predict = async (rows: unknown, params?: Record<string, unknown>) => {
    const answer = await invokeServingEndpoint(uri, params ? { dataframe_records: rows, params } : rows, { env });
    const predictions = (answer as { predictions?: unknown } | null)?.predictions;
    if (predictions === undefined)
      throw new MagicError(
        "BAD_ARGUMENT",
        `The serving endpoint ${uri} answered without "predictions" (keys: ${Object.keys(answer ?? {}).join(", ") || "none"}): batch inference needs {"predictions": [...]}, one per row.`,
      );
    return predictions;
  };
  // batchPredict reads only `predict` and `metadata.signature`; an endpoint has no local folder or MLmodel.
  return { predict, metadata: { signature: undefined } } as unknown as LoadedModel;
}

/** Sends `input` to the Databricks serving endpoint `name` in batches; shows and logs as runBatchPredict does. */
export async function runEndpointPredict(
  session: Pick<MlflowSession, "env" | "activeRun">,
  name: string,
  input: string | readonly TableRecord[],
  opts: BatchPredictOptions,
  show?: Show,
): Promise<BatchPredictRun> {
  checkEndpointName(name);
  const uri = `databricks://${name}`;
  return predictAndShow(session, endpointModel(uri, session.env), uri, undefined, input, opts, show);
}

async function predictAndShow(
  session: Pick<MlflowSession, "activeRun">,
  model: LoadedModel,
  uri: string,
  modelVersion: string | undefined,
  input: string | readonly TableRecord[],
  opts: BatchPredictOptions,
  show: Show | undefined,
): Promise<BatchPredictRun> {
  const displayId = randomBytes(8).toString("hex");
  let shown = false;
  let last = 0;
  const onProgress = (p: BatchProgress) => {
    opts.onProgress?.(p);
    const now = performance.now();
    if (!show || (shown && now - last < PROGRESS_EVERY_MS)) return;
    last = now;
    show(progressBundle(uri, p), { displayId, update: shown });
    shown = true;
  };
  const result = await batchPredict(model, input, { ...opts, onProgress });
  const run = session.activeRun();
  if (run) {
    run.setTags({ [MODEL_URI_TAG]: uri, ...(modelVersion ? { [MODEL_VERSION_TAG]: modelVersion } : {}) });
    await run.logArtifact(result.output, PREDICTIONS_ARTIFACT_DIR);
  }
  const out: BatchPredictRun = {
    ...result,
    modelUri: uri,
    ...(modelVersion ? { modelVersion } : {}),
    ...(run ? { runId: run.info.runId } : {}),
  };
  if (show) {
    const final = { rows: result.rows, batches: result.batches, elapsedMs: result.elapsedMs };
    show(progressBundle(uri, final, true), { displayId, update: shown });
    show(previewBundle(out), { displayId: randomBytes(8).toString("hex"), update: false });
  }
  return out;
}

const options = {
  input: { type: "string", value: "PATH", description: "the table to predict on: .csv, .jsonl (or .ndjson), .parquet" },
  output: { type: "string", value: "PATH", description: "where predictions go: .parquet, or .csv (the input columns plus `prediction`)" },
  "batch-size": { type: "string", value: "N", description: "rows per predict call and Parquet row group (default 10000)" },
  columns: { type: "string", value: "a,b", description: "input columns to keep in the output (default all)" },
  "skip-bad-rows": { type: "boolean", description: "leave out rows the signature refuses and report them, instead of stopping" },
  endpoint: {
    type: "string",
    value: "NAME",
    description:
      "send the rows to this Databricks serving endpoint in batches instead of loading a model (DATABRICKS_HOST/TOKEN or ~/.databrickscfg)",
  },
} as const satisfies OptionSchema;

/** The checked line: a model URI or --endpoint (one of them), and the required paths, present. */
function checkedLine(inv: Invocation<typeof options>): { uri?: string; endpoint?: string; input: string; output: string } {
  const [uri] = inv.positionals;
  const { endpoint } = inv.values;
  if (uri && endpoint !== undefined)
    throw new MagicError(
      "BAD_ARGUMENT",
      `%mlflow_predict takes a model URI or --endpoint NAME, not both (got ${JSON.stringify(uri)} and --endpoint ${JSON.stringify(endpoint)}).`,
    );
  if (endpoint !== undefined) checkEndpointName(endpoint);
  else if (!uri)
    throw new MagicError(
      "BAD_ARGUMENT",
      "%mlflow_predict needs a model URI or --endpoint NAME, e.g. %mlflow_predict models:/churn@Champion --input data.csv --output predictions.parquet.",
    );
  const missing = (o: string) =>
    new MagicError("BAD_ARGUMENT", `%mlflow_predict needs --${o} PATH, e.g. --input data.csv --output predictions.parquet.`);
  const { input, output } = inv.values;
  if (!input) throw missing("input");
  if (!output) throw missing("output");
  positiveInt(inv.values["batch-size"], "--batch-size");
  return { uri, endpoint, input, output };
}

export const mlflowPredict: Magic<MagicContext, typeof options> = {
  name: "mlflow_predict",
  kind: "line",
  summary:
    "Batch inference: a model (or a Databricks serving endpoint) over a CSV, JSON Lines or Parquet file, predictions saved as Parquet or CSV.",
  usage: "(MODEL_URI | --endpoint NAME) --input PATH --output PATH [--batch-size N] [--columns a,b] [--skip-bad-rows]",
  options,
  maxPositionals: 1,
  check(inv) {
    checkedLine(inv);
  },
  async run(inv, ctx) {
    const { uri, endpoint, input, output } = checkedLine(inv);
    const at = (p: string) => path.resolve(ctx.host.cwd, p);
    const columns = inv.values.columns
      ?.split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    const opts: BatchPredictOptions = {
      output: at(output),
      batchSize: positiveInt(inv.values["batch-size"], "--batch-size"),
      columns,
      skipBadRows: inv.values["skip-bad-rows"] === true,
    };
    const show: Show = (bundle, o) => ctx.cell.display(bundle, o);
    if (endpoint !== undefined) await runEndpointPredict(ctx.session, endpoint, at(input), opts, show);
    else await runBatchPredict(ctx.session, uri!, at(input), opts, show);
  },
};

/** The kernel's `display` global, when this runs inside a kernel (for `mlflow.batchPredict` called from a cell). */
export function kernelDisplay(): Show | undefined {
  const d = (globalThis as { display?: { bundle?: (b: MimeBundle, o: object) => unknown } }).display;
  return typeof d?.bundle === "function" ? (b, o) => void d.bundle!(b, o) : undefined;
}
