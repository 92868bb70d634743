// The model registry in MLflow's file layout: `models/<name>/meta.yaml` (with an `aliases`
// mapping), `models/<name>/aliases/<alias>` files, `models/<name>/tags/`, and
// `models/<name>/version-N/meta.yaml` (+ `tags/`). Aliases are reported on versions and in
// latest_versions, as MLflow's file registry does.

import { promises as fs } from "node:fs";
import { join } from "node:path";
import type { ModelVersion, Page, RegisteredModel, Tag } from "../entities.js";
import { alreadyExists, invalidParameter, MlflowError, notFound } from "../errors.js";
import { searchModelVersionList, searchRegisteredModelList, type SearchArgs } from "../search/index.js";
import { validateTag } from "../validation.js";
import { readTagDir } from "./experiments.js";
import { corrupt, isExists, isNoEnt, listDirs, listFilesDeep, readTextOrUndefined, readYaml, writeAtomic, writeYaml } from "./fsio.js";
import type { Layout } from "./layout.js";

const STAGE_NONE = "None";
const DELETED_STAGE = "Deleted_Internal";

function checkModelName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.trim() === "" || /[/\\]/.test(name) || name === "." || name === ".." || name.startsWith("."))
    throw invalidParameter(
      `Invalid registered model name ${JSON.stringify(name)}: a non-empty name without '/', '\\' or a leading '.' is required.`,
    );
}

function checkAlias(alias: unknown): asserts alias is string {
  if (typeof alias !== "string" || !/^[\w-]{1,255}$/.test(alias))
    throw invalidParameter(`Invalid alias ${JSON.stringify(alias)}: use letters, digits, '_' and '-' (at most 255).`);
  if (alias.toLowerCase() === "latest" || /^v\d+$/i.test(alias))
    throw invalidParameter(`Invalid alias '${alias}': 'latest' and 'v<number>' are reserved.`);
}

const num = (v: unknown) => (typeof v === "number" ? v : undefined);
const strOrUndef = (v: unknown) => (v === null || v === undefined || v === "" ? undefined : String(v));

export class Registry {
  constructor(
    private readonly layout: Layout,
    private readonly warn: (e: MlflowError) => void,
  ) {}

  private modelDir = (name: string) => join(this.layout.modelsDir, name);
  private versionDir = (name: string, version: string | number) => join(this.modelDir(name), `version-${version}`);

  private async meta(name: string): Promise<Record<string, unknown>> {
    checkModelName(name);
    const meta = await readYaml(join(this.modelDir(name), "meta.yaml"));
    if (!meta) throw notFound(`Registered Model with name=${name} not found`);
    return meta;
  }

  private async aliases(name: string, meta: Record<string, unknown>): Promise<{ alias: string; version: string }[]> {
    const dir = join(this.modelDir(name), "aliases");
    const files = await listFilesDeep(dir);
    if (files.length > 0) {
      const out = [];
      for (const alias of files) {
        const v = await readTextOrUndefined(join(dir, alias));
        if (v !== undefined) out.push({ alias, version: v.trim() });
      }
      return out;
    }
    const mapping = meta.aliases;
    if (mapping && typeof mapping === "object" && !Array.isArray(mapping))
      return Object.entries(mapping).map(([alias, version]) => ({ alias, version: String(version) }));
    return [];
  }

  private async readVersion(
    name: string,
    version: string,
    aliases: { alias: string; version: string }[],
  ): Promise<ModelVersion | undefined> {
    const dir = this.versionDir(name, version);
    const file = join(dir, "meta.yaml");
    const meta = await readYaml(file);
    if (!meta) return undefined;
    if (meta.version === undefined || meta.source === undefined) throw corrupt(file, "missing 'version' or 'source'");
    const mv: ModelVersion = {
      name,
      version: String(meta.version),
      source: String(meta.source),
      currentStage: strOrUndef(meta.current_stage) ?? STAGE_NONE,
      status: strOrUndef(meta.status) ?? "READY",
      tags: await readTagDir(join(dir, "tags")),
      aliases: aliases.filter((a) => a.version === String(meta.version)).map((a) => a.alias),
    };
    const created = num(meta.creation_timestamp),
      updated = num(meta.last_updated_timestamp);
    if (created !== undefined) mv.creationTimestamp = created;
    if (updated !== undefined) mv.lastUpdatedTimestamp = updated;
    const description = strOrUndef(meta.description),
      runId = strOrUndef(meta.run_id);
    if (description !== undefined) mv.description = description;
    if (runId !== undefined) mv.runId = runId;
    return mv;
  }

  /** Versions of a model; a damaged version is reported and skipped so the others stay visible. */
  private async versions(name: string, aliases: { alias: string; version: string }[]): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    for (const d of await listDirs(this.modelDir(name))) {
      const m = /^version-(\d+)$/.exec(d);
      if (!m) continue;
      try {
        const mv = await this.readVersion(name, m[1]!, aliases);
        if (mv && mv.currentStage !== DELETED_STAGE) out.push(mv);
      } catch (e) {
        if (e instanceof MlflowError && e.code === "CORRUPT_STORE") this.warn(e);
        else throw e;
      }
    }
    return out;
  }

  async get(name: string): Promise<RegisteredModel> {
    const meta = await this.meta(name);
    const aliases = await this.aliases(name, meta);
    const versions = await this.versions(name, aliases);
    // latest_versions: the highest version in each stage.
    const latest = new Map<string, ModelVersion>();
    for (const v of versions) {
      const cur = latest.get(v.currentStage ?? STAGE_NONE);
      if (!cur || Number(v.version) > Number(cur.version)) latest.set(v.currentStage ?? STAGE_NONE, v);
    }
    const model: RegisteredModel = {
      name,
      latestVersions: [...latest.values()],
      aliases,
      tags: await readTagDir(join(this.modelDir(name), "tags")),
    };
    const created = num(meta.creation_timestamp),
      updated = num(meta.last_updated_timestamp);
    if (created !== undefined) model.creationTimestamp = created;
    if (updated !== undefined) model.lastUpdatedTimestamp = updated;
    const description = strOrUndef(meta.description);
    if (description !== undefined) model.description = description;
    return model;
  }

  private async writeModelMeta(name: string, changes: Record<string, unknown>): Promise<void> {
    const meta = await this.meta(name);
    await writeYaml(join(this.modelDir(name), "meta.yaml"), { ...meta, ...changes });
  }

  async create(name: string, opts: { description?: string; tags?: Tag[] } = {}): Promise<RegisteredModel> {
    checkModelName(name);
    (opts.tags ?? []).forEach(validateTag);
    await fs.mkdir(this.layout.modelsDir, { recursive: true });
    const dir = this.modelDir(name);
    try {
      await fs.mkdir(dir);
    } catch (e) {
      if (isExists(e)) throw alreadyExists(`Registered Model (name=${name}) already exists.`);
      throw e;
    }
    const now = Date.now();
    for (const t of opts.tags ?? []) await writeAtomic(join(dir, "tags", t.key), t.value);
    await writeYaml(join(dir, "meta.yaml"), {
      aliases: {},
      creation_timestamp: now,
      description: opts.description ?? null,
      last_updated_timestamp: now,
      name,
    });
    return this.get(name);
  }

  async list(): Promise<RegisteredModel[]> {
    const out: RegisteredModel[] = [];
    for (const name of await listDirs(this.layout.modelsDir)) {
      if (name.startsWith(".")) continue;
      try {
        out.push(await this.get(name));
      } catch (e) {
        if (e instanceof MlflowError && e.code === "CORRUPT_STORE") this.warn(e);
        else if (!(e instanceof MlflowError && e.code === "RESOURCE_DOES_NOT_EXIST")) throw e;
      }
    }
    return out;
  }

  search = async (args: SearchArgs): Promise<Page<RegisteredModel>> => searchRegisteredModelList(await this.list(), args);

  async setTag(name: string, tag: Tag): Promise<void> {
    validateTag(tag);
    await this.meta(name);
    await writeAtomic(join(this.modelDir(name), "tags", tag.key), tag.value);
  }

  async update(name: string, description: string): Promise<RegisteredModel> {
    await this.writeModelMeta(name, { description, last_updated_timestamp: Date.now() });
    return this.get(name);
  }

  async createVersion(args: { name: string; source: string; runId?: string; description?: string; tags?: Tag[] }): Promise<ModelVersion> {
    const { name } = args;
    if (typeof args.source !== "string" || !args.source)
      throw invalidParameter("A model version needs a source, e.g. runs:/<run_id>/model.");
    (args.tags ?? []).forEach(validateTag);
    const meta = await this.meta(name);
    for (;;) {
      const existing = (await listDirs(this.modelDir(name)))
        .map((d) => /^version-(\d+)$/.exec(d)?.[1])
        .filter(Boolean)
        .map(Number);
      const version = existing.length ? Math.max(...existing) + 1 : 1;
      const dir = this.versionDir(name, version);
      try {
        await fs.mkdir(dir);
      } catch (e) {
        if (isExists(e)) continue;
        throw e;
      }
      const now = Date.now();
      for (const t of args.tags ?? []) await writeAtomic(join(dir, "tags", t.key), t.value);
      await writeYaml(join(dir, "meta.yaml"), {
        aliases: [],
        creation_timestamp: now,
        current_stage: STAGE_NONE,
        description: args.description ?? null,
        last_updated_timestamp: now,
        name,
        run_id: args.runId ?? null,
        run_link: null,
        source: args.source,
        status: "READY",
        status_message: null,
        storage_location: args.source,
        user_id: null,
        version,
      });
      await writeYaml(join(this.modelDir(name), "meta.yaml"), { ...meta, last_updated_timestamp: now });
      return this.getVersion(name, String(version));
    }
  }

  async getVersion(name: string, version: string): Promise<ModelVersion> {
    const meta = await this.meta(name);
    if (!/^\d+$/.test(String(version)))
      throw invalidParameter(`Invalid model version ${JSON.stringify(version)}: expected a positive integer.`);
    const mv = await this.readVersion(name, String(version), await this.aliases(name, meta));
    if (!mv || mv.currentStage === DELETED_STAGE) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
    return mv;
  }

  async listVersions(): Promise<ModelVersion[]> {
    const out: ModelVersion[] = [];
    for (const name of await listDirs(this.layout.modelsDir)) {
      if (name.startsWith(".")) continue;
      try {
        const meta = await this.meta(name);
        out.push(...(await this.versions(name, await this.aliases(name, meta))));
      } catch (e) {
        if (e instanceof MlflowError && e.code === "CORRUPT_STORE") this.warn(e);
        else if (!(e instanceof MlflowError && e.code === "RESOURCE_DOES_NOT_EXIST")) throw e;
      }
    }
    return out;
  }

  searchVersions = async (args: SearchArgs): Promise<Page<ModelVersion>> => searchModelVersionList(await this.listVersions(), args);

  async setVersionTag(name: string, version: string, tag: Tag): Promise<void> {
    validateTag(tag);
    await this.getVersion(name, version);
    await writeAtomic(join(this.versionDir(name, version), "tags", tag.key), tag.value);
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    checkAlias(alias);
    await this.getVersion(name, version);
    const meta = await this.meta(name);
    await writeAtomic(join(this.modelDir(name), "aliases", alias), String(version));
    const mapping = { ...((meta.aliases as Record<string, string> | null) ?? {}), [alias]: String(version) };
    await writeYaml(join(this.modelDir(name), "meta.yaml"), { ...meta, aliases: mapping, last_updated_timestamp: Date.now() });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    checkAlias(alias);
    const meta = await this.meta(name);
    await fs.unlink(join(this.modelDir(name), "aliases", alias)).catch((e) => {
      if (!isNoEnt(e)) throw e;
    });
    const mapping = { ...((meta.aliases as Record<string, string> | null) ?? {}) };
    delete mapping[alias];
    await writeYaml(join(this.modelDir(name), "meta.yaml"), { ...meta, aliases: mapping, last_updated_timestamp: Date.now() });
  }

  async getByAlias(name: string, alias: string): Promise<ModelVersion> {
    const meta = await this.meta(name);
    const found = (await this.aliases(name, meta)).find((a) => a.alias === alias);
    if (!found) throw invalidParameter(`Registered model alias ${alias} not found.`);
    return this.getVersion(name, found.version);
  }
}
