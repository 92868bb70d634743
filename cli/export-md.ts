// A notebook as Markdown for docs sites: fenced code, text outputs as fenced blocks, images
// and charts (their SVG) as files in a folder beside the .md, referenced relatively.

import type { ICell, INotebookContent, IOutput } from "@jupyterlab/nbformat";
import { isCodeCell, joinSource } from "./notebook.js";
import { applyCarriageReturns, stripAnsi } from "./html/ansi.js";
import {
  IMAGE_EXTENSIONS,
  MARKDOWN_ORDER,
  base64Data,
  bundleJson,
  bundleText,
  isVega,
  isVegaLite,
  pickMime,
  type Bundle,
} from "./html/mime.js";
import { withoutSchema } from "./html/schema.js";

export interface MarkdownFile {
  /** File name inside the files folder. */
  name: string;
  data: Buffer;
}

export interface MarkdownExport {
  markdown: string;
  files: MarkdownFile[];
  warnings: string[];
}

/** `filesDir` is the folder's name as the Markdown links to it (relative to the .md). */
export async function renderMarkdown(nb: INotebookContent, filesDir: string): Promise<MarkdownExport> {
  const out: MarkdownExport = { markdown: "", files: [], warnings: [] };
  const blocks: string[] = [];
  for (const [index, cell] of nb.cells.entries()) {
    blocks.push(...(await renderCell(cell, index, filesDir, out)));
  }
  out.markdown = blocks.filter((b) => b.trim() !== "").join("\n\n") + "\n";
  return out;
}

async function renderCell(cell: ICell, index: number, filesDir: string, out: MarkdownExport): Promise<string[]> {
  const source = joinSource(cell.source);
  if (cell.cell_type === "markdown") return [writeAttachments(source, cell, index, filesDir, out)];
  if (cell.cell_type === "raw") return [source];
  if (!isCodeCell(cell)) return [];
  const blocks = [fence(source, "typescript")];
  const outputs = mergeStreams(Array.isArray(cell.outputs) ? cell.outputs : []);
  for (const [i, output] of outputs.entries()) {
    blocks.push(await renderOutput(output, `output_${index}_${i}`, filesDir, out));
  }
  return blocks;
}

async function renderOutput(output: IOutput, stem: string, filesDir: string, out: MarkdownExport): Promise<string> {
  if (output.output_type === "stream") return fence(stripAnsi(applyCarriageReturns(bundleText(output.text))));
  if (output.output_type === "error") {
    const tb = Array.isArray(output.traceback) ? (output.traceback as string[]).join("\n") : "";
    return fence(stripAnsi(tb || `${output.ename}: ${output.evalue}`));
  }
  if (output.output_type !== "execute_result" && output.output_type !== "display_data") return "";
  const bundle = (output.data ?? {}) as Bundle;
  const mime = pickMime(bundle, MARKDOWN_ORDER);
  if (mime === undefined) return "";
  const value = bundle[mime];
  const ext = IMAGE_EXTENSIONS[mime];
  if (ext !== undefined) {
    const data = mime === "image/svg+xml" ? Buffer.from(bundleText(value), "utf8") : Buffer.from(base64Data(value), "base64");
    return addFile(out, `${stem}.${ext}`, data, filesDir, "output");
  }
  if (isVegaLite(mime) || isVega(mime)) {
    try {
      const svg = await (await import("./html/vega-svg.js")).renderChartSvg(
        withoutSchema(bundleJson(value)),
        isVegaLite(mime) ? "vega-lite" : "vega",
      );
      return addFile(out, `${stem}.svg`, Buffer.from(svg, "utf8"), filesDir, "chart");
    } catch (e) {
      out.warnings.push(`a chart could not be rendered to SVG (${(e as Error).message})`);
      return fence(bundleText(bundle["text/plain"] ?? JSON.stringify(bundleJson(value), null, 2)));
    }
  }
  if (mime === "text/markdown" || mime === "text/html") return bundleText(value);
  if (mime === "application/json") return fence(JSON.stringify(bundleJson(value), null, 2), "json");
  return fence(stripAnsi(bundleText(value)));
}

function addFile(out: MarkdownExport, name: string, data: Buffer, filesDir: string, alt: string): string {
  out.files.push({ name, data });
  return `![${alt}](${encodeURI(`${filesDir}/${name}`)})`;
}

/** Cell attachments become files; `attachment:x` links point at them. */
function writeAttachments(md: string, cell: ICell, index: number, filesDir: string, out: MarkdownExport): string {
  const attachments = cell.attachments as Record<string, Bundle> | undefined;
  if (!attachments) return md;
  return md.replace(/attachment:([^\s)"']+)/g, (whole, name: string) => {
    const bundle = attachments[decodeURIComponent(name)];
    const mime = bundle && Object.keys(bundle)[0];
    if (!bundle || !mime) return whole;
    const data = mime === "image/svg+xml" ? Buffer.from(bundleText(bundle[mime]), "utf8") : Buffer.from(base64Data(bundle[mime]), "base64");
    const file = `attachment_${index}_${decodeURIComponent(name).replace(/[^\w.-]+/g, "_")}`;
    out.files.push({ name: file, data });
    return encodeURI(`${filesDir}/${file}`);
  });
}

/** Adjacent stream outputs to the same stream read as one block, as in Jupyter. */
function mergeStreams(outputs: IOutput[]): IOutput[] {
  const merged: IOutput[] = [];
  for (const o of outputs) {
    const prev = merged[merged.length - 1];
    if (o.output_type === "stream" && prev?.output_type === "stream" && prev.name === o.name) {
      merged[merged.length - 1] = { ...prev, text: bundleText(prev.text) + bundleText(o.text) };
    } else merged.push(o);
  }
  return merged;
}

/** A fenced block whose fence is longer than any backtick run inside the text. */
export function fence(text: string, lang = ""): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const f = "`".repeat(longest + 1);
  return `${f}${lang}\n${text.replace(/\n$/, "")}\n${f}`;
}
