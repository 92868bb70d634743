// Reading and writing .ipynb files (nbformat 4) with the @jupyterlab/nbformat types.
// Reading checks the shape just enough to fail early with a clear message; writing uses
// nbformat's own layout (1-space indent, sorted as given, trailing newline) so diffs stay small.

import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../tracking/light.js";
import type { ICell, ICodeCell, INotebookContent, IOutput, MultilineString } from "@jupyterlab/nbformat";
import { InputError } from "./input-error.js";

export type { ICell, ICodeCell, INotebookContent, IOutput, MultilineString };

/** Reads and checks a notebook; throws InputError naming the file and what is wrong. */
export async function readNotebook(path: string): Promise<INotebookContent> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw new InputError("ENOENT_NOTEBOOK", `notebook not found: ${path}`);
    if (err.code === "EISDIR") throw new InputError("NOT_A_NOTEBOOK", `${path} is a directory, not a .ipynb notebook`);
    throw new InputError("ENOENT_NOTEBOOK", `cannot read notebook ${path}: ${err.message}`);
  }
  return parseNotebook(text, path);
}

export function parseNotebook(text: string, path = "<notebook>"): INotebookContent {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError("NOT_A_NOTEBOOK", `${path} is not a notebook: not JSON (${(e as Error).message})`);
  }
  const nb = data as Partial<INotebookContent> | null;
  if (nb === null || typeof nb !== "object" || Array.isArray(nb)) {
    throw new InputError("NOT_A_NOTEBOOK", `${path} is not a notebook: expected a JSON object with "cells"`);
  }
  if (nb.nbformat !== 4) {
    throw new InputError(
      "NOT_A_NOTEBOOK",
      `${path} is not a notebook in nbformat 4 (nbformat is ${JSON.stringify(nb.nbformat)}; accepted: 4)`,
    );
  }
  if (!Array.isArray(nb.cells)) {
    throw new InputError("NOT_A_NOTEBOOK", `${path} is not a notebook: "cells" is not a list`);
  }
  nb.cells.forEach((cell, i) => {
    if (cell === null || typeof cell !== "object" || typeof cell.cell_type !== "string") {
      throw new InputError("NOT_A_NOTEBOOK", `${path}: cell ${i} has no cell_type`);
    }
    if (typeof cell.source !== "string" && !Array.isArray(cell.source)) {
      throw new InputError("NOT_A_NOTEBOOK", `${path}: cell ${i} has no source`);
    }
    cell.metadata ??= {};
  });
  nb.metadata ??= {};
  nb.nbformat_minor ??= 4;
  return nb as INotebookContent;
}

/** Written beside the target and renamed (atomic-write.ts), so a reader never sees half a notebook. */
export async function writeNotebook(path: string, nb: INotebookContent): Promise<void> {
  await writeFileAtomic(path, serializeNotebook(nb));
}

/** The bytes nbformat itself would write: multi-line strings split, keys sorted, indent 1. */
export function serializeNotebook(nb: INotebookContent): string {
  return JSON.stringify(sortKeys(splitNotebookLines(nb)), null, 1) + "\n";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

// nbformat's split_lines: sources, stream text and text-like MIME values become line lists.
const SPLIT_MIMES = new Set(["application/javascript", "image/svg+xml"]);

function splitBundle(bundle: unknown): unknown {
  if (bundle === null || typeof bundle !== "object") return bundle;
  const out: Record<string, unknown> = {};
  for (const [mime, v] of Object.entries(bundle)) {
    out[mime] = typeof v === "string" && (mime.startsWith("text/") || SPLIT_MIMES.has(mime)) ? pySplitLines(v) : v;
  }
  return out;
}

function splitNotebookLines(nb: INotebookContent): INotebookContent {
  const cells = nb.cells.map((cell) => {
    const c: Record<string, unknown> = { ...cell };
    if (typeof cell.source === "string") c.source = pySplitLines(cell.source);
    if (cell.attachments && typeof cell.attachments === "object") {
      c.attachments = Object.fromEntries(Object.entries(cell.attachments).map(([k, b]) => [k, splitBundle(b)]));
    }
    if (isCodeCell(cell) && Array.isArray(cell.outputs)) {
      c.outputs = cell.outputs.map((o) => {
        if (o.output_type === "stream" && typeof o.text === "string") return { ...o, text: pySplitLines(o.text) };
        if (o.output_type === "display_data" || o.output_type === "execute_result") return { ...o, data: splitBundle(o.data) };
        return o;
      });
    }
    return c as unknown as ICell;
  });
  return { ...nb, cells };
}

/** Python's `str.splitlines(True)`, which nbformat uses (it also breaks on \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029). */
export function pySplitLines(text: string): string[] {
  return text.match(/[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|$)/g)!.filter((l) => l !== "");
}

export function joinSource(source: MultilineString | undefined): string {
  if (source === undefined) return "";
  return Array.isArray(source) ? source.join("") : source;
}

/** nbformat's on-disk convention: a list of lines, each keeping its "\n". */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export function isCodeCell(cell: ICell): cell is ICodeCell {
  return cell.cell_type === "code";
}

export function cellTags(cell: ICell): string[] {
  const tags = (cell.metadata as { tags?: unknown }).tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

/** First non-blank line of a cell, for logs and error messages. */
export function firstLine(cell: ICell, max = 60): string {
  const line =
    joinSource(cell.source)
      .split("\n")
      .find((l) => l.trim() !== "") ?? "";
  const trimmed = line.trim();
  return trimmed.length > max ? trimmed.slice(0, max - 1) + "…" : trimmed;
}

/** Anything that redacts text (magics/redact.ts's Redactor). */
export interface TextRedactor {
  text(s: string): string;
}

// Image data is base64: a short secret could match inside it by chance and break the image.
const BINARY_MIME = /^image\/(?!svg)/;

/**
 * A copy of the notebook with every secret replaced (sources, outputs, metadata such as the
 * injected parameters), for what leaves the machine: the notebook and page `run` uploads,
 * exported pages. Image data is left as it is.
 */
export function redactNotebook(nb: INotebookContent, r: TextRedactor): INotebookContent {
  const walk = (v: unknown, mime?: string): unknown => {
    if (typeof v === "string") return mime && BINARY_MIME.test(mime) ? v : r.text(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, mime));
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    // Keys are kept: they are field names, MIME types and parameter names.
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, { value: walk(x, k.includes("/") ? k : mime), enumerable: true, writable: true, configurable: true });
    return out;
  };
  return walk(nb) as INotebookContent;
}
