// Turns the caller's runs into one checked, ordered model that every builder and the text
// table read: runs sorted by start time then run id (so input order never matters), unique
// labels, final values and histories per metric, and what each param looks like.

import type { Metric, Run } from "../tracking/index.js";
import { ChartError, listOrNone } from "./errors.js";
import {
  type CompareOptions,
  type ComparedRun,
  type RunInput,
  DEFAULT_MAX_METRICS,
  DEFAULT_MAX_RUNS,
  CHART_KINDS,
  isChartKind,
} from "./types.js";

export interface PreparedRun {
  /** Unique within the comparison: the caller's label or else the run name, with an id prefix when these repeat. */
  label: string;
  /** The label was the caller's (`{ run, label }`), not the run name. */
  labelGiven: boolean;
  name: string;
  runId: string;
  startTime: number;
  params: ReadonlyMap<string, string>;
  /** The latest value of each metric. */
  finals: ReadonlyMap<string, number>;
  /** Points per metric ordered by step, timestamp, value; the final value alone when no history was given. */
  history: ReadonlyMap<string, readonly Metric[]>;
}

export interface ParamInfo {
  key: string;
  /** Every value present parses as a finite decimal number. */
  numeric: boolean;
  /** Not the same value (or absence) in every run. */
  varies: boolean;
  /** Numeric, all positive, and max/min >= 100: values span two decades or more. */
  log: boolean;
  /** Distinct values present, numeric ascending for numeric params, else code-unit order. */
  values: readonly string[];
}

export interface Prepared {
  runs: readonly PreparedRun[];
  /** Runs given, before `max` kept the most recent. */
  totalRuns: number;
  /** Metrics to chart, in the order asked for (default: alphabetical). */
  metrics: readonly string[];
  allMetrics: readonly string[];
  /** Metrics left out because none were asked for and there were more than DEFAULT_MAX_METRICS. */
  omittedMetrics: number;
  /** Params to chart, in the order asked for (default: alphabetical among those that vary). */
  params: readonly ParamInfo[];
  allParams: readonly string[];
  /** Params shown in tooltips and the table: the charted ones, then others that vary (else all). */
  shownParams: readonly ParamInfo[];
}

/** Tooltips and the table add at most this many params to the charted ones (alphabetically first). */
const MAX_SHOWN_PARAMS = 8;

const NUMBER = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;
export const isNumeric = (s: string): boolean => NUMBER.test(s);

/** MLflow's "latest" rule: highest step, then timestamp, then value. */
export function byStep(a: Metric, b: Metric): number {
  return a.step - b.step || a.timestamp - b.timestamp || cmpNum(a.value, b.value);
}

/** Total order on numbers including NaN (last), so sorting is deterministic. */
export function cmpNum(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Plain code-unit order: the same everywhere, unlike localeCompare. */
export const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function checkOptions(options: CompareOptions): void {
  if (options === null || typeof options !== "object") {
    throw new ChartError("BAD_OPTION", `options must be an object, got ${String(options)}`);
  }
  if (options.kind !== undefined && !isChartKind(options.kind)) {
    throw new ChartError("BAD_OPTION", `Unknown chart kind ${JSON.stringify(options.kind)}; accepted: ${CHART_KINDS.join(", ")}`);
  }
  if (options.max !== undefined && !(Number.isInteger(options.max) && options.max > 0)) {
    throw new ChartError("BAD_OPTION", `max must be a positive integer, got ${JSON.stringify(options.max)}`);
  }
  for (const name of ["metrics", "params"] as const) {
    const list = options[name];
    if (list !== undefined && !(Array.isArray(list) && list.every((s) => typeof s === "string" && s !== ""))) {
      throw new ChartError("BAD_OPTION", `${name} must be a list of non-empty names, got ${JSON.stringify(list)}`);
    }
  }
  if (options.title !== undefined && typeof options.title !== "string") {
    throw new ChartError("BAD_OPTION", `title must be a string, got ${JSON.stringify(options.title)}`);
  }
}

function asComparedRun(item: unknown, index: number): ComparedRun {
  const o = item as { info?: unknown; run?: { info?: unknown } } | null;
  const candidate = o && typeof o === "object" && "run" in o && o.run ? (o as ComparedRun) : { run: o as Run };
  const info = candidate.run?.info as { runId?: unknown } | undefined;
  if (!info || typeof info.runId !== "string" || !candidate.run.data) {
    throw new ChartError(
      "BAD_INPUT",
      `runs[${index}] is not a run: expected an MLflow Run ({info, data}) or {run, history, label}, got ${describe(item)}`,
    );
  }
  if (candidate.label !== undefined && (typeof candidate.label !== "string" || candidate.label === "")) {
    throw new ChartError("BAD_INPUT", `runs[${index}].label must be a non-empty string, got ${JSON.stringify(candidate.label)}`);
  }
  return candidate;
}

function describe(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? String(v);
  return `an object with keys ${listOrNone(Object.keys(v))}`;
}

function uniqueLabels(runs: { name: string; runId: string; label?: string }[]): string[] {
  const base = runs.map((r) => r.label || r.name || r.runId.slice(0, 8));
  const count = (labels: string[]) => labels.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const seen = count(base);
  const withPrefix = base.map((l, i) => (seen.get(l)! > 1 ? `${l} (${runs[i].runId.slice(0, 8)})` : l));
  const again = count(withPrefix);
  return withPrefix.map((l, i) => (again.get(l)! > 1 ? `${base[i]} (${runs[i].runId})` : l));
}

function paramInfo(key: string, runs: readonly PreparedRun[]): ParamInfo {
  const present = runs.map((r) => r.params.get(key));
  const values = [...new Set(present.filter((v): v is string => v !== undefined))];
  const numeric = values.length > 0 && values.every(isNumeric);
  values.sort(numeric ? (a, b) => cmpNum(Number(a), Number(b)) || cmpStr(a, b) : cmpStr);
  const varies = new Set(present).size > 1;
  const nums = numeric ? values.map(Number) : [];
  const log = numeric && nums[0] > 0 && nums[nums.length - 1] / nums[0] >= 100;
  return { key, numeric, varies, log, values };
}

/** Checks the runs and options and builds the ordered model; throws ChartError on bad input. */
export function prepare(input: readonly RunInput[], options: CompareOptions = {}): Prepared {
  checkOptions(options);
  if (!Array.isArray(input)) {
    throw new ChartError("BAD_INPUT", `runs must be a list of runs, got ${describe(input)}`);
  }
  if (input.length === 0) {
    throw new ChartError("NO_RUNS", "No runs to compare: the list of runs is empty (check the experiment, run ids or filter).");
  }
  const raw = input.map((item, i) => {
    const { run, history, label } = asComparedRun(item, i);
    const name = run.info.runName || run.data.tags?.find((t) => t.key === "mlflow.runName")?.value || "";
    return { run, history, label, name, runId: run.info.runId, startTime: Number(run.info.startTime) || 0 };
  });
  // The same run given twice (e.g. `--runs a,a`) is drawn once: the copy carrying more points.
  const size = (r: (typeof raw)[number]) =>
    (r.run.data.metrics?.length ?? 0) + Object.values(r.history ?? {}).reduce((n, h) => n + h.length, 0);
  const byId = new Map<string, (typeof raw)[number]>();
  for (const r of raw) {
    const seen = byId.get(r.runId);
    if (!seen || size(r) > size(seen)) byId.set(r.runId, r);
  }
  const unique = [...byId.values()].sort((a, b) => a.startTime - b.startTime || cmpStr(a.runId, b.runId));
  const kept = unique.slice(Math.max(0, unique.length - (options.max ?? DEFAULT_MAX_RUNS)));
  const labels = uniqueLabels(kept);

  const runs: PreparedRun[] = kept.map((r, i) => {
    const history = new Map<string, Metric[]>();
    for (const [key, points] of Object.entries(r.history ?? {})) {
      if (points.length > 0) history.set(key, [...points].sort(byStep));
    }
    const finals = new Map<string, number>();
    for (const m of r.run.data.metrics ?? []) {
      finals.set(m.key, m.value);
      if (!history.has(m.key)) history.set(m.key, [m]);
    }
    for (const [key, points] of history) {
      if (!finals.has(key)) finals.set(key, points[points.length - 1].value);
    }
    const params = new Map((r.run.data.params ?? []).map((p) => [p.key, p.value] as const));
    return { label: labels[i], labelGiven: !!r.label, name: r.name, runId: r.runId, startTime: r.startTime, params, finals, history };
  });

  const allMetrics = [...new Set(runs.flatMap((r) => [...r.history.keys()]))].sort(cmpStr);
  const allParams = [...new Set(runs.flatMap((r) => [...r.params.keys()]))].sort(cmpStr);
  const runCount = `${runs.length} run${runs.length === 1 ? "" : "s"}`;

  for (const m of options.metrics ?? []) {
    if (!allMetrics.includes(m)) {
      throw new ChartError(
        "METRIC_NOT_FOUND",
        `Metric ${JSON.stringify(m)} not found in any of the ${runCount}; available metrics: ${listOrNone(allMetrics)}`,
      );
    }
  }
  for (const p of options.params ?? []) {
    if (!allParams.includes(p)) {
      throw new ChartError(
        "PARAM_NOT_FOUND",
        `Param ${JSON.stringify(p)} not found in any of the ${runCount}; available params: ${listOrNone(allParams)}`,
      );
    }
  }
  const metrics = options.metrics ? [...new Set(options.metrics)] : allMetrics.slice(0, DEFAULT_MAX_METRICS);
  const infos = new Map(allParams.map((k) => [k, paramInfo(k, runs)] as const));
  const params = options.params ? [...new Set(options.params)].map((k) => infos.get(k)!) : [...infos.values()].filter((p) => p.varies);
  return {
    runs,
    totalRuns: unique.length,
    metrics,
    allMetrics,
    omittedMetrics: allMetrics.length - metrics.length,
    params,
    allParams,
    shownParams: shownParams(params, [...infos.values()]),
  };
}

/** Charted params first, then the others that vary; with none of either, all params. */
function shownParams(charted: ParamInfo[], all: ParamInfo[]): ParamInfo[] {
  const varying = all.filter((p) => p.varies && !charted.includes(p));
  const shown = [...charted, ...varying.slice(0, Math.max(0, MAX_SHOWN_PARAMS - charted.length))];
  return shown.length > 0 ? shown : all.slice(0, MAX_SHOWN_PARAMS);
}

/** Throws NO_DATA naming what exists when a chart needs metrics and none were logged. */
export function requireMetrics(p: Prepared, chart: string): void {
  if (p.metrics.length === 0) {
    throw new ChartError(
      "NO_DATA",
      `A ${chart} chart needs a metric, but none of the ${p.runs.length} runs logged one` + ` (params: ${listOrNone(p.allParams)}).`,
    );
  }
}
