// `%mlflow_compare`: fetch runs and the metric histories a chart can draw, hand them to
// charts' `compare`, and show its bundle (Vega-Lite v5 + rendered SVG + text table) inline.

import { CHART_KINDS, isChartKind, type ChartKind } from "../charts/types.js";
import { loadCharts } from "./charts-lazy.js";
import type { MagicContext } from "./context.js";
import { MagicError, type Magic } from "./registry.js";
import type { Metric, Run } from "../tracking/index.js";
import { drawnInHistory, existingExperiment, hasSteps, histories, positiveInt, runsById, searchAll } from "./run-query.js";

export const mlflowCompare: Magic<MagicContext> = {
  name: "mlflow_compare", kind: "line", summary: "Compare runs inline: bar, metric history, scatter or parallel-coordinates chart.",
  usage: "[--experiment E] [--runs ID,...] [--filter F] [--metric M]... [--param P]... [--kind auto|bar|history|scatter|parallel] [--max N]",
  options: {
    experiment: { type: "string", value: "E", description: "experiment name or id (default: the session's)" },
    runs: { type: "string", multiple: true, value: "ID,...", description: "compare these runs (instead of searching)" },
    filter: { type: "string", value: "F", description: "MLflow search filter, e.g. \"params.lr < 0.1\"" },
    metric: { type: "string", multiple: true, value: "M", description: "metric to chart (default: all)" },
    param: { type: "string", multiple: true, value: "P", description: "param to chart (default: those that vary)" },
    kind: { type: "string", value: CHART_KINDS.join("|"), description: "chart kind (default auto: history when steps exist)" },
    max: { type: "string", value: "N", description: "at most N runs, the most recent (default 1000)" },
  },
  async run(inv, ctx) {
    const v = inv.values;
    const kind = (v.kind as string | undefined) ?? "auto";
    if (!isChartKind(kind)) throw new MagicError("BAD_ARGUMENT", `Unknown --kind ${JSON.stringify(kind)}. Accepted: ${CHART_KINDS.join(", ")}.`);
    const max = positiveInt(v.max, "--max") ?? 1000;
    const store = ctx.session.tracking.store;
    const ids = (v.runs as string[] | undefined)?.flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
    const metrics = v.metric as string[] | undefined;
    // Runs named with --runs are all drawn; a search leaves out runs with nothing to chart
    // (such as the enclosing notebook run of `tslab-mlflow run`, which holds no metrics).
    const runs = ids?.length ? await runsById(store, ids)
      : withMetrics(await searchAll(store, (await existingExperiment(ctx.session, v.experiment as string | undefined)).experimentId,
        v.filter as string | undefined, ["attributes.start_time DESC"], max), metrics);
    // Histories only where they can be drawn: a history chart shows the latest 100 runs. For
    // `auto`, older runs are fetched too only when the drawn ones leave the choice open.
    let hist: (Record<string, Metric[]> | undefined)[] = runs.map(() => undefined);
    if (kind === "auto" || kind === "history") {
      const drawn = drawnInHistory(runs, max);
      const recent = await histories(store, runs, metrics, (id) => drawn.has(id));
      hist = recent;
      if (kind === "auto" && !hasSteps(recent)) {
        const older = await histories(store, runs, metrics, (id) => !drawn.has(id));
        hist = recent.map((h, i) => ({ ...h, ...older[i] }));
      }
    }
    const { compareAsync } = await loadCharts();
    const chart = await compareAsync(runs.map((run, i) => ({ run, history: hist[i] })), {
      kind: kind as ChartKind, max, metrics, params: v.param as string[] | undefined, metricsOption: "--metric",
    });
    ctx.cell.display(chart.bundle());
  },
};

/**
 * The runs holding at least one of `metrics` (any metric when none are named). When none do,
 * all of them, so that charts can say which metrics exist.
 */
function withMetrics(runs: Run[], metrics: string[] | undefined): Run[] {
  const wanted = metrics?.length ? new Set(metrics) : undefined;
  const kept = runs.filter((r) => r.data.metrics.some((m) => !wanted || wanted.has(m.key)));
  return kept.length ? kept : runs;
}
