// Pieces every chart builder shares: the v5 schema URL, fixed field names, stable number
// formatting, the tooltip (run name, id, params) and the per-run data row.

import type { StringFieldDef } from "./common-types.js";
import type { Prepared, PreparedRun } from "./data.js";

/** JupyterLab and VS Code render `application/vnd.vegalite.v5+json`; the spec says v5 to match. */
export const VEGA_LITE_V5_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Field names in the inlined data. Params get `param_<i>` so keys with dots or brackets stay literal. */
export const F = {
  run: "run",
  name: "run_name",
  runId: "run_id",
  metric: "metric",
  value: "value",
  step: "step",
} as const;
export const paramField = (i: number): string => `param_${i}`;

/** Fixed sizes, so a chart's layout never depends on anything but its data. */
export const SIZE = { width: 360, height: 220, barWidth: 220 } as const;

/** Tooltip number format (d3-format, locale-independent in vega). */
export const TOOLTIP_FORMAT = ".6~g";

/** A number as text: integers as is, others with 6 significant digits, no trailing zeros. */
export function fmtNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Inf" : "-Inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  const s = a !== 0 && (a < 1e-4 || a >= 1e15) ? v.toExponential(5) : v.toPrecision(6);
  return s.replace(/\.?0+(?=e|$)/, "");
}

/** Run label, name, id and the shown params of one run; the start of every data row. */
export function runRow(p: Prepared, r: PreparedRun): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = { [F.run]: r.label, [F.name]: r.name, [F.runId]: r.runId };
  p.shownParams.forEach((info, i) => (row[paramField(i)] = r.params.get(info.key) ?? null));
  return row;
}

/** Tooltip channel: run, run id, each shown param under its own name, then `extra`. */
export function tooltip(p: Prepared, extra: readonly StringFieldDef<string>[] = []): StringFieldDef<string>[] {
  return [
    { field: F.run, type: "nominal", title: "run" },
    { field: F.runId, type: "nominal", title: "run id" },
    ...p.shownParams.map((info, i): StringFieldDef<string> => ({ field: paramField(i), type: "nominal", title: info.key })),
    ...extra,
  ];
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The given title, else "<what> (<n> runs)", with a note when `max` left runs out. */
export function titleOf(p: Prepared, given: string | undefined, what: string): string {
  if (given !== undefined) return given;
  const shown = p.runs.length < p.totalRuns ? `latest ${p.runs.length} of ${p.totalRuns} runs` : plural(p.runs.length, "run");
  return `${what} (${shown})`;
}

/** With many runs a legend or axis label per run is noise; above this they are dropped. */
export const MAX_LABELLED_RUNS = 40;

/**
 * Mark properties for per-run marks. With many runs the per-mark ARIA labels (every encoded
 * field, spelled out) would make up most of the SVG and much of its render time, so they go.
 */
export function runMarkProps(p: Prepared): { aria?: false } {
  return p.runs.length > MAX_LABELLED_RUNS ? { aria: false } : {};
}

/** True when finite positive values span at least two decades (max/min >= 100). */
export function spansDecades(values: readonly number[]): boolean {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min !== Infinity && max / min >= 100;
}
