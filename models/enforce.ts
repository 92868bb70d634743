// Schema enforcement at `predict`, the way MLflow checks a model's input against its
// signature: a missing required column, a value of the wrong type or a column the signature
// does not know is refused with an error naming the column, the expected and the given type.
// Records, one record, column objects (`{x: [..]}` or typed arrays) and tensors are accepted;
// the input goes to the model as it was given (checking never copies it).

import { MlflowError } from "../tracking/index.js";
import { colTypeName, isPlainObject, typedArrayDtype, type ColSpec, type ColType, type Schema, type TensorSpec } from "./signature.js";

/** Input refused by the signature; `code` is MLflow's INVALID_PARAMETER_VALUE. */
export class SchemaMismatchError extends MlflowError {
  constructor(message: string) {
    super("INVALID_PARAMETER_VALUE", `Model input does not match the model's signature: ${message}`, 400);
  }
}

/** What a value is, in the words of the error messages. */
export function givenType(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "number") return Number.isInteger(v) ? `number (${v})` : `number (${v})`;
  if (typeof v === "string") return `string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)})`;
  if (typeof v !== "object") return typeof v;
  if (v instanceof Date) return "Date";
  const dt = typedArrayDtype(v);
  if (dt) return `${v.constructor.name} (${dt})`;
  if (v instanceof Uint8Array) return "Uint8Array";
  if (Array.isArray(v)) return "array";
  return "object";
}

function matches(v: unknown, t: ColType): boolean {
  switch (t) {
    case "double":
    case "float":
      return typeof v === "number";
    // Integers fit a long column, as MLflow lets int64 data into an int64 column; a fraction does not.
    case "long":
    case "integer":
      return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
    case "boolean":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "binary":
      return v instanceof Uint8Array || typeof v === "string";
    case "datetime":
      return v instanceof Date || (typeof v === "string" && !Number.isNaN(Date.parse(v)));
  }
  if (t.type === "any") return true;
  if (t.type === "array") return Array.isArray(v) && v.every((x) => matches(x, t.items));
  return isPlainObject(v) && Object.entries(t.properties).every(([k, pt]) => v[k] !== undefined && matches(v[k], pt));
}

const spec = (c: ColSpec) => `${colTypeName(c.type)}${c.required ? "" : " (optional)"}`;
const absent = (v: unknown) => v === undefined || v === null;

// `at` is a function so the hot path (every value of every record) builds no strings.
function checkValue(c: ColSpec, v: unknown, at: () => string): void {
  if (absent(v)) {
    if (c.required) throw new SchemaMismatchError(`required column ${JSON.stringify(c.name)} (${spec(c)}) is missing${at()}.`);
    return;
  }
  if (!matches(v, c.type))
    throw new SchemaMismatchError(`column ${JSON.stringify(c.name ?? 0)} expects ${colTypeName(c.type)} but got ${givenType(v)}${at()}.`);
}

/** A column's check as a JavaScript expression over `v`, for the common types; else undefined. */
function fastTest(c: ColSpec, v: string): string | undefined {
  const absentOk = c.required ? "" : ` || ${v} === undefined || ${v} === null`;
  switch (c.type) {
    case "double":
    case "float":
      return `typeof ${v} === "number"${absentOk}`;
    case "long":
    case "integer":
      return `(typeof ${v} === "number" && Number.isInteger(${v}))${absentOk}`;
    case "string":
      return `typeof ${v} === "string"${absentOk}`;
    case "boolean":
      return `typeof ${v} === "boolean"${absentOk}`;
    default:
      return undefined;
  }
}

/** The index of the first record at or after `from` that the plain test does not take, or -1. */
type RecordScan = (rows: readonly unknown[], from: number) => number;
const recordScans = new WeakMap<readonly ColSpec[], RecordScan>();

/**
 * A scan for records that plainly fit the columns: objects holding exactly the signature's
 * columns, each of a common type. Generated once per signature so that each column is read
 * by a constant name (V8 then reads it like `row.x`, with inline caches), in one loop with no
 * call per record: several times faster on 10,000 records than reading columns by a key held
 * in a variable. A record the scan stops at is checked again fully, which finds the error
 * (or accepts what only the full check knows, e.g. a Date in a datetime column).
 */
function recordScan(cols: readonly ColSpec[]): RecordScan {
  let scan = recordScans.get(cols);
  if (scan) return scan;
  const checks = cols.map((c, j) => fastTest(c, `v${j}`));
  if (checks.some((t) => t === undefined)) scan = (rows, from) => (from < rows.length ? from : -1);
  else {
    const body = cols
      .map((c, j) => `const v${j} = row[${JSON.stringify(c.name)}]; if (!(${checks[j]})) return i; if (v${j} !== undefined) present++;`)
      .join("\n");
    // The key count (own and inherited enumerable keys) catches a column the signature does not have.
    scan = new Function(
      "rows",
      "from",
      `"use strict";
for (let i = from; i < rows.length; i++) {
  const row = rows[i];
  if (typeof row !== "object" || row === null || Array.isArray(row) || ArrayBuffer.isView(row)) return i;
  let present = 0;
  ${body}
  // No column present: possibly not a record at all (a Date, say); the full check decides.
  if (present === 0) return i;
  let count = 0;
  for (const _ in row) count++;
  if (count !== present) return i;
}
return -1;`,
    ) as RecordScan;
  }
  recordScans.set(cols, scan);
  return scan;
}

function checkRecord(row: unknown, i: number, cols: ColSpec[], names: Set<string>): void {
  if (!isPlainObject(row))
    throw new SchemaMismatchError(`record ${i} is ${givenType(row)}; expected an object with columns ${[...names].join(", ")}.`);
  let present = 0;
  for (const c of cols) {
    const v = row[c.name!];
    checkValue(c, v, () => ` in record ${i}`);
    if (v !== undefined) present++;
  }
  // More keys than the signature's columns present: one of them is not in the signature.
  let count = 0;
  for (const _ in row) count++;
  if (count > present) {
    for (const k in row) {
      if (!names.has(k))
        throw new SchemaMismatchError(
          `column ${JSON.stringify(k)} (${givenType(row[k])}) in record ${i} is not in the signature, which has ${[...names].map((x) => JSON.stringify(x)).join(", ")}.`,
        );
    }
  }
}

function checkRecords(rows: readonly unknown[], cols: ColSpec[], names: Set<string>): void {
  const scan = recordScan(cols);
  for (let i = scan(rows, 0); i >= 0; i = scan(rows, i + 1)) checkRecord(rows[i], i, cols, names);
}

function checkColumnObject(obj: Record<string, unknown>, cols: ColSpec[], names: Set<string>): void {
  for (const k of Object.keys(obj)) {
    if (!names.has(k))
      throw new SchemaMismatchError(
        `column ${JSON.stringify(k)} is not in the signature, which has ${[...names].map((n) => JSON.stringify(n)).join(", ")}.`,
      );
  }
  let length: number | undefined;
  for (const c of cols) {
    const list = obj[c.name!] as ArrayLike<unknown> | undefined;
    if (list === undefined) {
      if (c.required) throw new SchemaMismatchError(`required column ${JSON.stringify(c.name)} (${spec(c)}) is missing.`);
      continue;
    }
    if (length !== undefined && list.length !== length)
      throw new SchemaMismatchError(`column ${JSON.stringify(c.name)} has ${list.length} values where the other columns have ${length}.`);
    length = list.length;
    const dt = typedArrayDtype(list);
    if (dt) {
      // A typed array is numbers throughout: one check for the whole column.
      const numeric = c.type === "double" || c.type === "float" || ((c.type === "long" || c.type === "integer") && !dt.startsWith("float"));
      if (!numeric)
        throw new SchemaMismatchError(`column ${JSON.stringify(c.name)} expects ${colTypeName(c.type)} but got ${givenType(list)}.`);
      continue;
    }
    for (let i = 0; i < list.length; i++) checkValue(c, list[i], () => ` at row ${i}`);
  }
}

function checkColumns(input: unknown, cols: ColSpec[]): void {
  const named = cols.every((c) => c.name !== undefined);
  if (!named) {
    // Unnamed columns (MLflow's Series): a list of values, or rows of values by position.
    const list = Array.isArray(input) ? input : typedArrayDtype(input) ? Array.from(input as ArrayLike<unknown>) : [input];
    if (cols.length === 1) list.forEach((v, i) => checkValue(cols[0]!, v, () => ` at row ${i}`));
    else
      list.forEach((row, i) => {
        if (!Array.isArray(row) || row.length !== cols.length)
          throw new SchemaMismatchError(`row ${i} is ${givenType(row)}; expected ${cols.length} values (${cols.map(spec).join(", ")}).`);
        cols.forEach((c, j) => checkValue(c, row[j], () => ` at row ${i}, position ${j}`));
      });
    return;
  }
  const names = new Set(cols.map((c) => c.name!));
  if (Array.isArray(input)) return checkRecords(input, cols, names);
  if (isPlainObject(input)) {
    const values = Object.values(input);
    const columnObject = values.length > 0 && values.every((v) => Array.isArray(v) || typedArrayDtype(v));
    // A record whose columns are all arrays is ambiguous; the signature decides.
    const arrayColumns = cols.every((c) => typeof c.type === "object" && c.type.type === "array");
    if (columnObject && !arrayColumns) return checkColumnObject(input, cols, names);
    return checkRecords([input], cols, names);
  }
  throw new SchemaMismatchError(
    `got ${givenType(input)}; expected records (an array of objects), one record, or a column object with columns ${[...names].join(", ")}.`,
  );
}

function shapeOf(v: unknown): number[] | undefined {
  if (typedArrayDtype(v)) return [(v as ArrayLike<unknown>).length];
  if (!Array.isArray(v)) return typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" ? [] : undefined;
  const inner = v.length ? shapeOf(v[0]) : [];
  return inner && [v.length, ...inner];
}

function leafDtype(v: unknown): string {
  while (Array.isArray(v)) v = v[0];
  return typedArrayDtype(v) ?? typeof v;
}

function checkTensor(input: unknown, t: TensorSpec, label: string): void {
  const dt = typedArrayDtype(input) ?? (Array.isArray(input) ? typedArrayDtype(input[0]) : undefined);
  if (dt && dt !== t.dtype) throw new SchemaMismatchError(`tensor ${label} expects dtype ${t.dtype} but got ${dt}.`);
  if (!dt) {
    const leaf = leafDtype(input);
    const ok = t.dtype === "bool" ? leaf === "boolean" : t.dtype === "str" ? leaf === "string" : leaf === "number" || leaf === "bigint";
    if (!ok)
      throw new SchemaMismatchError(
        `tensor ${label} expects dtype ${t.dtype} but got ${leaf === "undefined" ? "an empty array" : leaf} values.`,
      );
  }
  let shape = shapeOf(input);
  if (!shape) throw new SchemaMismatchError(`tensor ${label} expects ${t.dtype}[${t.shape.join(", ")}] but got ${givenType(input)}.`);
  // A flat typed array may hold whole rows, row-major.
  const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1);
  if (shape.length === 1 && t.shape.length > 1 && t.shape.slice(1).every((d) => d > 0) && shape[0]! % rowSize === 0)
    shape = [shape[0]! / rowSize, ...t.shape.slice(1)];
  const fits = shape.length === t.shape.length && t.shape.every((d, i) => d === -1 || d === shape![i]);
  if (!fits)
    throw new SchemaMismatchError(`tensor ${label} expects shape [${t.shape.join(", ")}] (-1: any size) but got [${shape.join(", ")}].`);
}

/** Throws SchemaMismatchError when `input` does not fit `schema`. */
export function enforceSchema(input: unknown, schema: Schema): void {
  if (schema.kind === "columns") return checkColumns(input, schema.columns);
  const named = schema.tensors.every((t) => t.name !== undefined);
  if (named && schema.tensors.length > 1) {
    if (!isPlainObject(input))
      throw new SchemaMismatchError(
        `got ${givenType(input)}; expected an object of tensors named ${schema.tensors.map((t) => t.name).join(", ")}.`,
      );
    for (const t of schema.tensors) {
      if (input[t.name!] === undefined) throw new SchemaMismatchError(`required tensor ${JSON.stringify(t.name)} (${t.dtype}) is missing.`);
      checkTensor(input[t.name!], t, JSON.stringify(t.name));
    }
    return;
  }
  const t = schema.tensors[0]!;
  const value = named && isPlainObject(input) ? input[t.name!] : input;
  checkTensor(value, t, t.name !== undefined ? JSON.stringify(t.name) : "input");
}

/**
 * The input as records when the signature has named columns, as MLflow hands a pyfunc model a
 * DataFrame whatever the request's orientation: a column object becomes rows, one record a
 * list of one. Records (and anything else) pass through untouched.
 */
export function asRecords(input: unknown, schema: Schema | undefined): unknown {
  if (schema?.kind !== "columns" || !schema.columns.every((c) => c.name !== undefined) || !isPlainObject(input)) return input;
  const values = Object.values(input);
  const arrayColumns = schema.columns.every((c) => typeof c.type === "object" && c.type.type === "array");
  if (!values.length || arrayColumns || !values.every((v) => Array.isArray(v) || typedArrayDtype(v))) return [input];
  const cols = Object.entries(input) as [string, ArrayLike<unknown>][];
  const n = cols[0]![1].length;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map(([k, v]) => [k, v[i]])));
}
