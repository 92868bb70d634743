// Notebooks built by hand for the run/export tests (nbformat 4.5 JSON written to temp dirs).
import fs from "node:fs";
import path from "node:path";

export interface CellSpec {
  source: string;
  tags?: string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

let ids = 0;

export function code(source: string, extra: Partial<CellSpec> = {}) {
  return {
    cell_type: "code",
    id: `cell-${++ids}`,
    metadata: extra.tags ? { tags: extra.tags } : {},
    execution_count: extra.execution_count ?? null,
    source: splitLines(source),
    outputs: extra.outputs ?? [],
  };
}

export function markdown(source: string) {
  return { cell_type: "markdown", id: `cell-${++ids}`, metadata: {}, source: splitLines(source) };
}

export function notebook(cells: unknown[]) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tslab-mlflow", display_name: "TypeScript (tslab-mlflow)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells,
  };
}

export function writeNotebook(dir: string, name: string, nb: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
  return file;
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A one-pixel red PNG. */
export const PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

export const BAR_SPEC = {
  $schema: "https://vega.github.io/schema/vega-lite/v5.json",
  data: {
    values: [
      { a: "A", b: 3 },
      { a: "B", b: 5 },
      { a: "C", b: 2 },
    ],
  },
  mark: "bar",
  encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
};

/** A hand-made static fallback, distinguishable from anything vega would draw. */
export const FALLBACK_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" class="hand-fallback">' +
  '<rect width="120" height="40" fill="#eee"/><text x="8" y="25">static bar chart</text></svg>';
