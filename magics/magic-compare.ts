// `%mlflow_compare`: fetch runs and the metric histories a chart can draw, hand them to
// charts' `compare`, and show its bundle (Vega-Lite v5 + rendered SVG + text table) inline.
// `--model NAME` compares a registered model's aliased versions (Champion vs Challenger ...)
// by their source runs, each run labelled by its alias(es) and version.

import { CHART_KINDS, isChartKind } from "../charts/types.js";
import { loadCharts } from "./charts-lazy.js";
import type { MagicContext } from "./context.js";
import { MagicError, type Magic, type OptionSchema } from "./registry.js";
import { modelVersionRuns, UNALIASED_VERSIONS } from "../models/index.js";
import { MlflowError, type Metric, type Run } from "../tracking/index.js";
import { drawnInHistory, existingExperiment, hasSteps, histories, positiveInt, runsById, searchAll } from "./run-query.js";

const options = {
  model: {
    type: "string",
    value: "NAME",
    description: "compare a registered model's aliased versions (else its latest 10) by their source runs",
  },
  experiment: { type: "string", value: "E", description: "experiment name or id (default: the session's)" },
  runs: { type: "string", multiple: true, value: "ID,...", description: "compare these runs (instead of searching)" },
  filter: { type: "string", value: "F", description: 'MLflow search filter, e.g. "params.lr < 0.1"' },
  metric: { type: "string", multiple: true, value: "M", description: "metric to chart (default: all)" },
  param: { type: "string", multiple: true, value: "P", description: "param to chart (default: those that vary)" },
  kind: {
    type: "string",
    value: CHART_KINDS.join("|"),
    default: "auto",
    description: "chart kind (default auto: history when steps exist)",
  },
  max: { type: "string", value: "N", description: "at most N runs, the most recent (default 1000)" },
} as const satisfies OptionSchema;

export const mlflowCompare: Magic<MagicContext, typeof options> = {
  name: "mlflow_compare",
  kind: "line",
  summary: "Compare runs inline: bar, metric history, scatter or parallel-coordinates chart.",
  usage:
    "[--experiment E] [--runs ID,...] [--filter F] [--model NAME] [--metric M]... [--param P]... [--kind auto|bar|history|scatter|parallel] [--max N]",
  options,
  async run(inv, ctx) {
    const v = inv.values;
    const kind = v.kind;
    if (!isChartKind(kind))
      throw new MagicError("BAD_ARGUMENT", `Unknown --kind ${JSON.stringify(kind)}. Accepted: ${CHART_KINDS.join(", ")}.`);
    const max = positiveInt(v.max, "--max") ?? 1000;
    const store = ctx.session.tracking.store;
    const ids = v.runs
      ?.flatMap((s) => s.split(","))
      .map((s) => s.trim())
      .filter(Boolean);
    const metrics = v.metric;
    const model = v.model;
    let labels: (string | undefined)[] | undefined;
    let runs: Run[];
    if (model !== undefined) {
      if (ids?.length || v.filter !== undefined || v.experiment !== undefined)
        throw new MagicError(
          "BAD_ARGUMENT",
          "--model compares a registered model's versions by their source runs; it does not combine with --runs, --filter or --experiment.",
        );
      const byModel = await versionRuns(ctx, model);
      runs = byModel.map((r) => r.run);
      labels = byModel.map((r) => r.label);
    } else {
      // Runs named with --runs are all drawn; a search leaves out runs with nothing to chart
      // (such as the enclosing notebook run of `tslab-mlflow run`, which holds no metrics).
      runs = ids?.length
        ? await runsById(store, ids)
        : withMetrics(
            await searchAll(
              store,
              (await existingExperiment(ctx.session, v.experiment)).experimentId,
              v.filter,
              ["attributes.start_time DESC"],
              max,
            ),
            metrics,
          );
    }
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
    const chart = await compareAsync(
      runs.map((run, i) => ({ run, history: hist[i], label: labels?.[i] })),
      {
        kind,
        max,
        metrics,
        params: v.param,
        metricsOption: "--metric",
      },
    );
    ctx.cell.display(chart.bundle());
  },
};

/**
 * `--model NAME`: the source runs of the model's aliased versions (else its latest ones) with
 * their labels; a note says what was compared when it is not what the user may expect.
 */
async function versionRuns(ctx: MagicContext, name: string) {
  const found = await modelVersionRuns(ctx.session.tracking.client, name).catch((err: unknown) => {
    if (err instanceof MlflowError && (err.code === "RESOURCE_DOES_NOT_EXIST" || err.code === "INVALID_PARAMETER_VALUE"))
      throw new MagicError("BAD_ARGUMENT", `--model: ${err.message} %mlflow_models lists the registered models.`);
    throw err;
  });
  const notes: string[] = [];
  if (!found.aliased)
    notes.push(
      `${name} has no aliases: comparing its latest ${Math.min(found.versions.length, UNALIASED_VERSIONS)} version${found.versions.length === 1 ? "" : "s"} (${found.versions.map((v) => `v${v}`).join(", ")}).`,
    );
  if (found.withoutRun.length) notes.push(`Left out (no source run found): ${found.withoutRun.map((v) => `v${v}`).join(", ")}.`);
  if (!found.runs.length)
    throw new MagicError(
      "BAD_ARGUMENT",
      `--model: ${found.versions.length ? `none of ${name}'s versions (${found.versions.map((v) => `v${v}`).join(", ")}) has a source run to compare` : `${name} has no versions to compare`}.`,
    );
  if (notes.length) ctx.cell.display({ "text/plain": notes.join("\n") });
  return found.runs;
}

/**
 * The runs holding at least one of `metrics` (any metric when none are named). When none do,
 * all of them, so that charts can say which metrics exist.
 */
function withMetrics(runs: Run[], metrics: string[] | undefined): Run[] {
  const wanted = metrics?.length ? new Set(metrics) : undefined;
  const kept = runs.filter((r) => r.data.metrics.some((m) => !wanted || wanted.has(m.key)));
  return kept.length ? kept : runs;
}
