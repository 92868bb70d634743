// Parallel coordinates: one vertical axis per charted param and metric, one polyline per run,
// coloured by the first metric. As in Vega-Lite's parallel coordinates example, the wide
// rows are folded to (axis, value) and each axis is normalised to [0, 1] with its own min
// and max. Numeric params are parsed (log10 where they span two decades or more); text
// params are ordinal: each value's rank in sorted order. Axis labels are computed here so
// text values and log axes are labelled with what the user logged.

import type { TopLevelSpec } from "./common-types.js";
import { F, SIZE, TOOLTIP_FORMAT, VEGA_LITE_V5_SCHEMA, fmtNumber, runMarkProps, runRow, spansDecades, titleOf, tooltip } from "./common.js";
import { type Prepared, prepare } from "./data.js";
import { ChartError, listOrNone } from "./errors.js";
import type { CompareOptions, RunInput } from "./types.js";

const axisField = (k: number) => `axis_${k}`;
const COLOR_FIELD = "color_value";
/** Width per axis; the chart is never narrower than a standard panel. */
const AXIS_SPACING = 110;
/** Text params with more values than this label only their first and last value. */
const MAX_CATEGORY_LABELS = 12;

interface Axis {
  name: string;
  /** The number each run puts on this axis, or null when the run has no value. */
  valueOf: (run: Prepared["runs"][number]) => number | null;
  /** Tick labels at normalised positions in [0, 1]. */
  labels: { pos: number; text: string }[];
}

function numericAxis(nums: (number | null)[], log: boolean): Axis["labels"] {
  const t = nums.filter((v): v is number => v !== null && Number.isFinite(v)).map((v) => (log ? Math.log10(v) : v));
  if (t.length === 0) return [];
  const min = Math.min(...t);
  const max = Math.max(...t);
  const text = (v: number) => fmtNumber(log ? Number((10 ** v).toPrecision(6)) : Number(v.toPrecision(6)));
  if (min === max) return [{ pos: 0.5, text: text(min) }];
  return [
    { pos: 0, text: text(min) },
    { pos: 0.5, text: text((min + max) / 2) },
    { pos: 1, text: text(max) },
  ];
}

function axesOf(p: Prepared): Axis[] {
  const paramNames = new Set(p.params.map((i) => i.key));
  const params: Axis[] = p.params.map((info) => {
    if (!info.numeric) {
      const rank = new Map(info.values.map((v, i) => [v, i] as const));
      const n = info.values.length;
      const pos = (i: number) => (n === 1 ? 0.5 : i / (n - 1));
      const shown = n <= MAX_CATEGORY_LABELS ? info.values.map((_, i) => i) : [0, n - 1];
      return {
        name: info.key,
        valueOf: (r) => (r.params.has(info.key) ? rank.get(r.params.get(info.key)!)! : null),
        labels: shown.map((i) => ({ pos: pos(i), text: info.values[i] })),
      };
    }
    const valueOf = (r: Prepared["runs"][number]) => {
      const v = r.params.get(info.key);
      return v === undefined ? null : info.log ? Math.log10(Number(v)) : Number(v);
    };
    return { name: info.key, valueOf, labels: numericAxis(info.values.map(Number), info.log) };
  });
  const metrics: Axis[] = p.metrics.map((m) => {
    const finals = p.runs.map((r) => r.finals.get(m) ?? null).filter((v): v is number => v !== null && Number.isFinite(v));
    const log = spansDecades(finals);
    return {
      // A metric named like a charted param gets a distinct axis name.
      name: paramNames.has(m) ? `metric: ${m}` : m,
      valueOf: (r) => {
        const v = r.finals.get(m);
        return v === undefined || !Number.isFinite(v) ? null : log ? Math.log10(v) : v;
      },
      labels: numericAxis(finals, log),
    };
  });
  return [...params, ...metrics];
}

export function parallelFromPrepared(p: Prepared, options: CompareOptions = {}): TopLevelSpec {
  if (p.params.length + p.metrics.length < 2) {
    throw new ChartError(
      "NO_DATA",
      `Parallel coordinates need at least two axes (params that vary, plus metrics); found ` +
        `params ${listOrNone(p.params.map((i) => i.key))} and metrics ${listOrNone([...p.metrics])} ` +
        `(available params: ${listOrNone(p.allParams)}).`,
    );
  }
  const axes = axesOf(p);
  const names = axes.map((a) => a.name);
  const keys = axes.map((_, k) => axisField(k));
  const colorMetric = p.metrics[0];
  const values = p.runs.map((r) => {
    const row = runRow(p, r);
    axes.forEach((a, k) => (row[axisField(k)] = a.valueOf(r)));
    if (colorMetric !== undefined) {
      const v = r.finals.get(colorMetric);
      row[COLOR_FIELD] = v !== undefined && Number.isFinite(v) ? v : null;
    }
    return row;
  });
  const labels = axes.flatMap((a) => a.labels.map((l) => ({ axis: a.name, pos: l.pos, text: l.text })));
  const x = { field: "axis", type: "nominal" as const, scale: { type: "point" as const, domain: names }, title: null };
  const y = { field: "pos", type: "quantitative" as const, scale: { domain: [0, 1] }, axis: null };
  const segment = { type: "rule" as const, opacity: 0.6, strokeWidth: 1.5, ...runMarkProps(p) };
  const segmentEnc = {
    x,
    x2: { field: "next_axis" },
    y,
    y2: { field: "next_pos" },
    tooltip: tooltip(
      p,
      colorMetric === undefined ? [] : [{ field: COLOR_FIELD, type: "quantitative", title: colorMetric, format: TOOLTIP_FORMAT }],
    ),
  };
  const uncoloured = colorMetric !== undefined && values.some((v) => v[COLOR_FIELD] === null);
  return {
    $schema: VEGA_LITE_V5_SCHEMA,
    title: titleOf(p, options.title, "Parallel coordinates"),
    width: Math.max(SIZE.width, AXIS_SPACING * axes.length),
    height: SIZE.height,
    layer: [
      {
        data: { values: names.map((axis) => ({ axis })) },
        mark: { type: "rule", color: "#ccc" },
        encoding: { x: { ...x, axis: { domain: false, labelAngle: 0, ticks: false, offset: 8, labelFontWeight: "bold" } } },
      },
      {
        data: { values },
        transform: [
          { fold: keys, as: ["axis_key", "axis_value"] },
          { filter: "isValid(datum.axis_value)" },
          {
            joinaggregate: [
              { op: "min", field: "axis_value", as: "axis_min" },
              { op: "max", field: "axis_value", as: "axis_max" },
            ],
            groupby: ["axis_key"],
          },
          {
            calculate: "datum.axis_max === datum.axis_min ? 0.5 : (datum.axis_value - datum.axis_min) / (datum.axis_max - datum.axis_min)",
            as: "pos",
          },
          // Field keys back to axis names and positions (an index lookup keeps odd characters literal).
          { calculate: `indexof(${JSON.stringify(keys)}, datum.axis_key)`, as: "axis_index" },
          { calculate: `${JSON.stringify(names)}[datum.axis_index]`, as: "axis" },
          // Each run's polyline is drawn as segments to its next axis: one rule per segment
          // renders ~3x faster than a line per run (vega builds a sub-dataflow per line).
          {
            window: [
              { op: "lead", field: "axis", as: "next_axis" },
              { op: "lead", field: "pos", as: "next_pos" },
            ],
            groupby: [F.runId],
            sort: [{ field: "axis_index", order: "ascending" }],
          },
          { filter: "isValid(datum.next_axis)" },
        ],
        // Runs without the colour metric are drawn grey in a layer of their own: a null in a
        // quantitative colour field would make vega-lite drop the segment altogether.
        layer: [
          {
            ...(colorMetric === undefined ? {} : { transform: [{ filter: `isValid(datum.${COLOR_FIELD})` }] }),
            mark: segment,
            encoding: {
              ...segmentEnc,
              ...(colorMetric === undefined ? {} : { color: { field: COLOR_FIELD, type: "quantitative", title: colorMetric } }),
            },
          },
          ...(uncoloured
            ? [{ transform: [{ filter: `!isValid(datum.${COLOR_FIELD})` }], mark: { ...segment, color: "#bbb" }, encoding: segmentEnc }]
            : []),
        ],
      },
      {
        data: { values: labels },
        mark: { type: "text", align: "right", baseline: "middle", dx: -4, fontSize: 10, color: "#555" },
        encoding: { x, y, text: { field: "text", type: "nominal" } },
      },
    ],
    config: { view: { stroke: null } },
  };
}

/** Parallel coordinates of the charted params and metrics, one line per run. */
export function parallelSpec(runs: readonly RunInput[], options: CompareOptions = {}): TopLevelSpec {
  return parallelFromPrepared(prepare(runs, options), options);
}
