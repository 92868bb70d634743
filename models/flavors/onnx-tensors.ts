// Values to and from ONNX Runtime tensors for the onnx flavour: JavaScript numbers, nested
// arrays and typed arrays become the flat typed data of the dtype a model input declares,
// and output tensors come back as plain numbers (int64 as numbers while exact), booleans or
// strings, nested by the tensor's dims. No onnxruntime import here: only its data layout.

import { invalidParameter } from "../../tracking/index.js";
import { typedArrayDtype } from "../signature.js";

/** An ONNX Runtime tensor as onnxruntime-node hands it out (its `Tensor` class has these fields). */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayLike<unknown>;
}

/** A tensor to build: onnxruntime's type name, flat data, dims. */
export interface TensorParts {
  type: string;
  data: ArrayLike<unknown> | unknown[];
  dims: number[];
}

const INTEGER_TYPES = new Set(["int8", "uint8", "int16", "uint16", "int32", "uint32"]);
const FLOAT_ARRAYS: Record<string, (n: number) => Float32Array | Float64Array> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
};
const INT_ARRAYS: Record<string, (n: number) => ArrayLike<number> & { [i: number]: number }> = {
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int32: (n) => new Int32Array(n),
  uint32: (n) => new Uint32Array(n),
};
/** The typed array class onnxruntime-node wants for each tensor type (the data is used without a copy). */
const ARRAY_OF: Record<string, new (...a: any[]) => unknown> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** The tensor types this flavour feeds (ONNX's string and numeric types; float16 has no JavaScript array in Node 20). */
export const FEEDABLE_TYPES = [...Object.keys(ARRAY_OF), "string"];

const show = (v: unknown) => (typeof v === "bigint" ? `${v}n` : (JSON.stringify(v) ?? String(v)));

/**
 * Flat values as data of `type`. A typed array of that very type is used as it is; anything
 * else is converted value by value (MLflow's onnx model casts float64 to float32 the same way),
 * refusing what would change a value: a fraction or a non-number for an integer type.
 */
export function toTensorData(values: ArrayLike<unknown>, type: string, input: string): ArrayLike<unknown> {
  const Exact = ARRAY_OF[type];
  if (Exact && values instanceof Exact && !(type === "bool" && typedArrayDtype(values) !== "uint8")) return values;
  const n = values.length;
  const bad = (i: number, what: string): never => {
    throw invalidParameter(
      `Input ${JSON.stringify(input)} of the ONNX model is a tensor(${type}); value ${show(values[i])} at ${i} is ${what}.`,
    );
  };
  if (type === "float32" || type === "float64") {
    const out = FLOAT_ARRAYS[type]!(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      // A missing value is NaN, as pandas holds it in a float column.
      if (typeof v === "number") out[i] = v;
      else if (v === null || v === undefined) out[i] = NaN;
      else if (typeof v === "bigint") out[i] = Number(v);
      else if (typeof v === "boolean") out[i] = v ? 1 : 0;
      else bad(i, "not a number");
    }
    return out;
  }
  if (INTEGER_TYPES.has(type)) {
    const out = INT_ARRAYS[type]!(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const x = typeof v === "bigint" ? Number(v) : typeof v === "boolean" ? Number(v) : v;
      if (typeof x !== "number" || !Number.isInteger(x)) bad(i, "not an integer");
      out[i] = x as number;
    }
    return out;
  }
  if (type === "int64" || type === "uint64") {
    const out = type === "int64" ? new BigInt64Array(n) : new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === "bigint") out[i] = v;
      else if (typeof v === "number" && Number.isInteger(v)) out[i] = BigInt(v);
      else if (typeof v === "boolean") out[i] = v ? 1n : 0n;
      else bad(i, "not an integer");
    }
    return out;
  }
  if (type === "bool") {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === "boolean" || v === 0 || v === 1) out[i] = Number(v);
      else bad(i, "not a boolean");
    }
    return out;
  }
  if (type === "string") {
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "string") bad(i, "not a string");
      out[i] = v as string;
    }
    return out;
  }
  throw invalidParameter(
    `Input ${JSON.stringify(input)} of the ONNX model is a tensor(${type}), which this client cannot feed; it feeds ${FEEDABLE_TYPES.join(", ")}.`,
  );
}

/** The dims of nested arrays (the first element decides; `flatten` checks the rest). */
function nestedDims(v: unknown): number[] {
  const dims: number[] = [];
  let x = v;
  while (Array.isArray(x) || (typedArrayDtype(x) && dims.length > 0)) {
    const a = x as ArrayLike<unknown>;
    dims.push(a.length);
    if (!Array.isArray(x)) break;
    x = a[0];
  }
  return dims;
}

/** Nested arrays (rows of numbers, or of typed arrays) as flat values and dims; ragged arrays are refused. */
export function flatten(value: unknown, input: string): { values: ArrayLike<unknown>; dims: number[] } {
  if (typedArrayDtype(value)) return { values: value as ArrayLike<unknown>, dims: [(value as ArrayLike<unknown>).length] };
  if (!Array.isArray(value)) return { values: [value], dims: [] };
  const dims = nestedDims(value);
  const size = dims.reduce((a, b) => a * b, 1);
  const out: unknown[] = new Array(size);
  let k = 0;
  const walk = (v: unknown, depth: number, at: string): void => {
    const want = dims[depth]!;
    const arr = v as ArrayLike<unknown>;
    if ((!Array.isArray(v) && !typedArrayDtype(v)) || arr.length !== want)
      throw invalidParameter(
        `Input ${JSON.stringify(input)} of the ONNX model: ${at} has ${Array.isArray(v) || typedArrayDtype(v) ? `${arr.length} values` : `the value ${show(v)}`} where the first row's shape says ${want}; a tensor's rows must all be the same shape.`,
      );
    if (depth === dims.length - 1) for (let i = 0; i < want; i++) out[k++] = arr[i];
    else for (let i = 0; i < want; i++) walk(arr[i], depth + 1, `${at}[${i}]`);
  };
  walk(value, 0, "the input");
  return { values: out, dims };
}

/**
 * The dims of a flat typed array for a model input of declared `shape` (numbers for fixed
 * dimensions, names for free ones): whole rows of the fixed trailing dimensions.
 */
export function dimsForFlat(
  length: number,
  shape: readonly (number | string)[] | undefined,
  specShape: number[] | undefined,
  input: string,
) {
  const fixed = (s: readonly (number | string)[]) => s.slice(1).every((d) => typeof d === "number" && d > 0);
  const trailing =
    specShape && specShape.length > 1 && fixed(specShape)
      ? specShape.slice(1)
      : shape && fixed(shape)
        ? (shape.slice(1) as number[])
        : undefined;
  if (!trailing || trailing.length === 0) return [length];
  const row = trailing.reduce((a, b) => a * b, 1);
  if (length % row !== 0)
    throw invalidParameter(
      `Input ${JSON.stringify(input)} of the ONNX model takes rows of shape [${trailing.join(", ")}] (${row} values each); the typed array holds ${length} values, not a whole number of rows.`,
    );
  return [length / row, ...trailing];
}

/**
 * An output tensor's flat values as JavaScript values: int64 as numbers while every value is
 * exact, bool as booleans; numeric data stays the typed array it is (reading it gives numbers).
 */
export function fromTensorData(t: OrtTensorLike): ArrayLike<unknown> {
  const d = t.data;
  if (t.type === "bool") return Array.from(d, (x) => x === 1 || x === true);
  if (t.type === "int64" || t.type === "uint64") {
    const big = d as ArrayLike<bigint>;
    let exact = true;
    for (let i = 0; i < big.length && exact; i++) exact = Number.isSafeInteger(Number(big[i]));
    return exact ? Array.from(big, Number) : Array.from(big);
  }
  return d;
}

/** Flat values nested by `dims` (a scalar for no dims). */
export function nest(values: ArrayLike<unknown>, dims: readonly number[], offset = 0): unknown {
  if (dims.length === 0) return values[offset];
  const n = dims[0]!;
  const out: unknown[] = new Array(n);
  if (dims.length === 1) {
    for (let i = 0; i < n; i++) out[i] = values[offset + i];
    return out;
  }
  const rest = dims.slice(1);
  const step = rest.reduce((a, b) => a * b, 1);
  // Plain loops: Array.from with a callback costs several times more per row.
  if (rest.length === 1)
    for (let i = 0, b = offset; i < n; i++, b += step) {
      const row: unknown[] = new Array(step);
      for (let j = 0; j < step; j++) row[j] = values[b + j];
      out[i] = row;
    }
  else for (let i = 0; i < n; i++) out[i] = nest(values, rest, offset + i * step);
  return out;
}

type FloatArray = Float32Array | Float64Array;
type RowsFiller = (rows: readonly Record<string, unknown>[], out: FloatArray, slow: (v: unknown, i: number) => number) => void;
type RecordsMaker = (length: number, cols: ArrayLike<unknown>[]) => Record<string, unknown>[];
const fillers = new Map<string, RowsFiller>();
const makers = new Map<string, RecordsMaker>();

/**
 * Records as row-major float data in one pass, the columns read by constant names from code
 * generated once per column list (V8 then reads them like `row.x1`, several times faster than
 * by a name held in a variable). A value that is not a number goes through `toTensorData`'s rules.
 */
export function recordsToFloats(
  rows: readonly Record<string, unknown>[],
  names: string[],
  type: "float32" | "float64",
  input: string,
): FloatArray {
  const key = JSON.stringify(names);
  let fill = fillers.get(key);
  if (!fill) {
    const k = names.length;
    const body = names
      .map((n, j) => `v = r[${JSON.stringify(n)}]; out[b + ${j}] = typeof v === "number" ? v : slow(v, b + ${j});`)
      .join("\n");
    fill = new Function(
      "rows",
      "out",
      "slow",
      `"use strict"; let v; for (let i = 0, b = 0; i < rows.length; i++, b += ${k}) { const r = rows[i];\n${body}\n}`,
    ) as RowsFiller;
    fillers.set(key, fill);
  }
  const out = type === "float32" ? new Float32Array(rows.length * names.length) : new Float64Array(rows.length * names.length);
  const k = names.length;
  fill(rows, out, (v, i) => {
    if (v === null || v === undefined) return NaN;
    if (typeof v === "bigint" || typeof v === "boolean") return Number(v);
    throw invalidParameter(
      `Input ${JSON.stringify(input)} of the ONNX model is a tensor(${type}); column ${JSON.stringify(names[i % k])} of row ${Math.floor(i / k)} holds ${show(v)}, not a number.`,
    );
  });
  return out;
}

/** Records `{[name]: cols[k][i]}` for `length` rows, built by code generated once per output list (object literals share one shape). */
export function recordsOf(names: string[], cols: ArrayLike<unknown>[], length: number): Record<string, unknown>[] {
  const key = JSON.stringify(names);
  let make = makers.get(key);
  if (!make) {
    const fields = names.map((n, k) => `${JSON.stringify(n)}: c${k}[i]`).join(", ");
    const locals = names.map((_, k) => `const c${k} = cols[${k}];`).join(" ");
    make = new Function(
      "length",
      "cols",
      `"use strict"; ${locals} const out = new Array(length); for (let i = 0; i < length; i++) out[i] = { ${fields} }; return out;`,
    ) as RecordsMaker;
    makers.set(key, make);
  }
  return make(length, cols);
}
