// Renders one frame of the run panel: run name and status, elapsed time, the latest step, each
// metric's last value with a sparkline of its history, the params logged so far, what still
// waits for delivery, and the run's link. The same frame, ended, is the run's summary.
//
// HTML with inline SVG and inline styles only: no script, no stylesheet, so it renders alike in
// classic Notebook, JupyterLab, VS Code, nbconvert's HTML and exported pages. Where a frontend
// sanitises HTML (an untrusted notebook in JupyterLab strips <svg>), the table still reads. The
// text/plain fallback carries the same facts with a Unicode sparkline. Every user string is
// escaped; redaction of the whole bundle is the caller's (run-panel-live.ts).

import type { RunStatus } from "../tracking/index.js";
import type { MimeBundle } from "./outputs.js";
import type { MetricState } from "./run-panel.js";
import { escapeHtml, fmtValue, runUrl, statusColour } from "./summary.js";

export interface PendingCounts {
  queued: number;
  inFlight: number;
  spooled: number;
}

export interface PanelFrame {
  /** The display this frame belongs to: marks the output so it can be found again. */
  displayId: string;
  runName: string;
  runId: string;
  experimentId: string;
  parentRunId?: string;
  status: RunStatus;
  elapsedMs: number;
  params: ReadonlyMap<string, string>;
  /** Last value and step of each metric (also those a resumed run had before), with its history sample. */
  metrics: ReadonlyMap<string, MetricState>;
  pending?: PendingCounts;
  trackingUri: string;
}

/** Metrics and params shown; the rest are counted. */
export const MAX_ROWS = 12;
const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 22;
const TEXT_SPARK_WIDTH = 24;
const BLOCKS = "▁▂▃▄▅▆▇█";

/** The attribute that marks a panel's output (artifacts leave it out; snapshots refresh it). */
export const panelMarker = (displayId: string): string => `data-run-panel="${escapeHtml(displayId)}"`;

const plural = (n: number, what: string) => `${n.toLocaleString("en-US")} ${what}${n === 1 ? "" : "s"}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** `count` evenly spread picks of `xs` (all of them when there are fewer). */
function resample(xs: readonly number[], count: number): number[] {
  if (xs.length <= count) return [...xs];
  return Array.from({ length: count }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (count - 1))]!);
}

function range(xs: readonly number[]): { lo: number; hi: number } | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return lo <= hi ? { lo, hi } : undefined;
}

/** A Unicode block sparkline (non-finite values as spaces). */
export function sparklineText(values: readonly number[], width = TEXT_SPARK_WIDTH): string {
  const xs = resample(values, width);
  const r = range(xs);
  if (!r || xs.length < 2) return "";
  const span = r.hi - r.lo;
  return xs
    .map((x) => (Number.isFinite(x) ? BLOCKS[span === 0 ? 3 : Math.round(((x - r.lo) / span) * (BLOCKS.length - 1))] : " "))
    .join("");
}

/**
 * An inline SVG sparkline: a polyline over the values in logging order (non-finite values
 * break the line), a dot on the last point. Only numbers go into it, plus the escaped title.
 */
export function sparklineSvg(values: readonly number[], title: string, width = SPARK_WIDTH, height = SPARK_HEIGHT): string {
  const r = range(values);
  if (!r) return "";
  const pad = 2;
  const n = values.length;
  const x = (i: number) => (n === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (n - 1));
  const y = (v: number) => (r.hi === r.lo ? height / 2 : pad + ((r.hi - v) * (height - 2 * pad)) / (r.hi - r.lo));
  const num = (v: number) => Number(v.toFixed(1));
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${num(x(i))} ${num(y(v))}`;
    pen = true;
  });
  const last = values.at(-1)!;
  const dot = Number.isFinite(last) ? `<circle cx="${num(x(n - 1))}" cy="${num(y(last))}" r="2" fill="#0969da"/>` : "";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" style="vertical-align:middle">` +
    `<title>${escapeHtml(title)}</title>` +
    (n > 1 ? `<path d="${d}" fill="none" stroke="#0969da" stroke-width="1.5" stroke-linejoin="round"/>` : "") +
    `${dot}</svg>`
  );
}

interface Row {
  key: string;
  value: number;
  step: number;
  count?: number;
  line: number[];
}

function rows(f: PanelFrame): Row[] {
  return [...f.metrics.keys()].sort().map((key) => {
    const m = f.metrics.get(key)!;
    return { key, value: m.value, step: m.step, count: m.series?.count, line: m.series ? m.series.line() : [] };
  });
}

function pendingText(p: PendingCounts | undefined): string | undefined {
  if (!p) return undefined;
  const total = p.queued + p.inFlight + p.spooled;
  if (total === 0) return "everything logged is delivered";
  const parts = [
    p.queued ? `${p.queued} queued` : "",
    p.inFlight ? `${p.inFlight} in flight` : "",
    p.spooled ? `${p.spooled} in the spool` : "",
  ].filter(Boolean);
  return `${plural(total, "item")} not yet delivered (${parts.join(", ")})`;
}

function headline(f: PanelFrame, latestStep: number | undefined): string {
  const time = f.status === "RUNNING" ? `for ${seconds(f.elapsedMs)}` : `in ${seconds(f.elapsedMs)}`;
  return `${f.status} ${time}${latestStep !== undefined ? `, step ${latestStep}` : ""}`;
}

/** The frame as a MIME bundle: text/html and text/plain. */
export function panelBundle(f: PanelFrame): MimeBundle {
  const all = rows(f);
  const shown = all.slice(0, MAX_ROWS);
  const latestStep = all.length ? Math.max(...all.map((r) => r.step)) : undefined;
  const params = [...f.params.keys()].sort();
  const paramsShown = params.slice(0, MAX_ROWS).map((k) => `${k}=${f.params.get(k)!}`);
  const more = (n: number, what: string) => (n > MAX_ROWS ? `… ${n - MAX_ROWS} more ${what}` : undefined);
  const url = runUrl(f.trackingUri, f.experimentId, f.runId);
  const pending = pendingText(f.pending);
  const head = headline(f, latestStep);

  const metricLines = shown.map((r) => {
    const spark = sparklineText(r.line);
    return `${r.key}=${fmtValue(r.value)}${spark ? `  ${spark}` : ""}  (step ${r.step}${r.count ? `, ${plural(r.count, "point")}` : ""})`;
  });
  const moreMetrics = more(all.length, "metrics");
  const text = [
    `MLflow run ${f.runName} (${f.runId}) ${head}`,
    ...(f.parentRunId ? [`  parent:  ${f.parentRunId}`] : []),
    `  params:  ${[...paramsShown, more(params.length, "params")].filter(Boolean).join(", ") || "(none)"}`,
    `  metrics: ${metricLines.length ? metricLines.join("\n           ") : "(none)"}`,
    ...(moreMetrics ? [`           ${moreMetrics}`] : []),
    ...(pending ? [`  pending: ${pending}`] : []),
    ...(url ? [`  ${url}`] : []),
  ].join("\n");

  const colour = statusColour(f.status);
  const name = url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener">${escapeHtml(f.runName)}</a>` : escapeHtml(f.runName);
  const cell = (s: string, style = "text-align:left") => `<td style="padding:0 10px 0 0;${style}">${s}</td>`;
  const table = shown.length
    ? `<table style="border-collapse:collapse;margin:3px 0;border:none">` +
      shown
        .map(
          (r) =>
            `<tr style="background:none">` +
            cell(`<code>${escapeHtml(r.key)}</code>`) +
            cell(`<b>${escapeHtml(fmtValue(r.value))}</b>`, "text-align:right") +
            cell(r.line.length ? sparklineSvg(r.line, `${r.key}: ${r.line.length} of ${r.count ?? r.line.length} points`) : "") +
            cell(escapeHtml(`step ${r.step}${r.count ? ` · ${plural(r.count, "point")}` : ""}`), "text-align:left;color:#666") +
            `</tr>`,
        )
        .join("") +
      `</table>` +
      (moreMetrics ? `<i>${escapeHtml(moreMetrics)}</i><br>` : "")
    : `metrics: <i>none yet</i><br>`;
  const paramList = paramsShown.length
    ? paramsShown.map((p) => `<code>${escapeHtml(p)}</code>`).join(" ") +
      (more(params.length, "params") ? ` <i>${escapeHtml(more(params.length, "params")!)}</i>` : "")
    : "<i>none</i>";
  const html =
    `<div class="tslab-mlflow-run" ${panelMarker(f.displayId)} style="font-family:sans-serif;font-size:12px;border-left:3px solid ${colour};padding:2px 8px">` +
    `<b>MLflow run</b> ${name} <code>${escapeHtml(f.runId)}</code> ` +
    `<span style="color:${colour};font-weight:bold">${escapeHtml(f.status)}</span> ${escapeHtml(head.slice(f.status.length + 1))}` +
    (f.parentRunId ? `<br>parent <code>${escapeHtml(f.parentRunId)}</code>` : "") +
    `<br>${table}params: ${paramList}` +
    (pending ? `<br><span style="color:#666">${escapeHtml(pending)}</span>` : "") +
    `</div>`;
  return { "text/plain": text, "text/html": html };
}
