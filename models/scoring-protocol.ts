// MLflow's scoring protocol without the HTTP: a request body and its content type become the
// model's input (`dataframe_split`, `dataframe_records`, `instances`, `inputs` JSON, or
// `text/csv`), and predictions or errors become the answer MLflow's scoring server gives:
// `{"predictions": [...]}`, or `{"error_code": "BAD_REQUEST", "message": ...}` with a 400.
// What MLflow 2.22's server answers (recorded by hand against `mlflow models serve`):
//   - malformed JSON or an empty body: 400 BAD_REQUEST;
//   - a body that is not an object with exactly one of the four keys: 400 BAD_REQUEST;
//   - a content type other than application/json or text/csv: 415, plain text;
//   - input the signature refuses (a missing column): 400 INVALID_PARAMETER_VALUE;
//   - columns the signature does not name are dropped, not refused.
// Also shared by batch inference: CSV cells are typed by the signature the same way.

import { parse as parseCsv } from "csv-parse/sync";
import { MlflowError } from "../tracking/index.js";
import { SchemaMismatchError } from "./enforce.js";
import { isPlainObject, typedArrayDtype, type ColType, type Schema } from "./signature.js";

/** The payload keys of MLflow's scoring protocol (exactly one per request). */
export const SCORING_FORMATS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;
export type ScoringFormat = (typeof SCORING_FORMATS)[number] | "csv";

/** The content types `/invocations` accepts. */
export const SCORING_CONTENT_TYPES = ["application/json", "text/csv"] as const;

/** A request the protocol refuses: `status` 400 (BAD_REQUEST) or 415 (unsupported content type). */
export class ScoringError extends MlflowError {
  constructor(message: string, status = 400, code = "BAD_REQUEST") {
    super(code, message, status);
  }
}

export interface ScoringRequest {
  format: ScoringFormat;
  /** What goes to `predict`: records for dataframes and CSV, the value as given for instances/inputs. */
  input: unknown;
  params?: Record<string, unknown>;
}

const keyList = () => `{${SCORING_FORMATS.map((k) => `'${k}'`).join(", ")}}`;

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Parses a `/invocations` body. `schema` (the signature's inputs) types CSV cells and drops
 * columns it does not name, as MLflow's server does.
 */
export function parseScoringRequest(body: Uint8Array | string, contentType: string | undefined, schema?: Schema): ScoringRequest {
  const type = mediaType(contentType);
  const text = typeof body === "string" ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  if (type === "text/csv") return { format: "csv", input: project(csvRecords(text, schema), schema) };
  if (type !== "application/json")
    throw new ScoringError(
      `This predictor only supports the following content types: ${SCORING_CONTENT_TYPES.join(", ")}. Got ${JSON.stringify(contentType ?? "")}.`,
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ScoringError(
      `Invalid input. Ensure that input is a valid JSON formatted string. Error: ${text.trim() === "" ? "the body is empty" : (err as Error).message}.`,
    );
  }
  if (!isPlainObject(json))
    throw new ScoringError(
      `Invalid input. The input must be a JSON dictionary with exactly one of the input fields ${keyList()}. Received ${Array.isArray(json) ? "a list" : JSON.stringify(json)}.`,
    );
  const keys = Object.keys(json).filter((k) => (SCORING_FORMATS as readonly string[]).includes(k));
  const unknown = Object.keys(json).filter((k) => k !== "params" && !keys.includes(k));
  if (keys.length !== 1)
    throw new ScoringError(
      `The input must be a JSON dictionary with exactly one of the input fields ${keyList()}. Received dictionary with input fields: [${keys.map((k) => `'${k}'`).join(", ")}]${unknown.length ? `; unknown fields: ${unknown.map((k) => `'${k}'`).join(", ")}` : ""}.`,
    );
  const format = keys[0] as (typeof SCORING_FORMATS)[number];
  const params = json.params;
  if (params !== undefined && !isPlainObject(params))
    throw new ScoringError(`Invalid input. 'params' must be a dictionary of parameter names to values. Got ${JSON.stringify(params)}.`);
  const value = json[format];
  let input: unknown;
  switch (format) {
    case "dataframe_split":
      input = splitRecords(value);
      break;
    case "dataframe_records":
      if (!Array.isArray(value) || !value.every(isPlainObject))
        throw new ScoringError(
          `Invalid input. Dataframe records format must be a list of records (objects of column to value). Got ${describe(value)}.`,
        );
      input = value;
      break;
    default:
      input = value;
  }
  return { format, input: project(input, schema), ...(params ? { params } : {}) };
}

const describe = (v: unknown) => (Array.isArray(v) ? "a list" : isPlainObject(v) ? "a dictionary" : (JSON.stringify(v) ?? String(v)));

/** `{columns, data, index?}` (pandas' split orientation) as records. */
function splitRecords(v: unknown): Record<string, unknown>[] {
  if (!isPlainObject(v))
    throw new ScoringError(`Invalid input. Dataframe split format must be a dictionary with "columns" and "data". Got ${describe(v)}.`);
  const { columns, data } = v;
  if (!Array.isArray(data))
    throw new ScoringError(
      `Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format: "data" must be a list of rows, got ${describe(data)}.`,
    );
  if (columns === undefined) {
    // pandas names unnamed columns by position.
    return data.map((row, i) => Object.fromEntries(rowValues(row, undefined, i).map((x, j) => [String(j), x])));
  }
  if (!Array.isArray(columns))
    throw new ScoringError(
      `Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format: "columns" must be a list of names, got ${describe(columns)}.`,
    );
  const names = columns.map(String);
  return data.map((row, i) => {
    const values = rowValues(row, names.length, i);
    const rec: Record<string, unknown> = {};
    for (let j = 0; j < names.length; j++) rec[names[j]!] = values[j];
    return rec;
  });
}

function rowValues(row: unknown, width: number | undefined, i: number): unknown[] {
  const values = Array.isArray(row) ? row : [row];
  if (width !== undefined && values.length !== width)
    throw new ScoringError(
      `Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format: ${width} columns passed, row ${i} of "data" has ${values.length}.`,
    );
  return values;
}

/** Drops columns the signature does not name (MLflow ignores extra inputs). */
function project(input: unknown, schema: Schema | undefined): unknown {
  if (schema?.kind !== "columns" || !schema.columns.every((c) => c.name !== undefined)) return input;
  const names = new Set(schema.columns.map((c) => c.name!));
  const keep = (o: Record<string, unknown>) => {
    for (const k in o) if (!names.has(k)) return Object.fromEntries(Object.entries(o).filter(([k2]) => names.has(k2)));
    return o;
  };
  let out: unknown = input;
  if (Array.isArray(input)) out = input.map((r) => (isPlainObject(r) ? keep(r) : r));
  else if (isPlainObject(input)) out = keep(input);
  // An empty table has none of the required columns: MLflow refuses it as missing inputs.
  const empty = (Array.isArray(out) && out.length === 0) || (isPlainObject(out) && Object.keys(out).length === 0);
  const required = schema.columns.filter((c) => c.required).map((c) => c.name!);
  if (empty && required.length)
    throw new SchemaMismatchError(`the input is empty; the model is missing inputs ${required.map((n) => JSON.stringify(n)).join(", ")}.`);
  return out;
}

// ---- CSV

/** The type of each named column of a signature, for typing CSV cells. */
export function columnTypes(schema: Schema | undefined): Map<string, ColType> {
  const types = new Map<string, ColType>();
  if (schema?.kind === "columns") for (const c of schema.columns) if (c.name !== undefined) types.set(c.name, c.type);
  return types;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * One CSV cell as a value: by the signature's column type when it has one (a cell that does not
 * convert stays a string, for schema enforcement to name), else a number if it reads as one.
 * An empty cell is a missing value (null), as pandas reads it.
 */
export function csvValue(cell: string, type: ColType | undefined): unknown {
  if (cell === "") return null;
  switch (type) {
    case "string":
    case "binary":
    case "datetime":
      return cell;
    case "boolean":
      return /^true$/i.test(cell) ? true : /^false$/i.test(cell) ? false : cell;
    case "double":
    case "float":
    case "long":
    case "integer": {
      if (!NUMBER.test(cell.trim()) && !/^[+-]?(inf|infinity|nan)$/i.test(cell.trim())) return cell;
      const t = cell.trim().toLowerCase();
      return t === "nan" ? NaN : /inf/.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : Number(cell);
    }
    case undefined:
      return NUMBER.test(cell.trim()) ? Number(cell) : cell;
    default:
      return cell;
  }
}

/** A CSV text with a header row as records, cells typed by `schema`. */
export function csvRecords(text: string, schema?: Schema): Record<string, unknown>[] {
  if (text.trim() === "")
    throw new ScoringError("Failed to parse input as CSV: the body is empty; expected a header row of column names and rows of values.");
  let rows: string[][];
  try {
    rows = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch (err) {
    throw new ScoringError(`Failed to parse input as CSV: ${(err as Error).message}`);
  }
  const [header, ...data] = rows;
  const types = columnTypes(schema);
  const colTypes = header!.map((h) => types.get(h));
  return data.map((row) => {
    const rec: Record<string, unknown> = {};
    for (let j = 0; j < header!.length; j++) rec[header![j]!] = j < row.length ? csvValue(row[j]!, colTypes[j]) : null;
    return rec;
  });
}

// ---- Answers

/** Predictions in JSON's terms: typed arrays as lists, bigints as numbers when exact, else strings. */
export function jsonPredictions(v: unknown): unknown {
  if (typedArrayDtype(v)) return Array.from(v as ArrayLike<number | bigint>, (x) => jsonPredictions(x));
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  if (Array.isArray(v)) return v.map(jsonPredictions);
  if (v instanceof Date) return v.toISOString();
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonPredictions(x)]));
  return v;
}

/** `{"predictions": ...}`, the answer of MLflow's scoring server. */
export function predictionsBody(predictions: unknown): string {
  return JSON.stringify({ predictions: jsonPredictions(predictions ?? null) });
}

export interface ScoringAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * The answer for an error: the protocol's and the signature's own (400, with their code),
 * 415 in plain text as MLflow's server answers it, and anything the model threw as a 400
 * BAD_REQUEST naming the error (MLflow answers a failing predict the same way).
 */
export function errorAnswer(err: unknown): ScoringAnswer {
  if (err instanceof ScoringError && err.httpStatus === 415)
    return { status: 415, contentType: "text/plain; charset=utf-8", body: err.message };
  if (err instanceof MlflowError && (err.httpStatus ?? 500) < 500)
    return {
      status: err.httpStatus ?? 400,
      contentType: "application/json",
      body: JSON.stringify({ error_code: err.code, message: err.message }),
    };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    status: 400,
    contentType: "application/json",
    body: JSON.stringify({
      error_code: "BAD_REQUEST",
      message: `Encountered an unexpected error while evaluating the model. Verify that the input is compatible with the model for inference. Error: ${message}`,
    }),
  };
}
