// Runs in the file store: `<exp>/<run_id>/meta.yaml` plus `metrics/`, `params/`, `tags/`,
// `artifacts/` and `inputs/` (datasets, see inputs.ts). logBatch is the one write path for
// metrics, params and tags. Runs written by MLflow 3 clients (no `run_uuid`, LoggedModel
// `inputs/` and `outputs/`) read like any other.

import { randomUUID } from "node:crypto";
import { promises as fs, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Batch, CreateRun, DatasetInput, Metric, Param, Run, RunInfo, RunUpdate, ViewType } from "../entities.js";
import { isRunStatus } from "../entities.js";
import { invalidParameter, MlflowError, notFound } from "../errors.js";
import { MAX_RUN_NAME_LENGTH } from "../limits.js";
import { generateRunName } from "../run-names.js";
import { validateBatch, validateKey } from "../validation.js";
import type { Experiments } from "./experiments.js";
import { readTagDirSync } from "./experiments.js";
import {
  appendWhole,
  createExclusive,
  exists,
  listDirs,
  listFilesDeepSync,
  readTextOrUndefined,
  readTextSync,
  readYamlSync,
  writeAtomic,
  writeUnpublished,
  writeYaml,
} from "./fsio.js";
import { Inputs, validateDatasetInputs } from "./inputs.js";
import { EXPERIMENT_RESERVED, type Layout } from "./layout.js";
import { runFromMeta, runToMeta, type StoredRun as StoredMeta } from "./meta.js";
import { latestPoint, metricLine, parseMetricFile } from "./metrics.js";

export const RUN_NAME_TAG = "mlflow.runName";
const RUN_ID = /^[A-Za-z0-9_-]{1,256}$/;

/** A run's meta.yaml as read: its info, and the raw mapping (kept when the file is rewritten). */
type StoredRun = StoredMeta & { doc: Record<string, unknown> };

/** How long a scan of many runs may hold the event loop before yielding (ms). */
const SCAN_SLICE_MS = 4;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const matchesView = (stage: string, view: ViewType) =>
  view === "ALL" || (view === "ACTIVE_ONLY" ? stage === "active" : stage === "deleted");

export class Runs {
  /** run id -> run directory; checked on every use, since experiments move to and from the trash. */
  private readonly dirs = new Map<string, string>();
  /** run directory -> where its artifacts go; a run's artifact URI never changes once written. */
  private readonly artifactRoots = new Map<string, { dir: string; uri: string }>();
  private readonly inputs: Inputs;

  constructor(
    private readonly layout: Layout,
    private readonly experiments: Experiments,
    private readonly warn: (e: MlflowError) => void,
  ) {
    this.inputs = new Inputs(warn);
  }

  // ---- reading -------------------------------------------------------------------------

  readStored(dir: string): StoredRun | undefined {
    const file = join(dir, "meta.yaml");
    const doc = readYamlSync(file);
    if (!doc) return undefined;
    const stored = runFromMeta(doc, file);
    const { info } = stored;
    info.artifactUri = this.layout.rebase(info.artifactUri, `/${info.experimentId}/${info.runId}/artifacts`);
    return { ...stored, doc };
  }

  async locate(runId: string): Promise<string> {
    if (typeof runId !== "string" || !RUN_ID.test(runId))
      throw invalidParameter(`Invalid run ID ${JSON.stringify(runId)}: expected a run id such as 0123456789abcdef0123456789abcdef.`);
    if (EXPERIMENT_RESERVED.has(runId)) throw notFound(`Run '${runId}' not found`); // an experiment's own folder
    const cached = this.dirs.get(runId);
    if (cached && (await exists(join(cached, "meta.yaml")))) return cached;
    const expRoots = [this.layout.root, this.layout.trashDir];
    for (const base of expRoots) {
      for (const exp of await listDirs(base)) {
        if (exp.startsWith(".") || (base === this.layout.root && exp === "models")) continue;
        const dir = join(base, exp, runId);
        if (await exists(join(dir, "meta.yaml"))) {
          this.dirs.set(runId, dir);
          return dir;
        }
      }
    }
    throw notFound(`Run '${runId}' not found`);
  }

  async info(runId: string): Promise<{ dir: string; stored: StoredRun }> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const dir = await this.locate(runId);
      const stored = this.readStored(dir);
      if (stored) return { dir, stored };
      this.dirs.delete(runId); // its experiment moved (deleted/restored) meanwhile: look again
    }
    throw notFound(`Run '${runId}' not found`);
  }

  /** Latest metric values, params and tags of a run directory. */
  private readData(dir: string): Run["data"] {
    const metrics: Metric[] = [];
    for (const key of listFilesDeepSync(join(dir, "metrics"))) {
      const file = join(dir, "metrics", key);
      const text = readTextSync(file);
      const latest = text === undefined ? undefined : latestPoint(parseMetricFile(text, key, file));
      if (latest) metrics.push(latest);
    }
    return { metrics, params: readTagDirSync(join(dir, "params")), tags: readTagDirSync(join(dir, "tags")) };
  }

  readRun(dir: string, known?: StoredRun): Run | undefined {
    const stored = known ?? this.readStored(dir);
    if (!stored) return undefined;
    const data = this.readData(dir);
    if (!stored.info.runName) stored.info.runName = data.tags.find((t) => t.key === RUN_NAME_TAG)?.value ?? "";
    // `inputs` only when the run has some, as the REST store reports runs.
    const datasetInputs = this.inputs.read(dirname(dir), dir, stored.info.runId);
    return datasetInputs.length ? { info: stored.info, data, inputs: { datasetInputs } } : { info: stored.info, data };
  }

  async get(runId: string): Promise<Run> {
    const { dir, stored } = await this.info(runId);
    return this.readRun(dir, stored)!;
  }

  /** Runs of one experiment directory for a view type; damaged runs are reported and skipped. */
  async listIn(expDir: string, view: ViewType): Promise<Run[]> {
    const names = (await listDirs(expDir)).filter((n) => !EXPERIMENT_RESERVED.has(n) && !n.startsWith("."));
    const readOne = (name: string): Run | undefined => {
      const dir = join(expDir, name);
      try {
        const stored = this.readStored(dir);
        if (!stored || !matchesView(stored.info.lifecycleStage, view)) return undefined;
        const run = this.readRun(dir, stored);
        if (run) this.dirs.set(run.info.runId, dir);
        return run;
      } catch (e) {
        if (e instanceof MlflowError && e.code === "CORRUPT_STORE") {
          this.warn(e);
          return undefined;
        }
        throw e;
      }
    };
    // Synchronous reads of small files, in slices so a long scan never holds the event loop
    // for more than a few milliseconds.
    const runs: Run[] = [];
    let slice = performance.now();
    for (const name of names) {
      const run = readOne(name);
      if (run) runs.push(run);
      if (performance.now() - slice > SCAN_SLICE_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
    }
    return runs;
  }

  async metricHistory(runId: string, key: string): Promise<Metric[]> {
    validateKey("metric", key);
    const dir = await this.locate(runId);
    const file = join(dir, "metrics", key);
    const text = await readTextOrUndefined(file);
    return text === undefined ? [] : parseMetricFile(text, key, file);
  }

  // ---- writing -------------------------------------------------------------------------

  private async active(runId: string): Promise<{ dir: string; stored: StoredRun }> {
    const found = await this.info(runId);
    if (found.stored.info.lifecycleStage !== "active")
      throw invalidParameter(`The run ${runId} must be in the 'active' state. Current state is ${found.stored.info.lifecycleStage}.`);
    return found;
  }

  async create(args: CreateRun): Promise<Run> {
    const experimentId = String(args.experimentId ?? "");
    const exp = await this.experiments.locate(experimentId, false);
    if (!exp) throw notFound(`Could not create run under experiment with ID ${experimentId} - no such experiment exists.`);
    if (exp.experiment.lifecycleStage !== "active")
      throw invalidParameter(`Could not create run under non-active experiment with ID ${experimentId}.`);
    const tags = [...(args.tags ?? [])];
    validateBatch({ tags });
    const tagName = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
    if (args.runName !== undefined && tagName !== undefined && args.runName !== tagName)
      throw invalidParameter(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${args.runName}', mlflow.runName='${tagName}').`,
      );
    const runName = args.runName || tagName || generateRunName();
    checkRunName(runName);
    if (tagName === undefined) tags.push({ key: RUN_NAME_TAG, value: runName });

    const runId = randomUUID().replace(/-/g, "");
    const dir = join(exp.dir, runId);
    const info: RunInfo = {
      runId,
      experimentId,
      runName,
      userId: args.userId ?? "unknown",
      status: "RUNNING",
      startTime: args.startTime ?? Date.now(),
      lifecycleStage: "active",
      artifactUri: `${exp.experiment.artifactLocation}/${runId}/artifacts`,
    };
    for (const d of ["metrics", "params", "tags", "artifacts"]) mkdirSync(join(dir, d), { recursive: true });
    // meta.yaml last: a run is visible to readers only once it is complete, so its tags need
    // no temp file (the last value of a repeated key wins, as in order).
    for (const [k, v] of new Map(tags.map((t) => [t.key, t.value]))) await writeUnpublished(join(dir, "tags", k), v);
    await writeYaml(join(dir, "meta.yaml"), runToMeta(info));
    this.dirs.set(runId, dir);
    if (info.artifactUri === this.layout.defaultArtifactUri(experimentId, runId))
      this.artifactRoots.set(dir, { dir: join(dir, "artifacts"), uri: info.artifactUri });
    return { info, data: { metrics: [], params: [], tags } };
  }

  /** Rewrites meta.yaml; `onDisk` is the mapping just read from it. */
  private async writeInfo(dir: string, info: RunInfo, deletedTime: number | undefined, onDisk: Record<string, unknown>): Promise<void> {
    // Write back the stored artifact_uri, not the rebased one shown to callers, and keep
    // any field a newer MLflow wrote that we do not know about.
    const file = join(dir, "meta.yaml");
    const artifactUri = typeof onDisk.artifact_uri === "string" ? onDisk.artifact_uri : info.artifactUri;
    const { deleted_time: _dropped, ...kept } = onDisk;
    await writeYaml(file, { ...kept, ...runToMeta({ ...info, artifactUri }, deletedTime) });
  }

  async update(runId: string, update: RunUpdate): Promise<RunInfo> {
    const { dir, stored } = await this.active(runId);
    const info = { ...stored.info };
    if (update.status !== undefined) {
      if (!isRunStatus(update.status))
        throw invalidParameter(
          `Invalid run status ${JSON.stringify(update.status)}: expected one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED.`,
        );
      info.status = update.status;
    }
    if (update.endTime !== undefined) {
      if (!Number.isInteger(update.endTime))
        throw invalidParameter(`Invalid end time ${JSON.stringify(update.endTime)}: expected integer epoch milliseconds.`);
      info.endTime = update.endTime;
    }
    if (update.runName !== undefined && update.runName !== "") {
      checkRunName(update.runName);
      info.runName = update.runName;
      await writeAtomic(join(dir, "tags", RUN_NAME_TAG), update.runName);
    }
    await this.writeInfo(dir, info, stored.deletedTime, stored.doc);
    return info;
  }

  /** Delete (from active) or restore (from deleted), as MLflow's FileStore allows. */
  async setLifecycle(runId: string, stage: "active" | "deleted"): Promise<void> {
    const { dir, stored } = await this.info(runId);
    const from = stage === "deleted" ? "active" : "deleted";
    if (stored.info.lifecycleStage !== from)
      throw invalidParameter(`The run ${runId} must be in the '${from}' state. Current state is ${stored.info.lifecycleStage}.`);
    const info = { ...stored.info, lifecycleStage: stage };
    await this.writeInfo(dir, info, stage === "deleted" ? Date.now() : undefined, stored.doc);
  }

  /** Marks every run of an experiment directory deleted or active (experiment delete/restore). */
  async markAll(expDir: string, stage: "active" | "deleted", deletedTime?: number): Promise<void> {
    for (const name of await listDirs(expDir)) {
      if (EXPERIMENT_RESERVED.has(name) || name.startsWith(".")) continue;
      const dir = join(expDir, name);
      try {
        const stored = this.readStored(dir);
        if (!stored || stored.info.lifecycleStage === stage) continue;
        await this.writeInfo(dir, { ...stored.info, lifecycleStage: stage }, stage === "deleted" ? deletedTime : undefined, stored.doc);
      } catch (e) {
        if (e instanceof MlflowError && e.code === "CORRUPT_STORE") this.warn(e);
        else throw e;
      }
    }
  }

  async logBatch(runId: string, batch: Batch): Promise<void> {
    validateBatch(batch);
    const { dir, stored } = await this.active(runId);
    const params = batch.params ?? [],
      metrics = batch.metrics ?? [],
      tags = batch.tags ?? [];
    // Check every param before writing anything, so a refused batch leaves no trace.
    const newParams: Param[] = [];
    for (const p of params) {
      const file = join(dir, "params", p.key);
      const before = await readTextOrUndefined(file);
      if (before === undefined) {
        if (!newParams.some((q) => q.key === p.key)) newParams.push(p);
      } else if (before !== p.value)
        throw invalidParameter(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${before}' for run ID='${runId}'. Attempted logging new value '${p.value}'.`,
        );
    }
    // Exclusive create: if another writer logged the same key meanwhile, its value stands
    // and ours must equal it.
    for (const p of newParams) {
      const file = join(dir, "params", p.key);
      if (await createExclusive(file, p.value)) continue;
      const winner = await readTextOrUndefined(file);
      if (winner !== p.value)
        throw invalidParameter(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${winner}' for run ID='${runId}'. Attempted logging new value '${p.value}'.`,
        );
    }
    // One append per metric key: each is a single O_APPEND write of whole lines.
    const byKey = new Map<string, string>();
    for (const m of metrics) byKey.set(m.key, (byKey.get(m.key) ?? "") + metricLine(m));
    await Promise.all([...byKey].map(([key, lines]) => appendWhole(join(dir, "metrics", key), lines)));
    for (const t of tags) await writeAtomic(join(dir, "tags", t.key), t.value);
    const rename = [...tags].reverse().find((t) => t.key === RUN_NAME_TAG);
    if (rename && rename.value !== stored.info.runName) {
      checkRunName(rename.value);
      await this.writeInfo(dir, { ...stored.info, runName: rename.value }, stored.deletedTime, stored.doc);
    }
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    validateDatasetInputs(datasets);
    const { dir } = await this.active(runId);
    this.inputs.log(dirname(dir), dir, runId, datasets);
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    validateKey("tag", key);
    const { dir } = await this.active(runId);
    try {
      await fs.unlink(join(dir, "tags", key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`No tag with name: ${key} in run with id ${runId}`);
      throw e;
    }
  }

  /** The directory of a run's artifacts for `file:` artifact URIs of this store. */
  async artifactDir(runId: string): Promise<{ dir: string; uri: string }> {
    const known = this.artifactRoots.get(await this.locate(runId));
    if (known) return known;
    const { dir, stored } = await this.info(runId);
    const { info } = stored;
    const root =
      info.artifactUri === this.layout.defaultArtifactUri(info.experimentId, runId)
        ? { dir: join(dir, "artifacts"), uri: info.artifactUri }
        : { dir: "", uri: info.artifactUri };
    this.artifactRoots.set(dir, root);
    return root;
  }
}

function checkRunName(name: string): void {
  if (typeof name !== "string" || name.length > MAX_RUN_NAME_LENGTH)
    throw invalidParameter(
      `Invalid run name ${JSON.stringify(String(name).slice(0, 40))}: at most ${MAX_RUN_NAME_LENGTH} characters are accepted.`,
    );
}
