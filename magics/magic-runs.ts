// `%mlflow_runs [--experiment E] [--filter F] [--order-by O] [--max N]`: a table (HTML and text)
// of runs with their status, key params and last metric values.

import type { Run } from "../tracking/index.js";
import type { MagicContext } from "./context.js";
import type { Magic, OptionSchema } from "./registry.js";
import { existingExperiment, positiveInt, searchAll } from "./run-query.js";
import { escapeHtml, fmtValue } from "./summary.js";
import { table, type TableColumn } from "./table-output.js";

const MAX_COLUMNS = 6;

const options = {
  experiment: { type: "string", value: "E", description: "experiment name or id (default: the session's)" },
  filter: { type: "string", value: "F", description: 'MLflow search filter, e.g. "metrics.acc > 0.9"' },
  "order-by": { type: "string", multiple: true, value: "O", description: 'e.g. "metrics.loss ASC" (default: newest first)' },
  max: { type: "string", value: "N", description: "at most N runs (default 20)" },
} as const satisfies OptionSchema;

export const mlflowRuns: Magic<MagicContext, typeof options> = {
  name: "mlflow_runs",
  kind: "line",
  summary: "Show a table of runs with their key params and metrics.",
  usage: "[--experiment E] [--filter F] [--order-by O] [--max N]",
  options,
  async run(inv, ctx) {
    const v = inv.values;
    const max = positiveInt(v.max, "--max") ?? 20;
    const exp = await existingExperiment(ctx.session, v.experiment);
    const orderBy = v["order-by"] ?? ["attributes.start_time DESC"];
    const runs = await searchAll(ctx.session.tracking.store, exp.experimentId, v.filter, orderBy, max);
    ctx.cell.display(runsTable(runs, `${runs.length} run${runs.length === 1 ? "" : "s"} in experiment ${exp.name}`));
  },
};

/** Params that vary first (they tell runs apart), then the rest, alphabetical within each. */
function keyColumns(values: Map<string, string>[]): string[] {
  const keys = [...new Set(values.flatMap((m) => [...m.keys()]))].sort();
  const varies = (k: string) => new Set(values.map((m) => m.get(k))).size > 1;
  return [...keys.filter(varies), ...keys.filter((k) => !varies(k))].slice(0, MAX_COLUMNS);
}

// A 32-character run id is the widest column; the table shows its start (as MLflow's UI does)
// and keeps the whole id in the tooltip, so the table fits a page.
const shortId = (id: string) => `<code title="${escapeHtml(id)}">${escapeHtml(id.slice(0, 8))}</code>`;

export function runsTable(runs: readonly Run[], caption: string) {
  const params = runs.map((r) => new Map(r.data.params.map((p) => [p.key, p.value])));
  const metrics = runs.map((r) => new Map(r.data.metrics.map((m) => [m.key, fmtValue(m.value)])));
  const pCols = keyColumns(params),
    mCols = keyColumns(metrics);
  const columns: TableColumn[] = [
    { header: "run" },
    { header: "run id", html: shortId, whole: true },
    { header: "status" },
    ...pCols.map((header) => ({ header, title: "param" })),
    ...mCols.map((header) => ({ header, title: "metric" })),
  ];
  const rows = runs.map((r, i) => [
    r.info.runName,
    r.info.runId,
    r.info.status,
    ...pCols.map((k) => params[i]!.get(k) ?? ""),
    ...mCols.map((k) => metrics[i]!.get(k) ?? ""),
  ]);
  return table(caption, columns, rows);
}
