// charts/: Vega-Lite v5 comparison charts of MLflow runs, their SVG rendering and a text
// table. Builders are pure functions from runs to a typed `TopLevelSpec`; `compare` bundles
// chart, SVG and table into an object that displays itself in a notebook.
//
// Run order everywhere: by start time, then run id (input order never matters); `max`
// keeps the most recently started runs.

export { ChartError, CHART_ERROR_CODES, type ChartErrorCode } from "./errors.js";
export {
  CHART_KINDS,
  DEFAULT_MAX_METRICS,
  DEFAULT_MAX_RUNS,
  isChartKind,
  type ChartKind,
  type CompareOptions,
  type ComparedRun,
  type ConcreteChartKind,
  type RunInput,
} from "./types.js";
export { barSpec } from "./bar.js";
export { historySpec } from "./history.js";
export { scatterSpec } from "./scatter.js";
export { parallelSpec } from "./parallel.js";
export { autoSpec, buildChart, pickKind, type BuiltChart } from "./auto.js";
export { prepare, type Prepared, type PreparedRun, type ParamInfo } from "./data.js";
export { textTable } from "./table.js";
export { VEGA_LITE_V5_SCHEMA, fmtNumber } from "./common.js";
export { renderSpecToSvg, renderSvg, toPng, toVegaSpec, type PngOptions } from "./render.js";
export { renderSvgSync } from "./svg-sync.js";
export { Comparison, compare, compareAsync, VEGALITE_V5_MIME, type ComparisonBundle } from "./compare.js";
export type { TopLevelSpec } from "./common-types.js";
