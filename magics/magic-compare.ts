// `%mlflow_compare`: fetch runs and their metric histories, hand them to charts' `compare`, and
// show its bundle (Vega-Lite v5 + rendered SVG + text table) inline.

import { CHART_KINDS, isChartKind, type ChartKind } from "../charts/types.js";
import { loadCharts } from "./charts-lazy.js";
import type { MagicContext } from "./context.js";
import { MagicError, type Magic } from "./registry.js";
import { existingExperiment, histories, positiveInt, runsById, searchAll } from "./run-query.js";

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
    const runs = ids?.length ? await runsById(store, ids)
      : await searchAll(store, (await existingExperiment(ctx.session, v.experiment as string | undefined)).experimentId,
        v.filter as string | undefined, ["attributes.start_time DESC"], max);
    const metrics = v.metric as string[] | undefined;
    const wantHistory = kind === "auto" || kind === "history";
    const hist = wantHistory ? await histories(store, runs, metrics) : runs.map(() => undefined);
    const { compareAsync } = await loadCharts();
    const chart = await compareAsync(runs.map((run, i) => ({ run, history: hist[i] })), {
      kind: kind as ChartKind, max, metrics, params: v.param as string[] | undefined,
    });
    ctx.cell.display(chart.bundle());
  },
};
