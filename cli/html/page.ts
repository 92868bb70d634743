// A whole executed notebook as one standalone HTML page: rendered markdown, highlighted
// code, every output. The chart scripts are inlined (or written beside the page) so the
// page works offline; they are left out when the notebook has no charts.

import { marked } from "marked";
import hljs from "highlight.js/lib/core";
import typescript from "highlight.js/lib/languages/typescript";
import type { ICell, INotebookContent } from "@jupyterlab/nbformat";
import { isCodeCell, joinSource } from "../notebook.js";
import { escapeHtml } from "./ansi.js";
import { highlightTheme, inlineScript, vegaScripts, type ScriptAsset } from "./assets.js";
import { base64Data, bundleText, type Bundle } from "./mime.js";
import { renderOutput, type OutputContext } from "./outputs.js";
import { PAGE_CSS, PAGE_SCRIPT } from "./style.js";

hljs.registerLanguage("typescript", typescript);

export interface PageOptions {
  title: string;
  /** "inline" (one self-contained file) or a folder, relative to the page, to load them from. */
  scripts: "inline" | { dir: string };
}

export interface Page {
  html: string;
  /** Files to write beside the page (only with `scripts: {dir}` and charts present). */
  assets: ScriptAsset[];
  warnings: string[];
}

export async function renderPage(nb: INotebookContent, options: PageOptions): Promise<Page> {
  const warnings: string[] = [];
  let charts = 0;
  const ctx: OutputContext = {
    nextChartId: () => `chart-${++charts}`,
    warn: (m) => warnings.push(m),
  };
  const cells: string[] = [];
  for (const cell of nb.cells) cells.push(await renderCell(cell, ctx));

  let scripts = "";
  let assets: ScriptAsset[] = [];
  if (charts > 0) {
    if (options.scripts === "inline") {
      scripts = vegaScripts()
        .map((s) => `<script>${inlineScript(s.source)}</script>`)
        .join("\n");
    } else {
      const dir = options.scripts.dir;
      assets = vegaScripts();
      scripts = assets.map((s) => `<script src="${escapeHtml(`${dir}/${s.file}`)}"></script>`).join("\n");
    }
    scripts += `\n<script>${PAGE_SCRIPT}</script>`;
  }

  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tslab-mlflow export">
<title>${escapeHtml(options.title)}</title>
<style>${highlightTheme()}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<main class="notebook">
${cells.join("\n")}
</main>
${scripts}
</body>
</html>
`;
  return { html, assets, warnings };
}

async function renderCell(cell: ICell, ctx: OutputContext): Promise<string> {
  const source = joinSource(cell.source);
  const idAttr = typeof cell.id === "string" ? ` id="cell-${escapeHtml(cell.id)}"` : "";
  if (cell.cell_type === "markdown") {
    const md = inlineAttachments(source, cell.attachments as Record<string, Bundle> | undefined);
    return `<section class="cell markdown-cell"${idAttr}><div class="markdown-body">${marked.parse(md, { async: false })}</div></section>`;
  }
  if (cell.cell_type === "raw") {
    const format =
      (cell.metadata as { format?: string; raw_mimetype?: string }).format ?? (cell.metadata as { raw_mimetype?: string }).raw_mimetype;
    if (format === "text/html") return `<section class="cell raw-cell"${idAttr}><div class="raw">${source}</div></section>`;
    return `<section class="cell raw-cell"${idAttr}><pre class="raw">${escapeHtml(source)}</pre></section>`;
  }
  if (!isCodeCell(cell)) return "";

  const count = typeof cell.execution_count === "number" ? String(cell.execution_count) : " ";
  const parts = [
    `<section class="cell code-cell"${idAttr}>`,
    `<div class="prompt">In&nbsp;[${count}]:</div>`,
    `<div class="input"><pre><code class="hljs language-typescript">${highlightCode(source)}</code></pre></div>`,
  ];
  const outputs = Array.isArray(cell.outputs) ? cell.outputs : [];
  for (const output of outputs) {
    const body = await renderOutput(output, ctx);
    if (!body) continue;
    const prompt = output.output_type === "execute_result" ? `Out[${count}]:` : "";
    parts.push(`<div class="output-row"><div class="prompt">${prompt}</div>${body}</div>`);
  }
  parts.push(`</section>`);
  return parts.join("");
}

/** Leading `%magic` lines are not TypeScript: shown apart, the rest highlighted. */
export function highlightCode(source: string): string {
  const lines = source.split("\n");
  let n = 0;
  while (n < lines.length && /^\s*%/.test(lines[n]!)) n++;
  const magic = lines
    .slice(0, n)
    .map((l) => `<span class="magic">${escapeHtml(l)}</span>\n`)
    .join("");
  const code = lines.slice(n).join("\n");
  return magic + hljs.highlight(code, { language: "typescript", ignoreIllegals: true }).value;
}

/** `![x](attachment:name.png)` in a markdown cell becomes a data: URL from the cell's attachments. */
function inlineAttachments(md: string, attachments: Record<string, Bundle> | undefined): string {
  if (!attachments) return md;
  return md.replace(/attachment:([^\s)"']+)/g, (whole, name: string) => {
    const bundle = attachments[decodeURIComponent(name)];
    if (!bundle) return whole;
    const mime = Object.keys(bundle)[0];
    if (!mime) return whole;
    const data = mime === "image/svg+xml" ? Buffer.from(bundleText(bundle[mime]), "utf8").toString("base64") : base64Data(bundle[mime]);
    return `data:${mime};base64,${data}`;
  });
}
