// Experiments in the file store: `<root>/<id>/meta.yaml` (+ `tags/`), deleted ones moved
// to `<root>/.trash/<id>/`. Names are unique across active and deleted experiments; the
// uniqueness check and the creation happen under a cross-process lock.

import { randomInt } from "node:crypto";
import { promises as fs } from "node:fs";
import { join, resolve } from "node:path";
import type { Experiment, Tag, ViewType } from "../entities.js";
import { alreadyExists, invalidParameter, MlflowError, notFound } from "../errors.js";
import { validateTag } from "../validation.js";
import { corrupt, isExists, listDirs, listFilesDeepSync, readTextSync, readYaml, writeAtomic, writeYaml } from "./fsio.js";
import { fileUri, type Layout, MODELS } from "./layout.js";
import { withStoreLock } from "./lock.js";
import { experimentFromMeta, experimentToMeta } from "./meta.js";

export const DEFAULT_EXPERIMENT_ID = "0";
export const DEFAULT_EXPERIMENT_NAME = "Default";

export interface Located {
  experiment: Experiment;
  dir: string;
}

/** Reads the key/value files under a `tags/` directory. */
export async function readTagDir(dir: string): Promise<Tag[]> {
  return readTagDirSync(dir);
}

export function readTagDirSync(dir: string): Tag[] {
  const tags: Tag[] = [];
  for (const key of listFilesDeepSync(dir)) {
    const value = readTextSync(join(dir, key));
    if (value !== undefined) tags.push({ key, value });
  }
  return tags;
}

// MLflow's ids for new experiments are random 18-digit integers.
const newExperimentId = () => String(randomInt(1, 10)) + Array.from({ length: 17 }, () => randomInt(10)).join("");

export class Experiments {
  private defaultChecked = false;
  constructor(
    private readonly layout: Layout,
    private readonly warn: (e: MlflowError) => void,
  ) {}

  /** The experiment stored in `dir`; its tags are left empty unless `withTags`. */
  private async readAt(dir: string, withTags = true): Promise<Experiment | undefined> {
    const file = join(dir, "meta.yaml");
    const meta = await readYaml(file);
    if (!meta) return undefined;
    const exp = experimentFromMeta(meta, file, withTags ? readTagDirSync(join(dir, "tags")) : []);
    exp.artifactLocation = this.layout.rebase(exp.artifactLocation, `/${exp.experimentId}`);
    return exp;
  }

  /** Finds an experiment, active first, then in the trash (without its tags when only its place and state matter). */
  async locate(id: string, withTags = true): Promise<Located | undefined> {
    if (!/^[\w-]+$/.test(id)) return undefined;
    for (const dir of [this.layout.activeExperimentDir(id), this.layout.trashedExperimentDir(id)]) {
      const experiment = await this.readAt(dir, withTags);
      if (experiment) return { experiment, dir };
    }
    return undefined;
  }

  async get(id: string): Promise<Experiment> {
    const found = await this.locate(String(id));
    if (!found) throw notFound(`Could not find experiment with ID ${id}`);
    return found.experiment;
  }

  /** Every readable experiment of a view type; damaged ones are reported and skipped. */
  async list(viewType: ViewType = "ACTIVE_ONLY"): Promise<Experiment[]> {
    const dirs: string[] = [];
    if (viewType !== "DELETED_ONLY")
      for (const name of await listDirs(this.layout.root))
        if (!name.startsWith(".") && name !== MODELS) dirs.push(join(this.layout.root, name));
    if (viewType !== "ACTIVE_ONLY")
      for (const name of await listDirs(this.layout.trashDir)) if (!name.startsWith(".")) dirs.push(join(this.layout.trashDir, name));
    const out: Experiment[] = [];
    for (const dir of dirs) {
      try {
        const exp = await this.readAt(dir);
        if (exp) out.push(exp);
      } catch (e) {
        if (e instanceof MlflowError && e.code === "CORRUPT_STORE") this.warn(e);
        else throw e;
      }
    }
    return out;
  }

  async getByName(name: string): Promise<Experiment | undefined> {
    return (await this.list("ALL")).find((e) => e.name === name);
  }

  /** Creates the Default experiment `0` the first time the store is written to, as MLflow does. */
  async ensureDefault(): Promise<void> {
    if (this.defaultChecked) return;
    await fs.mkdir(this.layout.trashDir, { recursive: true });
    if (!(await this.locate(DEFAULT_EXPERIMENT_ID))) {
      await withStoreLock(this.layout.root, async () => {
        if (await this.locate(DEFAULT_EXPERIMENT_ID)) return;
        await this.writeNew(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, [], undefined);
      });
    }
    this.defaultChecked = true;
  }

  private async writeNew(id: string, name: string, tags: Tag[], artifactLocation: string | undefined): Promise<boolean> {
    const dir = this.layout.activeExperimentDir(id);
    try {
      await fs.mkdir(dir);
    } catch (e) {
      if (isExists(e)) return false;
      throw e;
    }
    const now = Date.now();
    const exp: Experiment = {
      experimentId: id,
      name,
      lifecycleStage: "active",
      creationTime: now,
      lastUpdateTime: now,
      tags,
      artifactLocation: artifactLocation ?? this.layout.defaultExperimentLocation(id),
    };
    for (const t of tags) await writeAtomic(join(dir, "tags", t.key), t.value);
    await writeYaml(join(dir, "meta.yaml"), experimentToMeta(exp, false));
    return true;
  }

  async create(name: string, tags: Tag[] = [], artifactLocation?: string): Promise<string> {
    if (typeof name !== "string" || name.trim() === "")
      throw invalidParameter(`Invalid experiment name ${JSON.stringify(name)}: it must be a non-empty string.`);
    tags.forEach(validateTag);
    // A plain path becomes an absolute file: URI, as MLflow stores it.
    const location =
      artifactLocation && !/^[a-z][a-z0-9+.-]*:/i.test(artifactLocation) ? fileUri(resolve(artifactLocation)) : artifactLocation;
    await this.ensureDefault();
    return withStoreLock(this.layout.root, async () => {
      const existing = await this.getByName(name);
      if (existing?.lifecycleStage === "deleted")
        throw alreadyExists(
          `Experiment '${name}' already exists in deleted state (id ${existing.experimentId}). Restore it, or remove it from ${this.layout.trashDir} to reuse the name.`,
        );
      if (existing) throw alreadyExists(`Experiment '${name}' already exists.`);
      for (;;) {
        const id = newExperimentId();
        if (await this.locate(id)) continue;
        if (await this.writeNew(id, name, tags, location)) return id;
      }
    });
  }

  async setTag(id: string, tag: Tag): Promise<void> {
    validateTag(tag);
    const found = await this.locate(id);
    if (!found) throw notFound(`Could not find experiment with ID ${id}`);
    if (found.experiment.lifecycleStage !== "active")
      throw invalidParameter(`The experiment ${id} must be in the 'active' state. Current state is ${found.experiment.lifecycleStage}.`);
    await writeAtomic(join(found.dir, "tags", tag.key), tag.value);
  }

  /** Moves the experiment to `.trash/<id>` after marking it and each of its active runs deleted. */
  async delete(id: string, markRuns: (dir: string, experimentId: string, deletedTime: number) => Promise<void>): Promise<void> {
    if (id === DEFAULT_EXPERIMENT_ID)
      throw invalidParameter("Cannot delete the default experiment '0'. This is an internally reserved experiment.");
    const dir = this.layout.activeExperimentDir(id);
    const exp = await this.readAt(dir);
    if (!exp) {
      if (await this.readAt(this.layout.trashedExperimentDir(id))) throw invalidParameter(`Experiment ${id} is already deleted.`);
      throw notFound(`Could not find experiment with ID ${id}`);
    }
    const now = Date.now();
    await markRuns(dir, id, now);
    await this.rewriteMeta(dir, exp, "deleted", now);
    await fs.mkdir(this.layout.trashDir, { recursive: true });
    await fs.rename(dir, this.layout.trashedExperimentDir(id));
  }

  async restore(id: string, markRuns: (dir: string, experimentId: string) => Promise<void>): Promise<void> {
    const trashed = this.layout.trashedExperimentDir(id);
    const exp = await this.readAt(trashed);
    if (!exp) {
      if (await this.readAt(this.layout.activeExperimentDir(id)))
        throw invalidParameter(`Cannot restore experiment ${id}: it is not deleted.`);
      throw notFound(`Could not find experiment with ID ${id}`);
    }
    const target = this.layout.activeExperimentDir(id);
    try {
      await fs.rename(trashed, target);
    } catch (e) {
      if (isExists(e) || (e as NodeJS.ErrnoException).code === "ENOTEMPTY")
        throw invalidParameter(`Cannot restore experiment with ID ${id}. An experiment with same ID already exists.`);
      throw e;
    }
    await markRuns(target, id);
    await this.rewriteMeta(target, exp, "active", Date.now());
  }

  /**
   * Rewrites meta.yaml with a new lifecycle stage, keeping the stored artifact_location
   * (we rebase it only when reporting) and any field we do not know about.
   */
  private async rewriteMeta(dir: string, exp: Experiment, stage: "active" | "deleted", time: number): Promise<void> {
    const file = join(dir, "meta.yaml");
    const onDisk = (await readYaml(file)) ?? {};
    const loc = onDisk.artifact_location;
    if (loc !== undefined && typeof loc !== "string") throw corrupt(file, "'artifact_location' should be a string");
    await writeYaml(file, {
      ...onDisk,
      ...experimentToMeta({ ...exp, lifecycleStage: stage, lastUpdateTime: time, artifactLocation: loc ?? exp.artifactLocation }, true),
    });
  }
}
