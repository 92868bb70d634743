// `%mlflow_compare`: fetch runs and the metric histories a chart can draw, hand them to
// charts' `compare`, and show its bundle (Vega-Lite v5 + rendered SVG + text table) inline.
// `--model NAME` compares a registered model's aliased versions (Champion vs Challenger ...)
// by their source runs, each run labelled by its alias(es) and version.
// This module is the magic's table entry (name, options, help); what it does is in
// magic-compare-run.ts, loaded on first use: it brings models/ and charts/.

import { CHART_KINDS } from "../charts/types.js";
import type { MagicContext } from "./context.js";
import type { Magic, OptionSchema } from "./registry.js";

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
    const { runCompare } = await import("./magic-compare-run.js");
    await runCompare(inv, ctx);
  },
};
