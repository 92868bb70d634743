// Batch inference: a loaded model applied to a table (CSV, JSON Lines, Parquet, or records in
// memory) batch by batch, predictions written beside the input columns as a `prediction`
// column (Parquet, or CSV by the output's extension). Memory holds one batch at a time, so a
// file of any size runs in bounded memory. A row the signature refuses stops the run with its
// row number and column, or with `skipBadRows` is left out of the output and reported.
// A model answering one record per row (an onnx model's `[{y: 4.75}, ...]`) gives its value:
// with one output, the bare value in `prediction` (as MLflow's spark_udf gives the single
// output column); with several, one typed column per output, `prediction_<output>` (spark_udf's
// struct result with its fields selected out), rather than a JSON text a reader must parse.
// No Jupyter here: progress goes to a callback.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { invalidParameter } from "../tracking/index.js";
import { enforceSchema, SchemaMismatchError } from "./enforce.js";
import type { LoadedModel } from "./load-local.js";
import { columnTypes } from "./scoring-protocol.js";
import { isPlainObject, typedArrayDtype, type Schema } from "./signature.js";
import { createTableSink, openTable, type ReadProgress, type TableRecord, type TableSink } from "./table-io.js";

export const PREDICTION_COLUMN = "prediction";
export const DEFAULT_BATCH_SIZE = 10_000;
const PREVIEW_ROWS = 10;

export interface BatchPredictOptions {
  /** Where predictions go: `.parquet` (default) or `.csv`. Default: `predictions.parquet` in a new temporary folder. */
  output?: string;
  /** Input columns kept in the output, in this order (default: all of them). */
  columns?: string[];
  /** Rows per `predict` call and per Parquet row group (default 10,000). */
  batchSize?: number;
  /** Leave out rows the signature refuses (reported in `badRows`) instead of stopping. */
  skipBadRows?: boolean;
  /** Called after each batch. */
  onProgress?(progress: BatchProgress): void;
  /** Model params passed to every `predict` call. */
  params?: Record<string, unknown>;
}

export interface BatchProgress extends ReadProgress {
  rows: number;
  batches: number;
  elapsedMs: number;
}

export interface BadRow {
  /** 1-based position in the input (a CSV's header not counted). */
  row: number;
  message: string;
}

export interface BatchPredictResult {
  output: string;
  rows: number;
  batches: number;
  /** Columns of the output: the input's kept columns, then `prediction` (or `prediction_<output>` for each output of a model answering records with several). */
  columns: string[];
  /** The first rows of the output. */
  preview: TableRecord[];
  badRows: BadRow[];
  elapsedMs: number;
}

function checkOptions(o: BatchPredictOptions): number {
  const n = o.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000)
    throw invalidParameter(`Invalid batch size ${JSON.stringify(n)}: give a whole number of rows from 1 to 10,000,000.`);
  if (o.columns !== undefined && (!Array.isArray(o.columns) || !o.columns.every((c) => typeof c === "string")))
    throw invalidParameter(`Invalid columns ${JSON.stringify(o.columns)}: give a list of input column names.`);
  return n;
}

/** The named columns of a column signature, or undefined when the model takes any shape. */
const signatureNames = (schema: Schema | undefined) =>
  schema?.kind === "columns" && schema.columns.every((c) => c.name !== undefined) ? new Set(schema.columns.map((c) => c.name!)) : undefined;

/** The rows as the model takes them: only the columns its signature names (others are kept for the output). */
function modelInput(rows: TableRecord[], names: Set<string> | undefined): TableRecord[] {
  if (!names) return rows;
  return rows.map((r) => {
    for (const k in r) {
      if (!names.has(k)) {
        const o: TableRecord = {};
        for (const n of names) if (n in r) o[n] = r[n];
        return o;
      }
    }
    return r;
  });
}

/** The predictions for `n` rows as one value per row. */
function perRow(predictions: unknown, n: number): unknown[] {
  const list = typedArrayDtype(predictions)
    ? Array.from(predictions as ArrayLike<unknown>)
    : Array.isArray(predictions)
      ? predictions
      : // A column object with one column (e.g. `{score: [...]}`): that column.
        isPlainObject(predictions) && Object.keys(predictions).length === 1 && Array.isArray(Object.values(predictions)[0])
        ? (Object.values(predictions)[0] as unknown[])
        : undefined;
  if (!list || list.length !== n)
    throw invalidParameter(
      `The model returned ${list ? `${list.length} predictions` : `a ${typeof predictions}`} for ${n} rows: batch inference needs one prediction per row (an array).`,
    );
  return list.map(oneValue);
}

/** A prediction that is a list of one value (a [-1, 1] tensor) is that value; a typed array a plain one. */
const oneValue = (p: unknown): unknown =>
  Array.isArray(p) && p.length === 1 ? p[0] : typedArrayDtype(p) ? Array.from(p as ArrayLike<unknown>) : p;

/**
 * How predictions become output columns, fixed by the first batch that has any: a value per
 * row, or a record per row with one output (its bare value) or several (a column each).
 */
type OutputShape = { kind: "value" } | { kind: "records"; outputs: string[] };

function shapeOf(values: unknown[]): OutputShape {
  if (!values.length || !values.every(isPlainObject)) return { kind: "value" };
  const outputs = [...new Set(values.flatMap((v) => Object.keys(v as object)))];
  return outputs.length ? { kind: "records", outputs } : { kind: "value" };
}

const columnsOf = (shape: OutputShape): string[] =>
  shape.kind === "records" && shape.outputs.length > 1 ? shape.outputs.map((k) => `${PREDICTION_COLUMN}_${k}`) : [PREDICTION_COLUMN];

/** Puts one row's prediction into its output row, as `shape` says. */
function placePrediction(o: TableRecord, value: unknown, shape: OutputShape, row: number): void {
  if (shape.kind === "value") {
    o[PREDICTION_COLUMN] = value;
    return;
  }
  const known = shape.outputs;
  const describe =
    known.length === 1
      ? `one record with the output ${JSON.stringify(known[0])}`
      : `records with the outputs ${known.map((k) => JSON.stringify(k)).join(", ")}`;
  if (!isPlainObject(value))
    throw invalidParameter(
      `The model's prediction for input row ${row} is ${value === null ? "null" : Array.isArray(value) ? "a list" : `a ${typeof value}`} where its first predictions were ${describe}: batch inference writes one column per output, fixed by the first batch.`,
    );
  for (const k in value)
    if (!known.includes(k))
      throw invalidParameter(
        `The model's prediction for input row ${row} has the output ${JSON.stringify(k)} where its first predictions were ${describe}: batch inference writes one column per output, fixed by the first batch.`,
      );
  if (known.length === 1) o[PREDICTION_COLUMN] = oneValue(value[known[0]!]);
  else for (const k of known) o[`${PREDICTION_COLUMN}_${k}`] = oneValue(value[k]);
}

/** Runs `model` over `input` and writes the predictions table. */
export async function batchPredict(
  model: LoadedModel,
  input: string | readonly TableRecord[],
  opts: BatchPredictOptions = {},
): Promise<BatchPredictResult> {
  const batchSize = checkOptions(opts);
  const started = performance.now();
  const schema = model.metadata.signature?.inputs;
  const names = signatureNames(schema);
  const source = await openTable(input, columnTypes(schema));
  const output = opts.output ?? join(await mkdtemp(join(tmpdir(), "tslab-mlflow-predict-")), "predictions.parquet");
  let sink: TableSink | undefined;
  let kept: string[] | undefined;
  let shape: OutputShape | undefined;
  let columns: string[] | undefined;
  const preview: TableRecord[] = [];
  const badRows: BadRow[] = [];
  let rows = 0;
  let batches = 0;
  let seen = 0;
  try {
    for await (let batch of source.batches(batchSize)) {
      const first = seen;
      seen += batch.length;
      if (!kept) {
        const inputColumns = Object.keys(batch[0] ?? {});
        const missing = (opts.columns ?? []).filter((c) => !inputColumns.includes(c));
        if (missing.length)
          throw invalidParameter(
            `Columns ${missing.map((c) => JSON.stringify(c)).join(", ")} are not in the input, which has ${inputColumns.map((c) => JSON.stringify(c)).join(", ")}.`,
          );
        kept = opts.columns ?? inputColumns;
      }
      // 1-based input row numbers of the batch's rows, once bad rows are left out (else first + i + 1).
      let numbers: number[] | undefined;
      let predictions: unknown;
      try {
        predictions = await model.predict(modelInput(batch, names), opts.params);
      } catch (err) {
        if (!(err instanceof SchemaMismatchError) || !schema) throw err;
        // Find the rows the signature refuses, one by one (only once a batch has failed).
        const good: TableRecord[] = [];
        batch.forEach((r, i) => {
          try {
            enforceSchema(modelInput([r], names), schema);
            good.push(r);
          } catch (e) {
            const message = (e as Error).message
              .replace(/ in record 0/, "")
              .replace(/^Model input does not match the model's signature: /, "");
            if (!opts.skipBadRows)
              throw invalidParameter(
                `Input row ${first + i + 1} does not match the model's signature: ${message} (--skip-bad-rows / skipBadRows leaves such rows out and reports them).`,
              );
            badRows.push({ row: first + i + 1, message });
          }
        });
        if (good.length === batch.length) throw err;
        const refused = new Set(badRows.map((b) => b.row));
        numbers = batch.map((_, i) => first + i + 1).filter((n) => !refused.has(n));
        batch = good;
        predictions = batch.length ? await model.predict(modelInput(batch, names), opts.params) : [];
      }
      const values = perRow(predictions, batch.length);
      if (values.length) {
        if (!shape) {
          shape = shapeOf(values);
          const outputs = columnsOf(shape);
          kept = kept.filter((c) => !outputs.includes(c));
          columns = [...kept, ...outputs];
          sink = await createTableSink(output, columns);
        }
        const out = batch.map((r, i) => {
          const o: TableRecord = {};
          for (const c of kept!) o[c] = r[c];
          placePrediction(o, values[i], shape!, numbers ? numbers[i]! : first + i + 1);
          return o;
        });
        await sink!.write(out);
        for (const r of out) if (preview.length < PREVIEW_ROWS) preview.push(r);
        rows += out.length;
      }
      batches++;
      opts.onProgress?.({ ...source.progress, rows, batches, elapsedMs: performance.now() - started });
    }
    if (!sink) {
      // No prediction at all (an empty input, or every row refused): the columns asked for.
      columns = [...(kept ?? opts.columns ?? []).filter((c) => c !== PREDICTION_COLUMN), PREDICTION_COLUMN];
      sink = await createTableSink(output, columns);
    }
    await sink.finish();
  } catch (err) {
    await sink?.abort();
    throw err;
  }
  return { output, rows, batches, columns: columns!, preview, badRows, elapsedMs: performance.now() - started };
}
