// The public input and option types of charts/, and the list of chart kinds (one `as const`
// list gives the values, the type and the guard).

import type { Metric, Run } from "../tracking/index.js";

/** A run plus, optionally, the full history of some of its metrics (key -> points). */
export interface ComparedRun {
  run: Run;
  history?: Record<string, readonly Metric[]>;
  /**
   * What the charts call this run instead of its name (e.g. `Champion (v3)` when runs stand
   * for model versions); still made unique with an id prefix should two runs share it.
   */
  label?: string;
}

/** What the builders accept: plain runs, runs with histories, or a mix. */
export type RunInput = Run | ComparedRun;

export const CHART_KINDS = ["auto", "bar", "history", "scatter", "parallel"] as const;
export type ChartKind = (typeof CHART_KINDS)[number];
export type ConcreteChartKind = Exclude<ChartKind, "auto">;
export const isChartKind = (k: unknown): k is ChartKind => CHART_KINDS.includes(k as ChartKind);

export interface CompareOptions {
  /** Metrics to chart; default: every metric the runs logged (up to DEFAULT_MAX_METRICS). */
  metrics?: readonly string[];
  /** Params to chart (scatter x, parallel axes) and show; default: the params that vary. */
  params?: readonly string[];
  /** Which chart; default `auto` (see `pickKind`). */
  kind?: ChartKind;
  /** At most this many runs, the most recently started; default DEFAULT_MAX_RUNS. */
  max?: number;
  /** Chart title; default names the chart and the run count. */
  title?: string;
  /**
   * How the caller picks metrics, named in the text table's notes: `metrics` (this option) by
   * default; `%mlflow_compare` says `--metric`.
   */
  metricsOption?: string;
}

export const DEFAULT_MAX_RUNS = 1000;
/** Without an explicit `metrics` option, chart at most this many (alphabetically first). */
export const DEFAULT_MAX_METRICS = 10;
