// Model signatures in MLflow's format: a column schema (`[{"type": "double", "name": "x",
// "required": true}]`) or a tensor schema (`[{"type": "tensor", "tensor-spec": {"dtype":
// "float32", "shape": [-1, 4]}}]`) for inputs and outputs, and how they sit in an MLmodel
// file (each side a JSON *string*). Also infers a signature from an input example and the
// output of `predict` on it, as `mlflow.models.infer_signature` does.

import { invalidParameter } from "../tracking/index.js";

/** MLflow's scalar column types (`mlflow.types.DataType`). */
export const DATA_TYPES = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** numpy dtype names MLflow writes in tensor specs. */
export const TENSOR_DTYPES = [
  "float16",
  "float32",
  "float64",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "bool",
  "str",
  "bytes",
] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

/** A column's type: a scalar, or MLflow's array/object types (nested values). */
export type ColType =
  | DataType
  | { type: "array"; items: ColType }
  | { type: "object"; properties: Record<string, ColType> }
  | { type: "any" };

export interface ColSpec {
  type: ColType;
  name?: string;
  required: boolean;
}
export interface TensorSpec {
  type: "tensor";
  name?: string;
  dtype: TensorDtype;
  shape: number[];
}

export type Schema = { kind: "columns"; columns: ColSpec[] } | { kind: "tensors"; tensors: TensorSpec[] };

export interface ModelSignature {
  inputs?: Schema;
  outputs?: Schema;
}

// ---- To and from MLflow's JSON

function colTypeToJson(t: ColType): Record<string, unknown> {
  if (typeof t === "string") return { type: t };
  if (t.type === "array") return { type: "array", items: colTypeToJson(t.items) };
  if (t.type === "object")
    return {
      type: "object",
      properties: Object.fromEntries(Object.entries(t.properties).map(([k, v]) => [k, { ...colTypeToJson(v), required: true }])),
    };
  return { type: "any" };
}

/** The list MLflow's `Schema.to_dict()` gives. */
export function schemaToJson(schema: Schema): Record<string, unknown>[] {
  if (schema.kind === "tensors")
    return schema.tensors.map((t) => ({
      ...(t.name !== undefined ? { name: t.name } : {}),
      type: "tensor",
      "tensor-spec": { dtype: t.dtype, shape: t.shape },
    }));
  return schema.columns.map((c) => ({ ...colTypeToJson(c.type), ...(c.name !== undefined ? { name: c.name } : {}), required: c.required }));
}

const describe = (v: unknown) => JSON.stringify(v) ?? String(v);

function colTypeFromJson(j: any, where: string): ColType {
  if (j?.type === "array") return { type: "array", items: colTypeFromJson(j.items, where) };
  if (j?.type === "object") {
    const props: Record<string, ColType> = {};
    for (const [k, v] of Object.entries(j.properties ?? {})) props[k] = colTypeFromJson(v, where);
    return { type: "object", properties: props };
  }
  if (j?.type === "any") return { type: "any" };
  if (DATA_TYPES.includes(j?.type)) return j.type as DataType;
  throw invalidParameter(
    `Unknown column type ${describe(j?.type)} in ${where}. Accepted: ${DATA_TYPES.join(", ")}, array, object, any, tensor.`,
  );
}

/** Reads MLflow's JSON list (parsed, or the JSON text an MLmodel file holds). */
export function schemaFromJson(json: unknown, where = "the signature"): Schema {
  const list = typeof json === "string" ? parseJson(json, where) : json;
  if (!Array.isArray(list))
    throw invalidParameter(`Invalid schema in ${where}: expected a JSON list of column or tensor specs, got ${describe(list)}.`);
  if (list.length > 0 && list.every((s) => s?.type === "tensor")) {
    return {
      kind: "tensors",
      tensors: list.map((s) => {
        const spec = s["tensor-spec"] ?? {};
        if (!TENSOR_DTYPES.includes(spec.dtype) || !Array.isArray(spec.shape))
          throw invalidParameter(
            `Invalid tensor spec ${describe(s)} in ${where}: expected {"dtype": one of ${TENSOR_DTYPES.join(", ")}, "shape": [..]}.`,
          );
        return { type: "tensor", ...(s.name !== undefined ? { name: s.name } : {}), dtype: spec.dtype, shape: spec.shape.map(Number) };
      }),
    };
  }
  if (list.some((s) => s?.type === "tensor"))
    throw invalidParameter(`Invalid schema in ${where}: column and tensor specs cannot be mixed.`);
  return {
    kind: "columns",
    columns: list.map((s) => ({
      type: colTypeFromJson(s, where),
      ...(s?.name !== undefined ? { name: String(s.name) } : {}),
      required: s?.required ?? true,
    })),
  };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidParameter(`Invalid schema in ${where}: not JSON: ${text.slice(0, 80)}`);
  }
}

/** JSON text with Python's `json.dumps` separators (", " and ": "), as MLflow's signature strings have. */
export function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`)
      .join(", ")}}`;
  return JSON.stringify(v) ?? "null";
}

/** The `signature` entry of an MLmodel file: each side a JSON string, as MLflow writes it. */
export function signatureToMlmodel(sig: ModelSignature): Record<string, string | null> {
  return {
    inputs: sig.inputs ? pythonJson(schemaToJson(sig.inputs)) : null,
    outputs: sig.outputs ? pythonJson(schemaToJson(sig.outputs)) : null,
    params: null,
  };
}

export function signatureFromMlmodel(entry: any): ModelSignature {
  const sig: ModelSignature = {};
  if (entry?.inputs) sig.inputs = schemaFromJson(entry.inputs, "the signature's inputs");
  if (entry?.outputs) sig.outputs = schemaFromJson(entry.outputs, "the signature's outputs");
  return sig;
}

/** A signature given by the user: our Schema objects, or MLflow's JSON lists `{inputs: [...], outputs: [...]}`. */
export function toSignature(given: unknown): ModelSignature {
  if (given === null || typeof given !== "object")
    throw invalidParameter(
      `Invalid signature ${describe(given)}: expected {inputs, outputs}, each MLflow's list of column specs (e.g. [{"type": "double", "name": "x"}]) or tensor specs.`,
    );
  const g = given as Record<string, unknown>;
  const side = (v: unknown, name: string): Schema | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v === "object" && !Array.isArray(v) && ((v as Schema).kind === "columns" || (v as Schema).kind === "tensors"))
      return v as Schema;
    return schemaFromJson(v, `the signature's ${name}`);
  };
  return { inputs: side(g.inputs, "inputs"), outputs: side(g.outputs, "outputs") };
}

// ---- Inference

const TYPED_DTYPES: [new (...a: any[]) => ArrayLike<number> | ArrayLike<bigint>, TensorDtype][] = [
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [Int8Array, "int8"],
  [Int16Array, "int16"],
  [Int32Array, "int32"],
  [BigInt64Array, "int64"],
  [Uint8Array, "uint8"],
  [Uint16Array, "uint16"],
  [Uint32Array, "uint32"],
  [BigUint64Array, "uint64"],
];

export function typedArrayDtype(v: unknown): TensorDtype | undefined {
  if (!ArrayBuffer.isView(v) || v instanceof DataView || Buffer.isBuffer(v)) return undefined;
  return TYPED_DTYPES.find(([ctor]) => v instanceof ctor)?.[1];
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);

/** The column type of one value (JavaScript numbers are all `double`: there is one number type). */
export function inferColType(v: unknown, where: string): ColType | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "number") return "double";
  if (typeof v === "bigint") return "long";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "string") return "string";
  if (v instanceof Date) return "datetime";
  if (v instanceof Uint8Array) return "binary";
  if (Array.isArray(v)) {
    const item = v.map((x) => inferColType(x, where)).find((t) => t !== undefined);
    return { type: "array", items: item ?? { type: "any" } };
  }
  if (isPlainObject(v)) {
    const properties: Record<string, ColType> = {};
    for (const [k, x] of Object.entries(v)) {
      const t = inferColType(x, where);
      if (t !== undefined) properties[k] = t;
    }
    return { type: "object", properties };
  }
  throw invalidParameter(
    `Cannot infer a column type for ${describe(v)} in ${where}: accepted values are numbers, bigints, booleans, strings, Dates, Uint8Arrays, arrays and plain objects.`,
  );
}

/** Columns of records (array of objects): a column missing or null in some record is not required. */
function columnsOfRecords(rows: readonly Record<string, unknown>[], where: string): ColSpec[] {
  const names: string[] = [];
  const types = new Map<string, ColType>();
  const present = new Map<string, number>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (!types.has(k) && !names.includes(k)) names.push(k);
      const t = inferColType(v, `${where}, column ${JSON.stringify(k)}`);
      if (t === undefined) continue;
      present.set(k, (present.get(k) ?? 0) + 1);
      if (!types.has(k)) types.set(k, t);
    }
  }
  return names.map((name) => ({ name, type: types.get(name) ?? { type: "any" }, required: present.get(name) === rows.length }));
}

/** The schema of a value given to or returned by `predict`. */
export function inferSchema(value: unknown, where: string): Schema {
  const dtype = typedArrayDtype(value);
  if (dtype) return { kind: "tensors", tensors: [{ type: "tensor", dtype, shape: [-1] }] };
  if (Array.isArray(value)) {
    if (value.length === 0) throw invalidParameter(`Cannot infer a schema from an empty array in ${where}: give at least one record.`);
    if (value.every(isPlainObject)) return { kind: "columns", columns: columnsOfRecords(value, where) };
    // Rows of numbers, or rows of typed arrays: a tensor with one dimension of any size first.
    if (value.every((r) => Array.isArray(r) || typedArrayDtype(r))) {
      const inner = value[0] as ArrayLike<unknown>;
      const dt = typedArrayDtype(inner) ?? (Array.from(inner).every((x) => typeof x === "number") ? "float64" : undefined);
      if (dt) return { kind: "tensors", tensors: [{ type: "tensor", dtype: dt, shape: [-1, inner.length] }] };
    }
    const t = inferColType(value[0], where);
    // A list of scalars is one unnamed column (a pandas Series in MLflow's terms).
    if (t !== undefined) return { kind: "columns", columns: [{ type: t, required: true }] };
  }
  if (isPlainObject(value)) {
    const cols = Object.entries(value);
    // Column object: {x: [..], y: Float32Array}; every value a list of equal length.
    if (cols.length && cols.every(([, c]) => Array.isArray(c) || typedArrayDtype(c))) {
      return {
        kind: "columns",
        columns: cols.map(([name, c]) => {
          const list = Array.from(c as ArrayLike<unknown>);
          const t = list.map((x) => inferColType(x, `${where}, column ${JSON.stringify(name)}`)).find((x) => x !== undefined);
          return { name, type: t ?? { type: "any" }, required: list.every((x) => x !== null && x !== undefined) };
        }),
      };
    }
    // One record.
    return { kind: "columns", columns: columnsOfRecords([value], where) };
  }
  const t = inferColType(value, where);
  if (t !== undefined) return { kind: "columns", columns: [{ type: t, required: true }] };
  throw invalidParameter(
    `Cannot infer a schema from ${describe(value)} in ${where}: give records, a column object, a typed array or rows of numbers.`,
  );
}

/** `infer_signature(input_example, predict(input_example))`. */
export function inferSignature(inputExample: unknown, output?: unknown): ModelSignature {
  const sig: ModelSignature = { inputs: inferSchema(inputExample, "the input example") };
  if (output !== undefined) sig.outputs = inferSchema(output, "the output of predict on the input example");
  return sig;
}

/** `x: double (required)` style text, for errors and displays. */
export function colTypeName(t: ColType): string {
  if (typeof t === "string") return t;
  if (t.type === "array") return `array<${colTypeName(t.items)}>`;
  if (t.type === "object")
    return `object{${Object.entries(t.properties)
      .map(([k, v]) => `${k}: ${colTypeName(v)}`)
      .join(", ")}}`;
  return "any";
}
