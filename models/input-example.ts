// The input example of a model folder, in MLflow's formats: records and column objects as a
// pandas "split" frame (`{"columns": [...], "data": [[...]]}`, type `dataframe`), typed
// arrays and rows of numbers as a plain list (type `ndarray`), anything else as JSON
// (`json_object`); plus `serving_input_example.json`, the same example as a request body
// for MLflow's scoring server (`dataframe_split` or `inputs`).

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { invalidParameter } from "../tracking/index.js";
import type { InputExampleInfo } from "./mlmodel.js";
import { isPlainObject, typedArrayDtype } from "./signature.js";

export const EXAMPLE_FILENAME = "input_example.json";
export const SERVING_INPUT_FILENAME = "serving_input_example.json";

// JSON has no NaN: MLflow writes missing numbers as null.
const jsonValue = (v: unknown): unknown => {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  const dt = typedArrayDtype(v);
  if (dt) return Array.from(v as ArrayLike<number | bigint>, jsonValue);
  if (Array.isArray(v)) return v.map(jsonValue);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v ?? null;
};

function recordsToSplit(rows: readonly Record<string, unknown>[]): { columns: string[]; data: unknown[][] } {
  const columns: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  return { columns, data: rows.map((r) => columns.map((c) => jsonValue(r[c]))) };
}

function columnObjectToSplit(obj: Record<string, ArrayLike<unknown>>): { columns: string[]; data: unknown[][] } {
  const columns = Object.keys(obj);
  const n = Math.max(0, ...columns.map((c) => obj[c]!.length));
  return { columns, data: Array.from({ length: n }, (_, i) => columns.map((c) => jsonValue(obj[c]![i]))) };
}

export interface EncodedExample {
  info: InputExampleInfo;
  example: unknown;
  serving: unknown;
}

/** The example as MLflow would save it. */
export function encodeInputExample(example: unknown): EncodedExample {
  const info = (type: InputExampleInfo["type"], extra: Partial<InputExampleInfo> = {}): InputExampleInfo => ({
    artifact_path: EXAMPLE_FILENAME,
    type,
    ...extra,
    serving_input_path: SERVING_INPUT_FILENAME,
  });
  if (example === undefined)
    throw invalidParameter("Invalid input example undefined: give records, a column object, a typed array or rows of numbers.");
  if (Array.isArray(example) && example.length > 0 && example.every(isPlainObject)) {
    const split = recordsToSplit(example);
    return { info: info("dataframe", { pandas_orient: "split" }), example: split, serving: { dataframe_split: split } };
  }
  if (isPlainObject(example)) {
    const values = Object.values(example);
    const split =
      values.length && values.every((v) => Array.isArray(v) || typedArrayDtype(v))
        ? columnObjectToSplit(example as Record<string, ArrayLike<unknown>>)
        : recordsToSplit([example]);
    return { info: info("dataframe", { pandas_orient: "split" }), example: split, serving: { dataframe_split: split } };
  }
  if (
    typedArrayDtype(example) ||
    (Array.isArray(example) && example.length > 0 && example.every((r) => Array.isArray(r) || typedArrayDtype(r)))
  ) {
    const list = jsonValue(example);
    return { info: info("ndarray"), example: list, serving: { inputs: list } };
  }
  const value = jsonValue(example);
  return { info: info("json_object"), example: value, serving: { inputs: value } };
}

export async function writeInputExample(dir: string, example: unknown): Promise<InputExampleInfo> {
  const enc = encodeInputExample(example);
  await writeFile(join(dir, enc.info.artifact_path), JSON.stringify(enc.example));
  await writeFile(join(dir, SERVING_INPUT_FILENAME), JSON.stringify(enc.serving, null, 2));
  return enc.info;
}

/** Reads a saved example back: a split frame becomes records, as our models take them. */
export async function readInputExample(dir: string, info: InputExampleInfo): Promise<unknown> {
  const data = JSON.parse(await readFile(join(dir, info.artifact_path), "utf8"));
  if (info.type === "dataframe" && info.pandas_orient !== "values" && Array.isArray(data?.columns) && Array.isArray(data?.data)) {
    const cols: string[] = data.columns;
    return (data.data as unknown[][]).map((row) => Object.fromEntries(cols.map((c, i) => [c, row[i]])));
  }
  return data;
}
