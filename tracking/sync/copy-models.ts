// Copies registered models whose versions come from copied runs: the registered model
// (created when missing, with its description and tags), each such version in the source's
// version order with its source rewritten to the run's copy (`runs:/<copy id>/...`), its
// description and tags, and the aliases that point at copied versions. A version copy carries
// the source's `<name>/<version>` as a tag, so a second sync finds it instead of adding one.
// Stages (deprecated in MLflow) are not copied: the store interface has no stage transition.

import type { ModelVersion, RegisteredModel } from "../entities.js";
import { MlflowError } from "../errors.js";
import type { TrackingStore } from "../store.js";
import { SOURCE_MODEL_VERSION_TAG, SOURCE_URI_TAG, tagValue } from "./provenance.js";
import { allPages } from "./select.js";

export type ModelVersionOutcome = "copied" | "skipped" | "failed" | "would copy";

export interface ModelVersionCopy {
  name: string;
  version: string;
  outcome: ModelVersionOutcome;
  /** The version number in the target. */
  copyVersion?: string;
  error?: string;
}

const nameFilter = (name: string) => `name='${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** `runs:/<old>/p` or a URI under the old run's artifact root becomes `runs:/<copy>/p`; anything else is kept. */
export function rewriteSource(source: string, runId: string, copyId: string, artifactUri?: string): string {
  const prefix = `runs:/${runId}`;
  if (source === prefix || source.startsWith(prefix + "/")) return `runs:/${copyId}${source.slice(prefix.length)}`;
  if (artifactUri && (source === artifactUri || source.startsWith(artifactUri.replace(/\/$/, "") + "/")))
    return `runs:/${copyId}${source.slice(artifactUri.replace(/\/$/, "").length)}`;
  return source;
}

async function targetModel(target: TrackingStore, model: RegisteredModel): Promise<RegisteredModel> {
  try {
    return await target.getRegisteredModel(model.name);
  } catch (err) {
    if (!(err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
  }
  try {
    return await target.createRegisteredModel(model.name, {
      description: model.description || undefined,
      tags: model.tags.length ? model.tags : undefined,
    });
  } catch (err) {
    // Created by someone else between the two calls.
    if (err instanceof MlflowError && err.code === "RESOURCE_ALREADY_EXISTS") return target.getRegisteredModel(model.name);
    throw err;
  }
}

export interface CopyModelsArgs {
  source: TrackingStore;
  target: TrackingStore;
  sourceUri: string;
  /** Source run id -> its copy's id, and the source run's artifact URI. */
  copies: Map<string, { copyId: string; artifactUri?: string }>;
  dryRun?: boolean;
}

export async function copyModels(args: CopyModelsArgs): Promise<ModelVersionCopy[]> {
  const { source } = args;
  const versions = (await allPages((pageToken) => source.searchModelVersions({ pageToken }))).filter(
    (v) => v.runId !== undefined && args.copies.has(v.runId),
  );
  const byName = new Map<string, ModelVersion[]>();
  for (const v of versions) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  const results: ModelVersionCopy[] = [];
  for (const [name, list] of byName) {
    list.sort((a, b) => Number(a.version) - Number(b.version));
    try {
      results.push(...(await copyModel(args, name, list)));
    } catch (err) {
      const error = (err as Error).message;
      for (const v of list)
        if (!results.some((r) => r.name === name && r.version === v.version))
          results.push({ name, version: v.version, outcome: "failed", error });
    }
  }
  return results;
}

async function copyModel(args: CopyModelsArgs, name: string, versions: ModelVersion[]): Promise<ModelVersionCopy[]> {
  const { source, target, sourceUri } = args;
  const model = await source.getRegisteredModel(name);
  const existing = new Map<string, string>();
  const there = await target.getRegisteredModel(name).then(
    () => true,
    (err) => {
      if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST") return false;
      throw err;
    },
  );
  if (there)
    for (const v of await allPages((pageToken) => target.searchModelVersions({ filter: nameFilter(name), pageToken }))) {
      const from = tagValue(v.tags, SOURCE_MODEL_VERSION_TAG);
      if (from !== undefined && tagValue(v.tags, SOURCE_URI_TAG) === sourceUri) existing.set(from, v.version);
    }
  const out: ModelVersionCopy[] = [];
  if (args.dryRun) {
    for (const v of versions) {
      const copyVersion = existing.get(`${name}/${v.version}`);
      out.push({ name, version: v.version, outcome: copyVersion ? "skipped" : "would copy", copyVersion });
    }
    return out;
  }
  const copied = await targetModel(target, model);
  for (const tag of model.tags) if (tagValue(copied.tags, tag.key) !== tag.value) await target.setRegisteredModelTag(name, tag);
  const versionMap = new Map<string, string>();
  for (const v of versions) {
    const key = `${name}/${v.version}`;
    const found = existing.get(key);
    if (found) {
      versionMap.set(v.version, found);
      out.push({ name, version: v.version, outcome: "skipped", copyVersion: found });
      continue;
    }
    const run = args.copies.get(v.runId!)!;
    try {
      const made = await target.createModelVersion({
        name,
        runId: run.copyId,
        source: rewriteSource(v.source, v.runId!, run.copyId, run.artifactUri),
        description: v.description || undefined,
        tags: [
          ...v.tags.filter((t) => t.key !== SOURCE_MODEL_VERSION_TAG && t.key !== SOURCE_URI_TAG),
          { key: SOURCE_MODEL_VERSION_TAG, value: key },
          { key: SOURCE_URI_TAG, value: sourceUri },
        ],
      });
      versionMap.set(v.version, made.version);
      out.push({ name, version: v.version, outcome: "copied", copyVersion: made.version });
    } catch (err) {
      out.push({ name, version: v.version, outcome: "failed", error: (err as Error).message });
    }
  }
  // Aliases last: an alias moves to the copy of the version it names in the source.
  for (const { alias, version } of model.aliases) {
    const copyVersion = versionMap.get(version);
    if (copyVersion === undefined) continue;
    const current = copied.aliases.find((a) => a.alias === alias)?.version;
    if (current !== copyVersion) await target.setRegisteredModelAlias(name, alias, copyVersion);
  }
  return out;
}
