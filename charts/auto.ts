// Picks the chart the data supports and builds it; the single entry every caller can use.
//   history  when any charted metric has more than one step in some run;
//   scatter  when exactly one charted param varies and it is numeric;
//   parallel when two or more charted params vary (or there are no metrics but params vary);
//   bar      otherwise.

import { barFromPrepared } from "./bar.js";
import type { TopLevelSpec } from "./common-types.js";
import { type Prepared, prepare } from "./data.js";
import { historyFromPrepared } from "./history.js";
import { parallelFromPrepared } from "./parallel.js";
import { scatterFromPrepared } from "./scatter.js";
import type { CompareOptions, ConcreteChartKind, RunInput } from "./types.js";

const BUILDERS: Record<ConcreteChartKind, (p: Prepared, o: CompareOptions) => TopLevelSpec> = {
  bar: barFromPrepared,
  history: historyFromPrepared,
  scatter: scatterFromPrepared,
  parallel: parallelFromPrepared,
};

/** True when some run has more than one distinct step for some charted metric. */
export function hasSteps(p: Prepared): boolean {
  return p.runs.some((r) =>
    p.metrics.some((m) => {
      const points = r.history.get(m);
      return points !== undefined && points.length > 1 && points[0].step !== points[points.length - 1].step;
    }),
  );
}

/** The kind `auto` resolves to for these prepared runs. */
export function pickKind(p: Prepared): ConcreteChartKind {
  const varying = p.params.filter((i) => i.varies);
  if (p.metrics.length === 0) return varying.length > 0 ? "parallel" : "bar";
  if (hasSteps(p)) return "history";
  if (varying.length === 1 && varying[0].numeric) return "scatter";
  if (varying.length >= 2) return "parallel";
  return "bar";
}

export interface BuiltChart {
  kind: ConcreteChartKind;
  spec: TopLevelSpec;
  prepared: Prepared;
}

/** Prepares the runs once and builds the chart of `options.kind` (default `auto`). */
export function buildChart(runs: readonly RunInput[], options: CompareOptions = {}): BuiltChart {
  const prepared = prepare(runs, options);
  const kind = !options.kind || options.kind === "auto" ? pickKind(prepared) : options.kind;
  return { kind, spec: BUILDERS[kind](prepared, options), prepared };
}

/** The chart `auto` picks for these runs (see the header of this module). */
export function autoSpec(runs: readonly RunInput[], options: CompareOptions = {}): TopLevelSpec {
  return buildChart(runs, { ...options, kind: "auto" }).spec;
}
