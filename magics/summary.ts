// The compact display shown after a `%%mlflow_run` cell: run name and id, status, params, last
// metric values, and a link to the run when the tracking server has a web UI (http/https).

import type { RunStatus } from "../tracking/index.js";
import type { MimeBundle } from "./outputs.js";

export interface RunSummary {
  runName: string;
  runId: string;
  experimentId: string;
  status: RunStatus;
  params: ReadonlyMap<string, string>;
  metrics: ReadonlyMap<string, { value: number; step: number }>;
  parentRunId?: string;
  durationMs?: number;
}

const MAX_ITEMS = 12;

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The run's page in MLflow's UI, when the tracking URI is a server. */
export function runUrl(trackingUri: string, experimentId: string, runId: string): string | undefined {
  if (!/^https?:\/\//i.test(trackingUri)) return undefined;
  // A link never carries credentials (the browser asks for them when the server wants them).
  const base = trackingUri.replace(/^(https?:\/\/)[^/@]*@/i, "$1").replace(/\/+$/, "");
  return `${base}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
}

export const fmtValue = (v: number): string =>
  Number.isInteger(v) ? String(v) : Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v);

function items<T>(m: ReadonlyMap<string, T>, f: (v: T) => string): string[] {
  const keys = [...m.keys()].sort();
  const shown = keys.slice(0, MAX_ITEMS).map((k) => `${k}=${f(m.get(k)!)}`);
  if (keys.length > MAX_ITEMS) shown.push(`… ${keys.length - MAX_ITEMS} more`);
  return shown;
}

const STATUS_COLOUR: Record<string, string> = { FINISHED: "#1a7f37", FAILED: "#cf222e", KILLED: "#9a6700", RUNNING: "#0969da" };

export function summaryBundle(s: RunSummary, trackingUri: string): MimeBundle {
  const url = runUrl(trackingUri, s.experimentId, s.runId);
  const params = items(s.params, (v) => v);
  const metrics = items(s.metrics, (m) => fmtValue(m.value));
  const took = s.durationMs !== undefined ? ` in ${(s.durationMs / 1000).toFixed(2)} s` : "";
  const text = [
    `MLflow run ${s.runName} (${s.runId}) ${s.status}${took}`,
    ...(s.parentRunId ? [`  parent: ${s.parentRunId}`] : []),
    `  params:  ${params.join(", ") || "(none)"}`,
    `  metrics: ${metrics.join(", ") || "(none)"}`,
    ...(url ? [`  ${url}`] : []),
  ].join("\n");
  const name = url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener">${escapeHtml(s.runName)}</a>` : escapeHtml(s.runName);
  const list = (xs: string[]) => (xs.length ? xs.map((x) => `<code>${escapeHtml(x)}</code>`).join(" ") : "<i>none</i>");
  const html =
    `<div class="tslab-mlflow-run" style="font-family:sans-serif;font-size:12px;border-left:3px solid ${STATUS_COLOUR[s.status] ?? "#888"};padding:2px 8px">` +
    `<b>MLflow run</b> ${name} <code>${escapeHtml(s.runId)}</code> ` +
    `<span style="color:${STATUS_COLOUR[s.status] ?? "#888"};font-weight:bold">${s.status}</span>${escapeHtml(took)}` +
    (s.parentRunId ? `<br>parent <code>${escapeHtml(s.parentRunId)}</code>` : "") +
    `<br>params: ${list(params)}<br>metrics: ${list(metrics)}</div>`;
  return { "text/plain": text, "text/html": html };
}
