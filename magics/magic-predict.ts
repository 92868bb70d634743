// `%mlflow_predict MODEL_URI --input PATH --output PATH [--batch-size N]`: batch inference
// of a model (or, with `--endpoint NAME`, a Databricks serving endpoint) over a table file.
// This module is what the magic table, `%mlflow_help`, completion and option checking need
// (name, options, the line's checks), the tags and artifact folder the predictions are
// logged under, and the entry points `mlflow.batchPredict` calls. The work itself is in
// batch-predict-run.ts, loaded on first use: it brings models/ (csv-parse, yaml).

import path from "node:path";
import type { BatchPredictOptions, BatchPredictResult } from "../models/index.js";
import type { MimeBundle } from "../kernel/extensions.js";
import { DATABRICKS_ENDPOINT_NAME } from "../tracking/index.js";
import type { MagicContext } from "./context.js";
import { MagicError, type Invocation, type Magic, type OptionSchema } from "./registry.js";
import { positiveInt } from "./run-query.js";

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

const loadRun = () => import("./batch-predict-run.js");

/** The implementation's entry points, loaded on first call (their checks of the line stay here). */
type Run = typeof import("./batch-predict-run.js");

/** Loads `uri`, predicts over `input`, shows progress and a preview, logs into the active run. */
export const runBatchPredict: Run["runBatchPredict"] = async (...args) => (await loadRun()).runBatchPredict(...args);

/** Sends `input` to the Databricks serving endpoint `name` in batches; shows and logs as runBatchPredict does. */
export const runEndpointPredict: Run["runEndpointPredict"] = async (session, name, ...rest) => {
  checkEndpointName(name);
  return (await loadRun()).runEndpointPredict(session, name, ...rest);
};

export function checkEndpointName(name: string): void {
  if (!DATABRICKS_ENDPOINT_NAME.test(name))
    throw new MagicError(
      "BAD_ARGUMENT",
      `Bad --endpoint ${JSON.stringify(name)}: give a Databricks serving endpoint name (letters, digits, '-' and '_'), e.g. --endpoint churn-scorer.`,
    );
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
