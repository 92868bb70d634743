// Metric history: one line per run against step, one panel per metric (log y where the
// metric's positive values span two decades or more, e.g. a loss curve).
//
// Sizes are bounded so a thousand-run experiment stays quick to draw and to store: at most
// HISTORY_MAX_RUNS lines per panel (the most recent runs; the title says so) and at most
// MAX_POINTS_PER_LINE points per line (evenly thinned, first and last kept). Points carry
// only run id, metric, step and value; run name and params are joined in by a lookup.

import type { Field, LayerSpec, TopLevelSpec } from "./common-types.js";
import {
  F,
  MAX_LABELLED_RUNS,
  SIZE,
  TOOLTIP_FORMAT,
  VEGA_LITE_V5_SCHEMA,
  paramField,
  runMarkProps,
  runRow,
  spansDecades,
  titleOf,
  tooltip,
} from "./common.js";
import { type Prepared, prepare, requireMetrics } from "./data.js";
import type { Metric } from "../tracking/index.js";
import type { CompareOptions, RunInput } from "./types.js";

/** Vega builds a sub-dataflow per line (~1 ms each): more lines than this are unreadable anyway. */
export const HISTORY_MAX_RUNS = 100;
export const MAX_POINTS_PER_LINE = 500;
/** Up to this many points in all get a dot each (with a per-point tooltip); beyond, lines only. */
const MAX_POINTS_WITH_DOTS = 2000;

/** Evenly spaced points by index, always keeping the first and the last. */
export function thin(points: readonly Metric[], max = MAX_POINTS_PER_LINE): readonly Metric[] {
  if (points.length <= max) return points;
  return Array.from({ length: max }, (_, i) => points[Math.round((i * (points.length - 1)) / (max - 1))]);
}

export function historyFromPrepared(all: Prepared, options: CompareOptions = {}): TopLevelSpec {
  requireMetrics(all, "history");
  const p: Prepared = { ...all, runs: all.runs.slice(-HISTORY_MAX_RUNS) };
  const values = p.metrics.flatMap((metric) =>
    p.runs.flatMap((r) =>
      thin((r.history.get(metric) ?? []).filter((m) => Number.isFinite(m.value))).map((m) => ({
        [F.runId]: r.runId,
        [F.metric]: metric,
        [F.step]: m.step,
        [F.value]: m.value,
      })),
    ),
  );
  const runFields = [F.run, F.name, ...p.shownParams.map((_, i) => paramField(i))];
  const lookup = {
    lookup: F.runId,
    from: { data: { values: p.runs.map((r) => runRow(p, r)) }, key: F.runId, fields: runFields },
  };
  const labels = p.runs.map((r) => r.label);
  const dots = values.length <= MAX_POINTS_WITH_DOTS;
  const color = {
    field: F.run,
    type: "nominal" as const,
    // Ten colours (the default) repeat too soon to tell runs apart; twenty do better.
    scale: p.runs.length > 10 ? { domain: labels, scheme: "tableau20" } : { domain: labels },
    legend: p.runs.length <= MAX_LABELLED_RUNS ? { title: "run" } : null,
  };
  const several = p.metrics.length > 1;
  const panel = (metric: string): LayerSpec<Field> => {
    // Steps are whole numbers: no "0.5" ticks on a short history.
    const x = { field: F.step, type: "quantitative" as const, title: "step", axis: { format: "d", tickMinStep: 1 } };
    const ys = values.filter((v) => v[F.metric] === metric).map((v) => v[F.value] as number);
    const log = spansDecades(ys);
    const y = {
      field: F.value,
      type: "quantitative" as const,
      title: metric,
      scale: log ? { type: "log" as const } : { zero: false },
      axis: { format: log ? "~g" : axisFormat(ys) },
    };
    const pointTip = tooltip(p, [
      { field: F.step, type: "quantitative", title: "step" },
      { field: F.value, type: "quantitative", title: metric, format: TOOLTIP_FORMAT },
    ]);
    return {
      transform: [...(several ? [{ filter: { field: F.metric, equal: metric } }] : []), lookup],
      width: SIZE.width,
      height: SIZE.height,
      layer: [
        {
          mark: { type: "line" as const, strokeWidth: 1.5, ...runMarkProps(p) },
          encoding: { x, y, color, detail: { field: F.runId, type: "nominal" as const }, ...(dots ? {} : { tooltip: tooltip(p) }) },
        },
        ...(dots
          ? [{ mark: { type: "point" as const, filled: true, size: 24, ...runMarkProps(p) }, encoding: { x, y, color, tooltip: pointTip } }]
          : []),
      ],
    };
  };
  const head = { $schema: VEGA_LITE_V5_SCHEMA, title: titleOf(p, options.title, "Metric history"), data: { values } };
  if (!several) return { ...head, ...panel(p.metrics[0]) };
  return { ...head, columns: 2, concat: p.metrics.map(panel) };
}

/**
 * A d3 format for value ticks with as many significant digits as the data's spread needs:
 * accuracies between 0.9981 and 0.9996 get `.4~r` ticks (0.9985, 0.999), not 1.0 five times.
 */
export function axisFormat(values: readonly number[]): string {
  if (!values.length) return "~g";
  const lo = Math.min(...values),
    hi = Math.max(...values);
  const magnitude = Math.max(Math.abs(lo), Math.abs(hi));
  if (magnitude === 0) return "~g";
  if (magnitude >= 1e6 || magnitude < 1e-4) return "~e";
  const span = hi - lo;
  const digits = span > 0 ? Math.ceil(Math.log10(magnitude / span)) + 2 : 3;
  return `.${Math.min(12, Math.max(2, digits))}~r`;
}

/** Line chart of each metric's history per run against step. */
export function historySpec(runs: readonly RunInput[], options: CompareOptions = {}): TopLevelSpec {
  return historyFromPrepared(prepare(runs, options), options);
}
