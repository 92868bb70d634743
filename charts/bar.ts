// Final-metric bar chart: one horizontal bar per run, one panel (and colour) per metric,
// each panel with its own x scale because metrics have unrelated units.

import type { TopLevelSpec } from "./common-types.js";
import {
  F,
  MAX_LABELLED_RUNS,
  SIZE,
  TOOLTIP_FORMAT,
  VEGA_LITE_V5_SCHEMA,
  plural,
  runMarkProps,
  runRow,
  titleOf,
  tooltip,
} from "./common.js";
import { type Prepared, prepare, requireMetrics } from "./data.js";
import type { CompareOptions, RunInput } from "./types.js";

/** Bar height per run while run names are labelled; above that the chart height is fixed. */
const BAR_STEP = 18;
const MANY_RUNS_HEIGHT = 600;

export function barFromPrepared(p: Prepared, options: CompareOptions = {}): TopLevelSpec {
  requireMetrics(p, "bar");
  const values = p.metrics.flatMap((metric) =>
    p.runs.flatMap((r) => {
      const value = r.finals.get(metric);
      return value !== undefined && Number.isFinite(value) ? [{ ...runRow(p, r), [F.metric]: metric, [F.value]: value }] : [];
    }),
  );
  const labelled = p.runs.length <= MAX_LABELLED_RUNS;
  const several = p.metrics.length > 1;
  const unit = {
    width: SIZE.barWidth,
    height: labelled ? { step: BAR_STEP } : MANY_RUNS_HEIGHT,
    mark: { type: "bar" as const, ...runMarkProps(p) },
    encoding: {
      y: {
        field: F.run,
        type: "nominal" as const,
        // An explicit domain, not a sort list: vega-lite turns a sort list into one nested
        // expression per value, which overflows the stack at a thousand runs.
        scale: { domain: p.runs.map((r) => r.label) },
        axis: labelled ? { title: null } : { title: plural(p.runs.length, "run"), labels: false, ticks: false },
      },
      // One bar per run and metric: nothing to stack (vega's stack transform is the costliest step).
      x: { field: F.value, type: "quantitative" as const, title: several ? null : p.metrics[0], stack: null },
      ...(several ? { color: { field: F.metric, type: "nominal" as const, sort: [...p.metrics], legend: null } } : {}),
      tooltip: tooltip(p, [
        { field: F.metric, type: "nominal", title: "metric" },
        { field: F.value, type: "quantitative", title: "value", format: TOOLTIP_FORMAT },
      ]),
    },
  };
  const title = titleOf(p, options.title, "Final metrics");
  if (!several) return { $schema: VEGA_LITE_V5_SCHEMA, title, data: { values }, ...unit };
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    title,
    data: { values },
    facet: { field: F.metric, type: "nominal", sort: [...p.metrics], title: null },
    columns: Math.min(p.metrics.length, 3),
    spec: unit,
    resolve: { scale: { x: "independent" } },
  };
}

/** Bar chart of each run's final value of each metric. */
export function barSpec(runs: readonly RunInput[], options: CompareOptions = {}): TopLevelSpec {
  return barFromPrepared(prepare(runs, options), options);
}
