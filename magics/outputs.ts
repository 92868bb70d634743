// Turns what a cell produced into artifact files: each rich output as `outputs/NNN-<kind>.<ext>`
// by MIME type (a Vega-Lite chart as `.vl.json` with a rendered `.svg` beside it, which MLflow's
// UI can preview), stdout/stderr as text, the error with its traceback, the cell's source, and a
// `.ipynb` snapshot of the session's executed cells. Pure: no tracking, no kernel.

import type * as nb from "@jupyterlab/nbformat";
import { toNbformat, type MimeBundle, type NotebookOutput } from "../kernel/extensions.js";

export type { MimeBundle };

/** A cell output in nbformat's shape (the kernel's NotebookOutput), so the notebook snapshot is a plain copy. */
export type CellOutput = NotebookOutput;

export interface ArtifactFile {
  path: string;
  data: Uint8Array | string;
}

export type SvgRenderer = (spec: unknown) => Promise<string>;

const VEGA_LITE = /^application\/vnd\.vegalite\.v\d+\+json$/;

/** Known MIME types: the name part and extension of their files. */
const MIME_FILES: Record<string, { kind: string; ext: string; binary?: boolean }> = {
  "image/png": { kind: "image", ext: "png", binary: true },
  "image/jpeg": { kind: "image", ext: "jpg", binary: true },
  "image/gif": { kind: "image", ext: "gif", binary: true },
  "image/svg+xml": { kind: "image", ext: "svg" },
  "text/html": { kind: "html", ext: "html" },
  "text/markdown": { kind: "markdown", ext: "md" },
  "text/latex": { kind: "latex", ext: "tex" },
  "application/json": { kind: "data", ext: "json" },
};

// ANSI colour codes make tracebacks unreadable as plain files.
// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

const text = (v: unknown): string => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : JSON.stringify(v, null, 2));
const pad = (n: number) => String(n).padStart(3, "0");

export interface OutputArtifactOptions {
  redact?: (s: string) => string;
  renderSvg?: SvgRenderer;
  /** Called when a chart cannot be rendered; the `.vl.json` is still saved. */
  warn?: (message: string) => void;
}

/** The artifact files for one bundle, numbered `seq`. */
export async function bundleArtifacts(bundle: MimeBundle, seq: number, opts: OutputArtifactOptions = {}): Promise<ArtifactFile[]> {
  const redact = opts.redact ?? ((s: string) => s);
  const files: ArtifactFile[] = [];
  const base = `outputs/${pad(seq)}`;
  const chartMime = Object.keys(bundle).find((m) => VEGA_LITE.test(m));
  if (chartMime) {
    const spec = bundle[chartMime];
    files.push({ path: `${base}-chart.vl.json`, data: redact(text(spec)) });
    let svg = typeof bundle["image/svg+xml"] === "string" ? (bundle["image/svg+xml"] as string) : undefined;
    if (svg === undefined && opts.renderSvg) {
      try {
        svg = await opts.renderSvg(typeof spec === "string" ? JSON.parse(spec) : spec);
      } catch (err) {
        opts.warn?.(`Could not render chart ${base}-chart.vl.json to SVG: ${(err as Error).message}`);
      }
    }
    if (svg !== undefined) files.push({ path: `${base}-chart.svg`, data: svg });
  }
  for (const [mime, value] of Object.entries(bundle)) {
    if (mime === "text/plain" || VEGA_LITE.test(mime)) continue;
    if (chartMime && mime === "image/svg+xml") continue;
    const f = MIME_FILES[mime] ?? (mime.endsWith("+json") ? { kind: "data", ext: "json" } : undefined);
    if (!f) continue;
    const data = f.binary ? Buffer.from(text(value).replace(/\s+/g, ""), "base64") : redact(text(value));
    files.push({ path: `${base}-${f.kind}.${f.ext}`, data });
  }
  if (files.length === 0 && bundle["text/plain"] !== undefined) {
    files.push({ path: `${base}-text.txt`, data: redact(text(bundle["text/plain"])) });
  }
  return files;
}

/** A rich execute_result is one with more than a text/plain fallback; plain values are not saved. */
const isRich = (b: MimeBundle) => Object.keys(b).some((m) => m !== "text/plain");

/** Every artifact file for a cell's outputs, in output order. */
export async function outputArtifacts(outputs: readonly CellOutput[], opts: OutputArtifactOptions = {}): Promise<ArtifactFile[]> {
  const redact = opts.redact ?? ((s: string) => s);
  const files: ArtifactFile[] = [];
  const streams = { stdout: "", stderr: "" };
  let seq = 0;
  for (const out of outputs) {
    if (out.output_type === "stream") streams[out.name] += out.text;
    else if (out.output_type === "display_data" || (out.output_type === "execute_result" && isRich(out.data))) {
      files.push(...(await bundleArtifacts(out.data, ++seq, opts)));
    } else if (out.output_type === "error") {
      files.push({ path: "error.txt", data: redact(errorText(out)) });
    }
  }
  if (streams.stdout) files.push({ path: "outputs/stdout.txt", data: redact(streams.stdout) });
  if (streams.stderr) files.push({ path: "outputs/stderr.txt", data: redact(streams.stderr) });
  return files;
}

export const errorText = (e: { ename: string; evalue: string; traceback: string[] }): string =>
  `${e.ename}: ${e.evalue}\n\n${stripAnsi(e.traceback.join("\n"))}\n`;

/** One executed cell as the session remembers it. */
export interface ExecutedCell {
  source: string;
  executionCount: number | null;
  cellId?: string;
  outputs: CellOutput[];
}

const CELL_ID = /^[a-zA-Z0-9-_]{1,64}$/;

/** The session's executed cells as an nbformat 4.5 notebook (JSON text). */
export function notebookSnapshot(cells: readonly ExecutedCell[], redact: (s: string) => string = (s) => s): string {
  const used = new Set<string>();
  const nbCells: nb.ICodeCell[] = cells.map((c, i) => {
    let id = c.cellId && CELL_ID.test(c.cellId) && !used.has(c.cellId) ? c.cellId : `cell-${i + 1}`;
    while (used.has(id)) id += "-x";
    used.add(id);
    return {
      cell_type: "code",
      id,
      metadata: {},
      execution_count: c.executionCount,
      source: redact(c.source),
      outputs: c.outputs.map((o) => toNbformat(redactOutput(o, redact))),
    };
  });
  const notebook: nb.INotebookContent = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tslab-mlflow", display_name: "TypeScript (tslab-mlflow)", language: "typescript" },
      language_info: { name: "typescript", file_extension: ".ts", mimetype: "text/typescript" },
    },
    cells: nbCells,
  };
  return JSON.stringify(notebook, null, 1) + "\n";
}

function redactOutput(o: CellOutput, redact: (s: string) => string): CellOutput {
  switch (o.output_type) {
    case "stream":
      return { ...o, text: redact(o.text) };
    case "error":
      return { ...o, evalue: redact(o.evalue), traceback: o.traceback.map(redact) };
    default: {
      const data: MimeBundle = {};
      for (const [k, v] of Object.entries(o.data)) data[k] = typeof v === "string" && !k.startsWith("image/") ? redact(v) : v;
      return { ...o, data };
    }
  }
}
