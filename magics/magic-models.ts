// `%mlflow_models [NAME]`: without a name, the registered models (latest version, aliases);
// with one, its versions as a table: aliases, status, source run and that run's key metrics,
// so the Champion can be told from the Challenger at a glance.

import type { ModelVersion, RegisteredModel, Run } from "../tracking/index.js";
import type { MagicContext } from "./context.js";
import type { Magic, OptionSchema } from "./registry.js";
import { positiveInt } from "./run-query.js";
import { fmtValue } from "./summary.js";
import { table } from "./table-output.js";

const MAX_METRICS = 4;

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

async function allPages<T>(fetch: (token?: string) => Promise<{ items: T[]; nextPageToken?: string }>, max: number): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    out.push(...page.items);
    token = page.items.length ? page.nextPageToken : undefined;
  } while (token && out.length < max);
  return out.slice(0, max);
}

export function versionsTable(model: RegisteredModel, versions: ModelVersion[], runs: Map<string, Run>) {
  const aliasesOf = new Map<string, string[]>();
  for (const a of model.aliases) aliasesOf.set(a.version, [...(aliasesOf.get(a.version) ?? []), a.alias]);
  const metricNames = [...new Set(versions.flatMap((v) => (v.runId ? (runs.get(v.runId)?.data.metrics.map((m) => m.key) ?? []) : [])))]
    .sort()
    .slice(0, MAX_METRICS);
  const header = ["version", "aliases", "status", "source run", ...metricNames, "source"];
  const rows = versions.map((v) => {
    const run = v.runId ? runs.get(v.runId) : undefined;
    const metric = (k: string) => {
      const m = run?.data.metrics.find((x) => x.key === k);
      return m ? fmtValue(m.value) : "";
    };
    return [
      v.version,
      (aliasesOf.get(v.version) ?? []).join(", "),
      v.status ?? "",
      run ? `${run.info.runName} (${v.runId})` : (v.runId ?? ""),
      ...metricNames.map(metric),
      v.source,
    ];
  });
  return table(`${model.name}: ${versions.length} version${versions.length === 1 ? "" : "s"}`, header, rows);
}

const options = {
  max: { type: "string", value: "N", description: "at most N rows (default 50)" },
} as const satisfies OptionSchema;

export const mlflowModels: Magic<MagicContext, typeof options> = {
  name: "mlflow_models",
  kind: "line",
  summary: "Show registered models, or one model's versions with aliases and source-run metrics.",
  usage: "[NAME] [--max N]",
  options,
  maxPositionals: 1,
  async run(inv, ctx) {
    const max = positiveInt(inv.values.max, "--max") ?? 50;
    const client = ctx.session.tracking.client;
    const name = inv.positionals[0];
    if (!name) {
      const models = await allPages((pageToken) => client.searchRegisteredModels({ pageToken }), max);
      const rows = models.map((m) => {
        const latest = m.latestVersions.map((v) => Number(v.version)).sort((a, b) => b - a)[0];
        return [
          m.name,
          latest === undefined ? "" : String(latest),
          m.aliases.map((a) => `${a.alias} -> ${a.version}`).join(", "),
          m.description ?? "",
        ];
      });
      ctx.cell.display(
        table(`${models.length} registered model${models.length === 1 ? "" : "s"}`, ["name", "latest", "aliases", "description"], rows),
      );
      return;
    }
    const model = await client.getRegisteredModel(name);
    const versions = (await allPages((pageToken) => client.searchModelVersions({ filter: `name = ${quote(name)}`, pageToken }), max)).sort(
      (a, b) => Number(b.version) - Number(a.version),
    );
    const runs = new Map<string, Run>();
    await Promise.all(
      [...new Set(versions.map((v) => v.runId).filter((id): id is string => !!id))].map(async (id) => {
        const run = await client.getRun(id).catch(() => undefined);
        if (run) runs.set(id, run);
      }),
    );
    ctx.cell.display(versionsTable(model, versions, runs));
  },
};
