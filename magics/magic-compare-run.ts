// What `%mlflow_compare` does when it runs (its name, options and help are in
// magic-compare.ts): fetch runs and the metric histories a chart can draw, hand them to
// charts' `compare`, and show its bundle. Loaded on the magic's first use, since it brings
// models/ (for --model) and charts/.

import { CHART_KINDS, isChartKind } from "../charts/types.js";
import { loadCharts } from "./charts-lazy.js";
import type { MagicContext } from "./context.js";
import { drawnInHistory, hasSteps, histories } from "./history-query.js";
import type { mlflowCompare } from "./magic-compare.js";
import { MagicError, type Invocation } from "./registry.js";
import { modelVersionRuns, UNALIASED_VERSIONS } from "../models/index.js";
import { MlflowError, type Metric, type Run } from "../tracking/index.js";
import { existingExperiment, positiveInt, runsById, searchAll } from "./run-query.js";

type CompareOptions = (typeof mlflowCompare)["options"];

export async function runCompare(inv: Invocation<CompareOptions>, ctx: MagicContext): Promise<void> {
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
}

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
