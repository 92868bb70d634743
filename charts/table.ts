// The text/plain face of a comparison: an aligned table of run name (after the caller's
// label when runs have one), id prefix, the shown params and the final value of each charted metric. Numbers are right-aligned and written
// by `fmtNumber`, so the same runs always give the same text.

import { fmtNumber, plural } from "./common.js";
import type { Prepared } from "./data.js";

/** The table lists at most this many runs, the latest (a note says so); the chart is not limited by it. */
export const TABLE_MAX_ROWS = 100;
const ID_PREFIX = 8;
const MAX_CELL = 40;

const clip = (s: string) => (s.length > MAX_CELL ? s.slice(0, MAX_CELL - 1) + "…" : s);

export function textTable(p: Prepared, heading?: string, metricsOption = "metrics"): string {
  const labelled = p.runs.some((r) => r.labelGiven);
  const header = [...(labelled ? ["label"] : []), "run", "id", ...p.shownParams.map((i) => i.key), ...p.metrics];
  const numericCol = [...(labelled ? [false] : []), false, false, ...p.shownParams.map((i) => i.numeric), ...p.metrics.map(() => true)];
  const shown = p.runs.slice(-TABLE_MAX_ROWS);
  const rows = shown
    .map((r) => [
      ...(labelled ? [r.label] : []),
      r.name || "-",
      r.runId.slice(0, ID_PREFIX),
      ...p.shownParams.map((i) => r.params.get(i.key) ?? "-"),
      ...p.metrics.map((m) => {
        const v = r.finals.get(m);
        return v === undefined ? "-" : fmtNumber(v);
      }),
    ])
    .map((row) => row.map(clip));
  const all = [header.map(clip), ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (numericCol[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const notes: string[] = [];
  if (p.runs.length < p.totalRuns) notes.push(`showing the latest ${p.runs.length} of ${p.totalRuns} runs`);
  if (shown.length < p.runs.length) notes.push(`table lists the latest ${shown.length} of ${plural(p.runs.length, "run")}`);
  if (p.omittedMetrics > 0) notes.push(`${plural(p.omittedMetrics, "more metric")} not charted; choose with ${metricsOption}`);
  return [
    ...(heading ? [heading] : []),
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...notes.map((n) => `(${n})`),
  ].join("\n");
}
