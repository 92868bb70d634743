// Values of the notebook's papermill-style `parameters` cell and the `injected-parameters`
// cell that `tslab-mlflow run -p` (or papermill) places after it: read from the notebook file,
// literal consts only, injected values winning. These become params of every run.

import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { cellParams, type Literal } from "./cell-params.js";

interface NbCell {
  cell_type?: string;
  source?: string | string[];
  metadata?: { tags?: unknown };
}

const cache = new Map<string, { mtimeMs: number; values: Map<string, Literal> }>();

/** `parameters` then `injected-parameters` cell values of the notebook at `file` (empty if unreadable). */
export function notebookParameters(file: string | undefined, cwd: string): Map<string, Literal> {
  if (!file || !file.endsWith(".ipynb")) return new Map();
  const full = path.resolve(cwd, file);
  try {
    const { mtimeMs } = statSync(full);
    const hit = cache.get(full);
    if (hit && hit.mtimeMs === mtimeMs) return hit.values;
    const nb = JSON.parse(readFileSync(full, "utf8")) as { cells?: NbCell[] };
    const values = new Map<string, Literal>();
    for (const tag of ["parameters", "injected-parameters"]) {
      for (const cell of nb.cells ?? []) {
        const tags = Array.isArray(cell.metadata?.tags) ? (cell.metadata!.tags as unknown[]) : [];
        if (cell.cell_type !== "code" || !tags.includes(tag)) continue;
        const src = Array.isArray(cell.source) ? cell.source.join("") : (cell.source ?? "");
        for (const p of cellParams(src)) values.set(p.name, p.value);
      }
    }
    cache.set(full, { mtimeMs, values });
    return values;
  } catch {
    // No file (a new untitled notebook) or not JSON: there are simply no parameters.
    return new Map();
  }
}
