// Metric history: one line per run against step, one panel per metric (log y where the
// metric's positive values span two decades or more, e.g. a loss curve).

import type { Field, LayerSpec, TopLevelSpec } from "./common-types.js";
import {
  F,
  MAX_LABELLED_RUNS,
  SIZE,
  TOOLTIP_FORMAT,
  VEGA_LITE_V5_SCHEMA,
  runRow,
  spansDecades,
  titleOf,
  tooltip,
} from "./common.js";
import { type Prepared, prepare, requireMetrics } from "./data.js";
import type { CompareOptions, RunInput } from "./types.js";

/** Up to this many points in all get a dot each (with a per-point tooltip); beyond, lines only. */
const MAX_POINTS_WITH_DOTS = 2000;

export function historyFromPrepared(p: Prepared, options: CompareOptions = {}): TopLevelSpec {
  requireMetrics(p, "history");
  const values = p.metrics.flatMap((metric) =>
    p.runs.flatMap((r) => {
      const points = (r.history.get(metric) ?? []).filter((m) => Number.isFinite(m.value));
      if (points.length === 0) return [];
      const base = runRow(p, r);
      return points.map((m) => ({ ...base, [F.metric]: metric, [F.step]: m.step, [F.value]: m.value }));
    }),
  );
  const labels = p.runs.map((r) => r.label);
  const dots = values.length <= MAX_POINTS_WITH_DOTS;
  const color = {
    field: F.run,
    type: "nominal" as const,
    sort: labels,
    scale: { domain: labels },
    legend: p.runs.length <= MAX_LABELLED_RUNS ? { title: "run" } : null,
  };
  const several = p.metrics.length > 1;
  const panel = (metric: string): LayerSpec<Field> => {
    const x = { field: F.step, type: "quantitative" as const, title: "step" };
    const log = spansDecades(values.filter((v) => v[F.metric] === metric).map((v) => v[F.value] as number));
    const y = {
      field: F.value,
      type: "quantitative" as const,
      title: metric,
      scale: log ? { type: "log" as const } : { zero: false },
    };
    const pointTip = tooltip(p, [
      { field: F.step, type: "quantitative", title: "step" },
      { field: F.value, type: "quantitative", title: metric, format: TOOLTIP_FORMAT },
    ]);
    return {
      ...(several ? { transform: [{ filter: { field: F.metric, equal: metric } }] } : {}),
      width: SIZE.width,
      height: SIZE.height,
      layer: [
        {
          mark: { type: "line" as const, strokeWidth: 1.5 },
          encoding: { x, y, color, detail: { field: F.runId, type: "nominal" as const }, ...(dots ? {} : { tooltip: tooltip(p) }) },
        },
        ...(dots
          ? [{ mark: { type: "point" as const, filled: true, size: 24 }, encoding: { x, y, color, tooltip: pointTip } }]
          : []),
      ],
    };
  };
  const head = { $schema: VEGA_LITE_V5_SCHEMA, title: titleOf(p, options.title, "Metric history"), data: { values } };
  if (!several) return { ...head, ...panel(p.metrics[0]) };
  return { ...head, columns: 2, concat: p.metrics.map(panel) };
}

/** Line chart of each metric's history per run against step. */
export function historySpec(runs: readonly RunInput[], options: CompareOptions = {}): TopLevelSpec {
  return historyFromPrepared(prepare(runs, options), options);
}
