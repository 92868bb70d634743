// One notebook output (stream, execute_result, display_data, error) as an HTML fragment.
// Charts become a container holding the spec and a static fallback; the page's script
// swaps in the interactive vega-embed view when scripts run.

import { marked } from "marked";
import type { IOutput } from "@jupyterlab/nbformat";
import { ansiToHtml, applyCarriageReturns, escapeHtml } from "./ansi.js";
import { HTML_ORDER, base64Data, bundleJson, bundleText, isVega, isVegaLite, pickMime, type Bundle } from "./mime.js";
import { withoutSchema } from "./schema.js";

export interface OutputContext {
  /** Unique id for chart containers on this page. */
  nextChartId(): string;
  /** Warnings about outputs that could not be shown faithfully. */
  warn(message: string): void;
}

export async function renderOutput(output: IOutput, ctx: OutputContext): Promise<string> {
  switch (output.output_type) {
    case "stream": {
      const name = output.name === "stderr" ? "stderr" : "stdout";
      const text = applyCarriageReturns(bundleText(output.text));
      return `<div class="output stream ${name}"><pre>${ansiToHtml(text)}</pre></div>`;
    }
    case "error": {
      const tb = Array.isArray(output.traceback) ? (output.traceback as string[]) : [];
      const text = tb.length ? tb.join("\n") : `${output.ename}: ${output.evalue}`;
      return `<div class="output error"><pre>${ansiToHtml(text)}</pre></div>`;
    }
    case "execute_result":
    case "display_data": {
      const bundle = (output.data ?? {}) as Bundle;
      const metadata = (output.metadata ?? {}) as Record<string, unknown>;
      const body = await renderBundle(bundle, metadata, ctx);
      return `<div class="output ${output.output_type}">${body}</div>`;
    }
    default:
      return "";
  }
}

async function renderBundle(bundle: Bundle, metadata: Record<string, unknown>, ctx: OutputContext) {
  const mime = pickMime(bundle, HTML_ORDER);
  if (mime === undefined) return "";
  const value = bundle[mime];
  if (isVegaLite(mime) || isVega(mime)) return renderChart(mime, bundle, ctx);
  switch (mime) {
    case "text/html":
      return `<div class="html">${bundleText(value)}</div>`;
    case "image/svg+xml":
      return `<div class="svg">${bundleText(value)}</div>`;
    case "image/png":
    case "image/jpeg":
    case "image/gif":
      return imageTag(mime, value, metadata[mime]);
    case "text/markdown":
      return `<div class="markdown">${marked.parse(bundleText(value), { async: false })}</div>`;
    case "application/json":
      return `<pre class="json">${escapeHtml(JSON.stringify(bundleJson(value), null, 2))}</pre>`;
    default:
      return `<pre>${ansiToHtml(bundleText(value))}</pre>`;
  }
}

function imageTag(mime: string, value: unknown, meta: unknown): string {
  const size = (meta ?? {}) as { width?: unknown; height?: unknown };
  const attrs = [`src="data:${mime};base64,${base64Data(value)}"`, `alt="output image"`];
  if (typeof size.width === "number") attrs.push(`width="${size.width}"`);
  if (typeof size.height === "number") attrs.push(`height="${size.height}"`);
  return `<img ${attrs.join(" ")}>`;
}

async function renderChart(mime: string, bundle: Bundle, ctx: OutputContext): Promise<string> {
  const mode = isVegaLite(mime) ? "vega-lite" : "vega";
  const spec = withoutSchema(bundleJson(bundle[mime]));
  const id = ctx.nextChartId();
  const fallback = await chartFallback(bundle, spec, mode, ctx);
  // JSON inside <script>: "<" escaped so no string in the data can close the element.
  const json = JSON.stringify(spec)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  return (
    `<div class="vega-output" id="${id}" data-mode="${mode}">` +
    `<div class="vega-target"></div>` +
    `<div class="vega-fallback">${fallback}</div>` +
    `<script type="application/json" class="vega-spec">${json}</script>` +
    `</div>`
  );
}

/** The bundle's own SVG or PNG when it has one, else an SVG rendered here, else the text. */
async function chartFallback(bundle: Bundle, spec: unknown, mode: "vega" | "vega-lite", ctx: OutputContext) {
  if (bundle["image/svg+xml"] !== undefined) return bundleText(bundle["image/svg+xml"]);
  if (bundle["image/png"] !== undefined) return imageTag("image/png", bundle["image/png"], undefined);
  try {
    return await (await import("./vega-svg.js")).renderChartSvg(spec, mode);
  } catch (e) {
    ctx.warn(`a chart has no static fallback (${(e as Error).message})`);
    return `<pre>${escapeHtml(bundleText(bundle["text/plain"] ?? "chart"))}</pre>`;
  }
}
