// Papermill-style parameters for TypeScript notebooks: values from `-p NAME VALUE` (typed as
// papermill types them), `-r NAME VALUE` (always strings), `-y YAML` and `-f FILE.yaml`,
// written as declarations in a new cell tagged `injected-parameters` right after the cell
// tagged `parameters`. An injected declaration keeps the keyword and type annotation of the
// default it overrides, so the rest of the notebook type-checks exactly as before.

import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type { ICell, INotebookContent } from "@jupyterlab/nbformat";
import { InputError } from "./input-error.js";
import { cellTags, joinSource, splitLines } from "./notebook.js";

export type ParamValue = string | number | boolean | null | ParamValue[] | { [key: string]: ParamValue };
export type Parameters = Record<string, ParamValue>;

// `yaml` takes a while to load and most runs give no YAML: loaded on first use (synchronously,
// so parsing stays a plain function), off the path to the kernel's start.
const require = createRequire(import.meta.url);
let yaml: typeof import("yaml") | undefined;

export const PARAMETERS_TAG = "parameters";
export const INJECTED_TAG = "injected-parameters";

/**
 * papermill's `_resolve_type`: booleans, null, integers, floats, else the string itself. A
 * number JavaScript cannot hold as written (`1e400`, an integer past 2^53) is refused rather
 * than changed: `-r NAME VALUE` passes it as a string.
 */
export function parseParamValue(raw: string, name = "?"): ParamValue {
  if (raw === "True" || raw === "true") return true;
  if (raw === "False" || raw === "false") return false;
  if (raw === "None" || raw === "null") return null;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim())) {
    const n = Number(raw);
    if (!Number.isFinite(n)) {
      throw new InputError(
        "BAD_PARAMETER",
        `-p ${name} ${raw}: out of the range of a number (it would become ${n}); use -r ${name} ${raw} to pass it as a string`,
      );
    }
    if (/^[+-]?\d+$/.test(raw.trim()) && !Number.isSafeInteger(n)) {
      throw new InputError(
        "BAD_PARAMETER",
        `-p ${name} ${raw}: an integer beyond ±2^53 cannot be held exactly (it would become ${BigInt(n)}); use -r ${name} ${raw} to pass it as a string`,
      );
    }
    return n;
  }
  return raw;
}

/** Sets an own property, also for names like `__proto__` that plain assignment would not create. */
function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "let static yield await implements interface package private protected public"
  ).split(" "),
);

export function checkParamName(name: string): void {
  // `__proto__` is an identifier, but as a top-level name of a cell it would replace the
  // prototype of the object the kernel keeps cell variables in.
  if (!/^[A-Za-z_$][\w$]*$/.test(name) || RESERVED.has(name) || name === "__proto__") {
    throw new InputError(
      "BAD_PARAMETER",
      `bad parameter name ${JSON.stringify(name)}: expected a TypeScript identifier (letters, digits, _ or $, not starting with a digit, not a reserved word, not __proto__)`,
    );
  }
}

/** Values must survive JSON (notebook metadata) and be writable as a TypeScript literal. */
function checkValue(name: string, value: unknown, where: string): ParamValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new InputError("BAD_PARAMETER", `parameter ${name} from ${where}: ${value} is not a finite number`);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => checkValue(`${name}[${i}]`, v, where));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, checkValue(`${name}.${k}`, v, where));
    return out;
  }
  throw new InputError(
    "BAD_PARAMETER",
    `parameter ${name} from ${where}: unsupported value ${String(value)}; accepted: strings, numbers, booleans, null, lists and mappings`,
  );
}

/** A YAML document that must be a mapping of parameter names to values. */
export function parseParamsYaml(text: string, where: string): Parameters {
  let doc: unknown;
  try {
    yaml ??= require("yaml") as typeof import("yaml");
    doc = yaml.parse(text);
  } catch (e) {
    throw new InputError("BAD_PARAMETERS_FILE", `${where} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new InputError(
      "BAD_PARAMETERS_FILE",
      `${where} must be a YAML mapping of parameter names to values, not ${Array.isArray(doc) ? "a list" : typeof doc}`,
    );
  }
  const params: Parameters = {};
  for (const [k, v] of Object.entries(doc)) {
    checkParamName(k);
    setOwn(params, k, checkValue(k, v, where));
  }
  return params;
}

export interface ParameterSources {
  /** `-f FILE` paths, in order. */
  files?: string[];
  /** `-y YAML` texts, in order. */
  yaml?: string[];
  /** `-p NAME VALUE` pairs (typed) and `-r NAME VALUE` pairs (raw strings), in command-line order. */
  pairs?: { name: string; value: string; raw: boolean }[];
}

/** Merges the sources as papermill does: files, then YAML strings, then -p/-r (last wins). */
export async function collectParameters(src: ParameterSources): Promise<Parameters> {
  const params: Parameters = {};
  for (const file of src.files ?? []) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new InputError(
        "BAD_PARAMETERS_FILE",
        `cannot read parameters file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    for (const [k, v] of Object.entries(parseParamsYaml(text, file))) setOwn(params, k, v);
  }
  for (const text of src.yaml ?? []) for (const [k, v] of Object.entries(parseParamsYaml(text, "-y"))) setOwn(params, k, v);
  for (const { name, value, raw } of src.pairs ?? []) {
    checkParamName(name);
    setOwn(params, name, raw ? value : parseParamValue(value, name));
  }
  return params;
}

/** TypeScript source for a value: JSON, with identifier keys unquoted and a little spacing. */
export function tsLiteral(value: ParamValue): string {
  if (Array.isArray(value)) return `[${value.map(tsLiteral).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => `${objectKey(k)}: ${tsLiteral(v)}`);
    return entries.length ? `{ ${entries.join(", ")} }` : "{}";
  }
  // Line and paragraph separators and NEL are escaped (JSON leaves them raw): the value stays
  // one source line everywhere (nbformat splits sources on them), and arrives exactly as given.
  return JSON.stringify(value).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A key of an object literal. `__proto__` as a plain or quoted key would set the prototype: computed, it is a property. */
function objectKey(k: string): string {
  if (k === "__proto__") return `[${tsLiteral(k)}]`;
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : tsLiteral(k);
}

/** How the `parameters` cell declares a name: keyword and type annotation (if any). */
export interface Declaration {
  keyword: "const" | "let" | "var";
  type?: string;
}

/** Top-level declarations of a cell, read with tslab's TypeScript parser (already a dependency). */
export async function declarationsOf(source: string): Promise<Map<string, Declaration>> {
  // require, not import(): importing a 9 MB CommonJS file as ESM first scans it for its
  // export names, which costs more than loading it (~650 ms against ~250 ms here).
  const ts: typeof import("@tslab/typescript-for-tslab") = createRequire(import.meta.url)("@tslab/typescript-for-tslab");
  const file = ts.createSourceFile("parameters.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = new Map<string, Declaration>();
  for (const stmt of file.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    const flags = stmt.declarationList.flags;
    const keyword = flags & ts.NodeFlags.Const ? "const" : flags & ts.NodeFlags.Let ? "let" : "var";
    for (const decl of stmt.declarationList.declarations) {
      if (!ts.isIdentifier(decl.name)) continue;
      out.set(decl.name.text, { keyword, type: decl.type?.getText(file) });
    }
  }
  return out;
}

export function renderInjectedSource(params: Parameters, declared: Map<string, Declaration>): string {
  const lines = ["// Parameters injected by `tslab-mlflow run`"];
  for (const [name, value] of Object.entries(params)) {
    const d = declared.get(name);
    // A `let` default stays reassignable; everything else is a const with its literal type.
    const keyword = d && d.keyword !== "const" ? "let" : "const";
    const type = d?.type ? `: ${d.type}` : "";
    lines.push(`${keyword} ${name}${type} = ${tsLiteral(value)};`);
  }
  return lines.join("\n");
}

export interface Injection {
  /** Index of the injected cell in the new notebook. */
  index: number;
  /** True when the notebook had no `parameters` cell and the values went to the top. */
  atTop: boolean;
  /** How many injected cells from an earlier run were replaced. */
  replaced: number;
}

/**
 * Puts a fresh `injected-parameters` cell after the first `parameters` cell (or at the top),
 * removing any left by an earlier run. Mutates `nb`.
 */
export async function injectParameters(nb: INotebookContent, params: Parameters): Promise<Injection> {
  const before = nb.cells.length;
  nb.cells = nb.cells.filter((c) => !cellTags(c).includes(INJECTED_TAG));
  const replaced = before - nb.cells.length;
  const paramIndex = nb.cells.findIndex((c) => c.cell_type === "code" && cellTags(c).includes(PARAMETERS_TAG));
  const declared = paramIndex >= 0 ? await declarationsOf(joinSource(nb.cells[paramIndex]!.source)) : new Map();
  const cell: ICell = {
    cell_type: "code",
    execution_count: null,
    metadata: { tags: [INJECTED_TAG] },
    outputs: [],
    source: splitLines(renderInjectedSource(params, declared)),
  };
  // nbformat 4.5 requires cell ids; older minors forbid them.
  if (nb.nbformat === 4 && nb.nbformat_minor >= 5) cell.id = randomBytes(4).toString("hex");
  const index = paramIndex + 1;
  nb.cells.splice(index, 0, cell);
  return { index, atTop: paramIndex < 0, replaced };
}

/** MLflow params are strings: scalars as written, lists and mappings as JSON. */
export function paramString(value: ParamValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
