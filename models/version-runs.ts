// A registered model's versions as the runs that produced them, for comparing versions by
// their source runs' metrics (Champion against Challenger: the A/B practice). The aliased
// versions when the model has aliases, else its latest versions; each run is labelled by the
// alias(es) and version(s) it stands for, e.g. `Champion (v3)`.

import {
  LOGGED_MODEL_ID,
  MlflowError,
  RestStore,
  getLoggedModel,
  type MlflowClient,
  type ModelVersion,
  type Run,
} from "../tracking/index.js";

/** Without aliases, this many of the newest versions are compared. */
export const UNALIASED_VERSIONS = 10;

/** The aliases MLflow's docs use for A/B, first in labels; others follow alphabetically. */
const ALIAS_ORDER = ["Champion", "Challenger"];

export interface VersionRun {
  run: Run;
  /** E.g. `Champion (v3)`, `Challenger, Shadow (v4)`, `v2`; versions sharing a run are joined with " / ". */
  label: string;
  versions: { version: string; aliases: string[] }[];
}

export interface VersionRuns {
  model: string;
  /** False when the model has no aliases and its latest versions were taken instead. */
  aliased: boolean;
  runs: VersionRun[];
  /** Versions compared (aliased, or the latest ones), newest first. */
  versions: string[];
  /** Versions left out because no source run could be found for them. */
  withoutRun: string[];
}

const LOGGED_MODEL_SOURCE = /^models:\/+(m-[0-9a-f]{32})\/?$|\/models\/(m-[0-9a-f]{32})\/artifacts\/?$/;

const aliasRank = (a: string) => {
  const i = ALIAS_ORDER.findIndex((x) => x.toLowerCase() === a.toLowerCase());
  return i < 0 ? ALIAS_ORDER.length : i;
};
const byAlias = (a: string, b: string) => aliasRank(a) - aliasRank(b) || (a < b ? -1 : a > b ? 1 : 0);
/** Champion 0, Challenger 1, another alias 2, no alias 3. */
const bestRank = (aliases: readonly string[]) => Math.min(ALIAS_ORDER.length + 1, ...aliases.map(aliasRank));

/** `Champion, Production (v3)`, or `v7` for a version without aliases. */
export function versionLabel(version: string, aliases: readonly string[]): string {
  return aliases.length ? `${[...aliases].sort(byAlias).join(", ")} (v${version})` : `v${version}`;
}

/**
 * The run a version came from: its `run_id`, else (MLflow 3) the source run of the
 * LoggedModel its source names. Undefined when neither is known.
 */
async function sourceRunId(client: MlflowClient, mv: ModelVersion): Promise<string | undefined> {
  if (mv.runId) return mv.runId;
  const m = LOGGED_MODEL_SOURCE.exec(mv.source);
  const id = m?.[1] ?? m?.[2];
  if (!id || !LOGGED_MODEL_ID.test(id) || !(client.store instanceof RestStore)) return undefined;
  return (await getLoggedModel(client.store, id).catch(() => undefined))?.sourceRunId;
}

async function latestVersions(client: MlflowClient, name: string, n: number): Promise<ModelVersion[]> {
  const all: ModelVersion[] = [];
  const filter = `name = '${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  let pageToken: string | undefined;
  do {
    const page = await client.searchModelVersions({ filter, pageToken });
    all.push(...page.items);
    pageToken = page.items.length ? page.nextPageToken : undefined;
  } while (pageToken);
  return all.sort((a, b) => Number(b.version) - Number(a.version)).slice(0, n);
}

/**
 * The source runs of a registered model's aliased versions (or, with no aliases, of its
 * latest `latest` versions). An unknown model is an error naming it.
 */
export async function modelVersionRuns(client: MlflowClient, name: string, opts: { latest?: number } = {}): Promise<VersionRuns> {
  if (typeof name !== "string" || name.trim() === "")
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Invalid registered model name ${JSON.stringify(name)}: give the name of a registered model.`,
      400,
    );
  const model = await client.getRegisteredModel(name).catch((err: unknown) => {
    if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")
      throw new MlflowError(
        err.code,
        `Unknown registered model ${JSON.stringify(name)}: ${client.trackingUri} has no registered model by that name.`,
        err.httpStatus,
        { cause: err },
      );
    throw err;
  });
  const aliasesOf = new Map<string, string[]>();
  for (const a of model.aliases) aliasesOf.set(a.version, [...(aliasesOf.get(a.version) ?? []), a.alias]);
  const aliased = aliasesOf.size > 0;
  const versions = aliased
    ? await Promise.all([...aliasesOf.keys()].map((v) => client.getModelVersion(name, v)))
    : await latestVersions(client, name, opts.latest ?? UNALIASED_VERSIONS);
  versions.sort((a, b) => Number(b.version) - Number(a.version));

  const runIds = await Promise.all(versions.map((mv) => sourceRunId(client, mv)));
  const byRun = new Map<string, { version: string; aliases: string[] }[]>();
  const withoutRun: string[] = [];
  versions.forEach((mv, i) => {
    const id = runIds[i];
    if (!id) return void withoutRun.push(mv.version);
    byRun.set(id, [...(byRun.get(id) ?? []), { version: mv.version, aliases: aliasesOf.get(mv.version) ?? [] }]);
  });
  const runs: VersionRun[] = [];
  for (const [id, vs] of byRun) {
    const run = await client.getRun(id).catch((err: unknown) => {
      if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw err;
    });
    if (!run) {
      withoutRun.push(...vs.map((v) => v.version));
      continue;
    }
    // Aliased versions first (Champion, Challenger, ...), then by version, newest first.
    vs.sort((a, b) => bestRank(a.aliases) - bestRank(b.aliases) || Number(b.version) - Number(a.version));
    runs.push({ run, versions: vs, label: vs.map((v) => versionLabel(v.version, v.aliases)).join(" / ") });
  }
  return {
    model: name,
    aliased,
    runs,
    versions: versions.map((v) => v.version),
    withoutRun: withoutRun.sort((a, b) => Number(b) - Number(a)),
  };
}
