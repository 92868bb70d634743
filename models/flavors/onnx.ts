// The `onnx` flavour: a model a Python team saved with `mlflow.onnx.save_model`/`log_model`
// (`model.onnx`, maybe with external weight files beside it, and the MLmodel's `onnx`
// entry: `data`, `providers`, `onnx_session_options`, `onnx_version`), run with ONNX
// Runtime's Node binding, `onnxruntime-node`, an optional peer dependency imported only when an
// onnx model is loaded. Input and output follow MLflow's onnx pyfunc:
//   - a table (records, one record, or a column object when the signature has columns) is a
//     DataFrame: a model with one input takes the columns as one [rows, columns] tensor in the
//     signature's column order; a model with several inputs takes each from the column of its
//     name. The answer is records, one per row, keyed by output name (each output flattened),
//     which the scoring server sends as MLflow's does: `{"predictions": [{"y": 1.5}, ...]}`;
//   - a tensor (nested arrays, a typed array) feeds the model's only input, and an object of
//     named tensors feeds inputs by name. The answer is an object of output name to nested
//     arrays in the output's shape: `{"predictions": {"y": [[1.5], ...]}}`.
// Values are converted to each input's declared type (float64 to float32 as MLflow casts).

import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MlflowError, invalidParameter, notFound } from "../../tracking/index.js";
import { isPlainObject, typedArrayDtype, type Schema } from "../signature.js";
import {
  dimsForFlat,
  flatten,
  fromTensorData,
  nest,
  recordsOf,
  recordsToFloats,
  toTensorData,
  type OrtTensorLike,
} from "./onnx-tensors.js";

export const ONNX_FLAVOR = "onnx";
export const ONNXRUNTIME_PACKAGE = "onnxruntime-node";
/** Its install script fetches GPU parts from outside the npm registry; the CPU binary ships in the package. */
export const ONNXRUNTIME_INSTALL = "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node";
const MODEL_DATA = "model.onnx";

interface ValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/** The parts of onnxruntime-node's InferenceSession this flavour uses. */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly ValueMetadata[];
  readonly outputMetadata?: readonly ValueMetadata[];
  run(feeds: Record<string, unknown>, fetches?: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

interface OnnxRuntime {
  InferenceSession: { create(path: string, options?: Record<string, unknown>): Promise<OnnxSession> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensorLike;
}

export interface OnnxPredictor {
  predict(input: unknown): Promise<unknown>;
  /** The InferenceSession itself, for callers that feed tensors directly. */
  session: OnnxSession;
}

const notInstalled = (detail: string, cause: unknown) =>
  new MlflowError(
    "RESOURCE_DOES_NOT_EXIST",
    `Loading an onnx model needs the package ${ONNXRUNTIME_PACKAGE}, ${detail}: install it with \`${ONNXRUNTIME_INSTALL}\`.`,
    404,
    { cause },
  );

/** The user's onnxruntime-node when installed where the model is loaded, else ours (an optional peer dependency). */
async function importOnnxRuntime(fromDirs: string[]): Promise<OnnxRuntime> {
  let path: string | undefined;
  for (const d of fromDirs) {
    try {
      path = createRequire(join(d, "noop.js")).resolve(ONNXRUNTIME_PACKAGE);
      break;
    } catch {
      /* next */
    }
  }
  let mod: any;
  try {
    // A name held in a variable: the build must not need the optional package's types.
    const specifier: string = path ? pathToFileURL(path).href : ONNXRUNTIME_PACKAGE;
    mod = await import(specifier);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND")
      throw notInstalled(`which is not installed here (looked in ${[...fromDirs, "this package"].join(", ")})`, err);
    throw notInstalled(`which is installed but does not load (${(err as Error).message.split("\n")[0]})`, err);
  }
  const ort = mod?.InferenceSession ? mod : mod?.default;
  if (!ort?.InferenceSession?.create || !ort.Tensor) throw notInstalled("but what was found has no InferenceSession", undefined);
  return ort as OnnxRuntime;
}

const GRAPH_OPTIMIZATION_LEVELS: Record<number, string> = { 0: "disabled", 1: "basic", 2: "extended", 99: "all" };

/**
 * `onnx_session_options` as MLflow's onnx model applies them (threads, execution mode,
 * graph optimization level, extra session config); other keys are ignored there and here.
 */
export function sessionOptions(options: unknown, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = { executionProviders: ["cpu"] };
  if (options === null || options === undefined) return out;
  if (!isPlainObject(options))
    throw invalidParameter(
      `Invalid onnx_session_options ${JSON.stringify(options)} in ${where}: expected a mapping of ONNX Runtime session options.`,
    );
  for (const key of ["inter_op_num_threads", "intra_op_num_threads"] as const) {
    const v = options[key];
    if (v === undefined || v === null || v === 0) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      throw invalidParameter(`Invalid ${key} ${JSON.stringify(v)} in ${where}'s onnx_session_options: expected a whole number >= 0.`);
    out[key === "inter_op_num_threads" ? "interOpNumThreads" : "intraOpNumThreads"] = v;
  }
  const mode = options.execution_mode;
  if (mode !== undefined && mode !== null) {
    if (typeof mode !== "string" || !["sequential", "parallel"].includes(mode.toLowerCase()))
      throw invalidParameter(
        `Invalid execution_mode ${JSON.stringify(mode)} in ${where}'s onnx_session_options: expected "sequential" or "parallel".`,
      );
    out.executionMode = mode.toLowerCase();
  }
  const level = options.graph_optimization_level;
  if (level !== undefined && level !== null && level !== 0) {
    if (typeof level !== "number" || !GRAPH_OPTIMIZATION_LEVELS[level])
      throw invalidParameter(
        `Invalid graph_optimization_level ${JSON.stringify(level)} in ${where}'s onnx_session_options: expected 0, 1, 2 or 99.`,
      );
    out.graphOptimizationLevel = GRAPH_OPTIMIZATION_LEVELS[level];
  }
  const extra = options.extra_session_config;
  if (extra !== undefined && extra !== null) {
    if (!isPlainObject(extra))
      throw invalidParameter(
        `Invalid extra_session_config ${JSON.stringify(extra)} in ${where}'s onnx_session_options: expected a mapping of config keys to values.`,
      );
    // The Node binding takes string values only; the Python one converts them the same way.
    out.extra = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)]));
  }
  return out;
}

/**
 * The providers MLflow recorded (CUDA first, CPU second, by default). The Node binding bundles
 * the CPU provider only, so a model runs on CPU whatever the list says, as MLflow's model does
 * with a CPU build of onnxruntime; a list that is not a list of names is refused.
 */
function checkProviders(providers: unknown, where: string): void {
  if (providers === undefined || providers === null) return;
  if (!Array.isArray(providers) || !providers.every((p) => typeof p === "string"))
    throw invalidParameter(
      `Invalid providers ${JSON.stringify(providers)} in ${where}: expected a list of ONNX Runtime execution provider names such as "CPUExecutionProvider".`,
    );
}

/** Loads `model.onnx` (the flavour's `data`) into an InferenceSession on the CPU provider. */
export async function loadOnnxModel(
  dir: string,
  config: Record<string, any>,
  inputs: Schema | undefined,
  fromDirs = [process.cwd()],
): Promise<OnnxPredictor> {
  const where = `the onnx flavour of ${JSON.stringify(dir)}`;
  const data = String(config.data ?? MODEL_DATA);
  const file = join(dir, data);
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw notFound(`The onnx model at ${JSON.stringify(dir)} has no ${data}: the folder is incomplete.`);
  checkProviders(config.providers, where);
  const options = sessionOptions(config.onnx_session_options, where);
  const ort = await importOnnxRuntime(fromDirs);
  let session: OnnxSession;
  try {
    // From the path, not from bytes: weights saved as external data sit beside it.
    session = await ort.InferenceSession.create(file, options);
  } catch (err) {
    throw invalidParameter(
      `Cannot load the ONNX model file ${file}: ${(err as Error).message.trim()} (expected an ONNX model as onnx.save_model writes it).`,
    );
  }
  return { session, predict: (input) => predict(ort, session, input, inputs) };
}

const inputMeta = (session: OnnxSession, name: string) => session.inputMetadata?.find((m) => m.name === name);

function feedTensor(ort: OnnxRuntime, session: OnnxSession, name: string, values: ArrayLike<unknown>, dims: number[]) {
  const meta = inputMeta(session, name);
  if (meta && !meta.isTensor)
    throw invalidParameter(`Input ${JSON.stringify(name)} of the ONNX model is not a tensor; this client feeds tensors only.`);
  const type = meta?.type ?? "float32";
  return new ort.Tensor(type, toTensorData(values, type, name), dims);
}

/** Outputs that are tensors (onnxruntime-node returns no sequences or maps, such as ZipMap's). */
function tensorOutputs(session: OnnxSession): string[] {
  const meta = session.outputMetadata;
  return meta ? meta.filter((m) => m.isTensor).map((m) => m.name) : [...session.outputNames];
}

async function run(session: OnnxSession, feeds: Record<string, unknown>, outputs: string[]): Promise<Record<string, OrtTensorLike>> {
  try {
    return await session.run(feeds, outputs);
  } catch (err) {
    throw invalidParameter(`The ONNX model refused the input: ${(err as Error).message.trim()}`);
  }
}

/** Column names of a table input: the signature's when it names them, else the first record's keys. */
function tableColumns(
  input: unknown,
  inputs: Schema | undefined,
): { names: string[]; column: (name: string) => unknown[]; rows: number; records?: Record<string, unknown>[] } | undefined {
  const named =
    inputs?.kind === "columns" && inputs.columns.every((c) => c.name !== undefined) ? inputs.columns.map((c) => c.name!) : undefined;
  if (Array.isArray(input) && input.length > 0 && input.every(isPlainObject)) {
    const rows = input as Record<string, unknown>[];
    return { names: named ?? Object.keys(rows[0]!), column: (n) => rows.map((r) => r[n]), rows: rows.length, records: rows };
  }
  if (isPlainObject(input) && inputs?.kind === "columns") {
    const values = Object.values(input);
    if (values.length > 0 && values.every((v) => Array.isArray(v) || typedArrayDtype(v))) {
      const cols = input as Record<string, ArrayLike<unknown>>;
      return {
        names: named ?? Object.keys(cols),
        column: (n) => Array.from(cols[n] ?? []),
        rows: (values[0] as ArrayLike<unknown>).length,
      };
    }
    return { names: named ?? Object.keys(input), column: (n) => [input[n]], rows: 1 };
  }
  return undefined;
}

/** Columns of one type as row-major data: [a0, b0, a1, b1, ...]. */
function interleave(cols: ArrayLike<unknown>[], rows: number): ArrayLike<unknown> {
  const k = cols.length;
  const first = cols[0]!;
  const out = (
    ArrayBuffer.isView(first) ? new (first.constructor as new (n: number) => unknown[])(rows * k) : new Array(rows * k)
  ) as unknown[];
  for (let j = 0; j < k; j++) {
    const col = cols[j]!;
    for (let i = 0; i < rows; i++) out[i * k + j] = col[i];
  }
  return out;
}

async function predict(ort: OnnxRuntime, session: OnnxSession, input: unknown, inputs: Schema | undefined): Promise<unknown> {
  const outputs = tensorOutputs(session);
  const table = tableColumns(input, inputs);
  if (table) {
    const { names, column, rows } = table;
    const feeds: Record<string, unknown> = {};
    if (session.inputNames.length === 1) {
      // One input: the table's values as one [rows, columns] tensor (pandas' DataFrame.values).
      const name = session.inputNames[0]!;
      const meta = inputMeta(session, name);
      const type = meta?.type ?? "float32";
      const k = names.length;
      let flat: ArrayLike<unknown>;
      // Records into floats, the common case, in one pass; else each column converted, then interleaved.
      if (table.records && (type === "float32" || type === "float64")) flat = recordsToFloats(table.records, names, type, name);
      else {
        const cols = names.map((n) => toTensorData(column(n), type, name));
        flat = k === 1 ? cols[0]! : interleave(cols, rows);
      }
      feeds[name] = feedTensor(ort, session, name, flat, meta?.shape?.length === 1 && k === 1 ? [rows] : [rows, k]);
    } else {
      for (const name of session.inputNames) {
        if (!names.includes(name))
          throw invalidParameter(
            `The ONNX model's input ${JSON.stringify(name)} has no column in the input, whose columns are ${names.map((n) => JSON.stringify(n)).join(", ")}: a model with several inputs takes each from the column of its name (${session.inputNames.map((n) => JSON.stringify(n)).join(", ")}).`,
          );
        const { values, dims } = flatten(column(name), name);
        // A column of scalars feeds [rows]; an input declared [rows, 1] gets that shape.
        const shape = inputMeta(session, name)?.shape;
        feeds[name] = feedTensor(ort, session, name, values, dims.length === 1 && shape?.length === 2 && shape[1] === 1 ? [rows, 1] : dims);
      }
    }
    const result = await run(session, feeds, outputs);
    // MLflow builds a DataFrame of every output flattened: they must be as long as each other.
    const flat = outputs.map((o) => fromTensorData(result[o]!));
    const length = flat[0]?.length ?? 0;
    if (flat.some((f) => f.length !== length))
      throw invalidParameter(
        `The ONNX model's outputs ${outputs.map((o, k) => `${JSON.stringify(o)} (${flat[k]!.length} values)`).join(", ")} cannot form one table: give the input as tensors to get each output in its own shape.`,
      );
    return recordsOf(outputs, flat, length);
  }
  const feeds: Record<string, unknown> = {};
  const specOf = (name: string | undefined) =>
    inputs?.kind === "tensors"
      ? (inputs.tensors.find((t) => t.name === name) ?? (inputs.tensors.length === 1 ? inputs.tensors[0] : undefined))
      : undefined;
  const tensorFor = (name: string, value: unknown) => {
    if (typedArrayDtype(value)) {
      const values = value as ArrayLike<unknown>;
      return feedTensor(ort, session, name, values, dimsForFlat(values.length, inputMeta(session, name)?.shape, specOf(name)?.shape, name));
    }
    const { values, dims } = flatten(value, name);
    return feedTensor(ort, session, name, values, dims);
  };
  if (isPlainObject(input)) {
    for (const [name, value] of Object.entries(input)) {
      if (!session.inputNames.includes(name))
        throw invalidParameter(
          `The ONNX model has no input ${JSON.stringify(name)}; its inputs are ${session.inputNames.map((n) => JSON.stringify(n)).join(", ")}.`,
        );
      feeds[name] = tensorFor(name, value);
    }
  } else {
    if (session.inputNames.length !== 1)
      throw invalidParameter(
        `The ONNX model has ${session.inputNames.length} inputs (${session.inputNames.map((n) => JSON.stringify(n)).join(", ")}): give an object of tensors by input name, or a table with a column per input; a single tensor feeds a model with one input.`,
      );
    feeds[session.inputNames[0]!] = tensorFor(session.inputNames[0]!, input);
  }
  const result = await run(session, feeds, outputs);
  return Object.fromEntries(outputs.map((o) => [o, nest(fromTensorData(result[o]!), result[o]!.dims)]));
}
