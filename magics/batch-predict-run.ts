// The batch inference `%mlflow_predict` and `mlflow.batchPredict` run (their table entry,
// option checks and the lazy entry points are in magic-predict.ts): loads the model
// (downloaded once), runs models/batch-predict.ts with a progress display updated in place
// (one display id), shows a preview of the first rows, and logs the predictions file into
// the active run (if any) with tags naming the model URI and version. With an endpoint name
// instead of a model URI, each batch of rows goes to that Databricks serving endpoint.
// Loaded on first use: it brings models/ (and csv-parse, yaml) into the kernel.

import { randomBytes } from "node:crypto";
import {
  batchPredict,
  defaultModelCache,
  loadModel,
  type BatchPredictOptions,
  type LoadedModel,
  type BatchProgress,
  type TableRecord,
} from "../models/index.js";
import type { MimeBundle } from "../kernel/extensions.js";
import { invokeServingEndpoint } from "../tracking/index.js";
import { MODEL_URI_TAG, MODEL_VERSION_TAG, PREDICTIONS_ARTIFACT_DIR, type BatchPredictRun, type Show } from "./magic-predict.js";
import { MagicError } from "./registry.js";
import type { MlflowSession } from "./session.js";
import { table } from "./table-output.js";

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

/**
 * Sends `input` to the Databricks serving endpoint `name` (checked by magic-predict.ts's entry)
 * in batches; shows and logs as runBatchPredict does.
 */
export async function runEndpointPredict(
  session: Pick<MlflowSession, "env" | "activeRun">,
  name: string,
  input: string | readonly TableRecord[],
  opts: BatchPredictOptions,
  show?: Show,
): Promise<BatchPredictRun> {
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
