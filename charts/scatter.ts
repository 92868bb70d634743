// Param-vs-metric scatter: one point per run, one panel per (param, metric) pair. A numeric
// param is a quantitative x (log where its positive values span two decades or more); a
// text param is an ordinal x with its values in order. Same rule for a metric's y.

import type { Field, LayerSpec, TopLevelSpec } from "./common-types.js";
import { SIZE, TOOLTIP_FORMAT, VEGA_LITE_V5_SCHEMA, runMarkProps, runRow, spansDecades, titleOf, tooltip } from "./common.js";
import { type ParamInfo, type Prepared, prepare, requireMetrics } from "./data.js";
import { ChartError, listOrNone } from "./errors.js";
import type { CompareOptions, RunInput } from "./types.js";

const xField = (i: number) => `x_${i}`;
const yField = (j: number) => `y_${j}`;

export function scatterFromPrepared(p: Prepared, options: CompareOptions = {}): TopLevelSpec {
  requireMetrics(p, "scatter");
  if (p.params.length === 0) {
    throw new ChartError(
      "NO_DATA",
      `A scatter chart needs a param that varies between runs; none does. Pick one with params: [...] ` +
        `(available params: ${listOrNone(p.allParams)}).`,
    );
  }
  const values = p.runs.map((r) => {
    const row = runRow(p, r);
    p.params.forEach((info, i) => {
      const v = r.params.get(info.key);
      row[xField(i)] = v === undefined ? null : info.numeric ? Number(v) : v;
    });
    p.metrics.forEach((m, j) => {
      const v = r.finals.get(m);
      row[yField(j)] = v !== undefined && Number.isFinite(v) ? v : null;
    });
    return row;
  });

  const panel = (info: ParamInfo, i: number, metric: string, j: number): LayerSpec<Field> => {
    const logY = spansDecades(values.map((v) => v[yField(j)] as number | null).filter((v): v is number => v !== null));
    const x = info.numeric
      ? { field: xField(i), type: "quantitative" as const, title: info.key, scale: info.log ? { type: "log" as const } : { zero: false } }
      : { field: xField(i), type: "ordinal" as const, title: info.key, sort: [...info.values] };
    return {
      width: SIZE.width,
      height: SIZE.height,
      // Runs without this param or metric have no point here.
      transform: [{ filter: `isValid(datum.${xField(i)}) && isValid(datum.${yField(j)})` }],
      layer: [
        {
          mark: { type: "point", filled: true, size: 60, ...runMarkProps(p) },
          encoding: {
            x,
            y: { field: yField(j), type: "quantitative", title: metric, scale: logY ? { type: "log" } : { zero: false } },
            tooltip: tooltip(p, [{ field: yField(j), type: "quantitative", title: metric, format: TOOLTIP_FORMAT }]),
          },
        },
      ],
    };
  };
  const panels = p.params.flatMap((info, i) => p.metrics.map((m, j) => panel(info, i, m, j)));
  const head = { $schema: VEGA_LITE_V5_SCHEMA, title: titleOf(p, options.title, "Params vs metrics"), data: { values } };
  if (panels.length === 1) return { ...head, ...panels[0] };
  return { ...head, columns: Math.min(p.metrics.length, 3), concat: panels };
}

/** Scatter of each charted param (x) against each metric's final value (y), one point per run. */
export function scatterSpec(runs: readonly RunInput[], options: CompareOptions = {}): TopLevelSpec {
  return scatterFromPrepared(prepare(runs, options), options);
}
