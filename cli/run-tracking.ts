// The MLflow run that wraps one `tslab-mlflow run`: created while the kernel boots (its id
// goes to the kernel as MLFLOW_RUN_ID on its stdin, which makes `%%mlflow_run` cells nested
// runs under it), given the injected parameters as params, and ended with the executed
// notebook as an artifact and the status the execution earned. Loaded only once the kernel
// is spawned: tracking/ takes a while to load.
//
// Under a run someone else started (MLFLOW_RUN_ID in our environment, as MLflow's project
// runner `mlflow run` sets it for its entry point's command) the run is adopted instead: it
// must exist and be RUNNING, it gets the notebook's params, artifacts and the tags it lacks
// (the runner's own, like `mlflow.source.type=PROJECT`, stay), the cells' runs nest under it,
// and its end is left to its owner: the runner sets FINISHED or FAILED from our exit code, and
// leaves a run alone that is already ended, so ending it here would hide a failure.

import path from "node:path";
import type { Param, Run, RunStatus, Tag } from "../tracking/index.js";
import { ArtifactSpool, flushTimeoutFromEnv, Logger, MlflowClient, settlesWithin, spoolDirFor } from "../tracking/index.js";
import { gitTags, systemTags } from "../magics/system-tags.js";
import { parseCell } from "../magics/parse.js";
import type { INotebookContent } from "@jupyterlab/nbformat";
import { isCodeCell, joinSource } from "./notebook.js";
import { paramString, type Parameters } from "./parameters.js";

export interface NotebookRunOptions {
  /** Tracking URI; default MLFLOW_TRACKING_URI, else ./mlruns (resolved against the caller's cwd). */
  trackingUri?: string;
  /** Experiment name (or numeric id); default MLFLOW_EXPERIMENT_ID / MLFLOW_EXPERIMENT_NAME, else "0". */
  experiment?: string;
  /** The input notebook (absolute), the run's `mlflow.source.name`. */
  notebookPath: string;
  runName: string;
  params: Parameters;
  env?: Record<string, string | undefined>;
}

export class NotebookRun {
  private constructor(
    private readonly client: MlflowClient,
    private readonly env: Record<string, string | undefined>,
    readonly runId: string,
    readonly experimentId: string,
    readonly trackingUri: string,
    readonly artifactUri: string,
    /** False for a run adopted from MLFLOW_RUN_ID: its owner ends it, not us. */
    readonly owned: boolean,
  ) {}

  /**
   * Opens the store and either adopts the run in MLFLOW_RUN_ID or picks the experiment and
   * creates a RUNNING run; either way the run has the params and tags when this resolves.
   */
  static async start(opts: NotebookRunOptions): Promise<NotebookRun> {
    const env = opts.env ?? process.env;
    const client = new MlflowClient(opts.trackingUri, env);
    try {
      const inherited = env.MLFLOW_RUN_ID?.trim();
      return inherited ? await adopt(client, env, inherited, opts) : await create(client, env, opts);
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
  }

  /** @internal the two ways in (create, adopt) build the handle through this. */
  static of(client: MlflowClient, env: Record<string, string | undefined>, run: Run, owned: boolean): NotebookRun {
    return new NotebookRun(client, env, run.info.runId, run.info.experimentId, client.trackingUri, run.info.artifactUri, owned);
  }

  /** The closing line of `tslab-mlflow run` about this run. */
  describe(status: RunStatus): string {
    const where = `(experiment ${this.experimentId}, ${this.trackingUri})`;
    return this.owned
      ? `MLflow run ${this.runId} ${status} ${where}`
      : `MLflow run ${this.runId} ${where}: notebook ${status}; the run's own status is left to whoever started it (MLFLOW_RUN_ID)`;
  }

  /**
   * Uploads the executed notebook (and any other files) and ends the run with `status` (an
   * adopted run is not ended: see the header). What the server does not take within the
   * flush timeout (TSLAB_MLFLOW_FLUSH_TIMEOUT) waits in the spool, for the next kernel start
   * or `tslab-mlflow sync`: a server that went away does not leave the run RUNNING, nor lose
   * the notebook. Resolves to what waits there.
   */
  async finish(status: RunStatus, artifacts: { name: string; text: string }[]): Promise<{ waiting: string[] }> {
    const store = this.client.store;
    const spoolDir = spoolDirFor(store.uri);
    const wait = store.uri.startsWith("file:") ? Infinity : flushTimeoutFromEnv(this.env);
    const problems: string[] = [];
    // An upload still under way when this process exits is spooled by the exit hook.
    const spool = new ArtifactSpool(spoolDir, store.uri);
    const uploaded = new Set<string>();
    const uploads = artifacts.map((a) =>
      spool.upload(store, this.runId, a.name, a.text).then(
        (how) => void (how === "uploaded" && uploaded.add(a.name)),
        (e: Error) => {
          uploaded.add(a.name); // refused for good: reported below, not waiting
          problems.push(`could not upload ${a.name}: ${e.message}`);
        },
      ),
    );
    await settlesWithin(Promise.all(uploads), wait);
    const waiting = artifacts.map((a) => a.name).filter((name) => !uploaded.has(name));
    if (this.owned) {
      const logger = new Logger(store, { spoolDir });
      try {
        if ((await logger.updateRun(this.runId, { status, endTime: Date.now() })) === "spooled") waiting.push(`the run's ${status} status`);
      } catch (e) {
        problems.push(`could not mark run ${this.runId} ${status}: ${(e as Error).message}`);
      } finally {
        await logger.close().catch(() => {});
      }
    }
    // Closing waits for requests in the store's retries: not longer than the flush timeout.
    await settlesWithin(
      this.client.close().catch(() => {}),
      wait,
    );
    if (problems.length) throw new Error(problems.join("; "));
    return { waiting };
  }
}

/** A new run of our own, in the chosen experiment, with the notebook's params and our tags. */
async function create(client: MlflowClient, env: Record<string, string | undefined>, opts: NotebookRunOptions): Promise<NotebookRun> {
  const experiment = await chooseExperiment(client, opts.experiment);
  const tags = await notebookTags(opts, env);
  const run = await client.createRun(experiment.experimentId, { runName: opts.runName, tags });
  const params = Object.entries(opts.params).map(([key, value]) => ({ key, value: paramString(value) }));
  if (params.length) {
    try {
      await client.logBatch(run.info.runId, { params });
    } catch (e) {
      // The run exists now: never leave it RUNNING.
      await client.setTerminated(run.info.runId, "FAILED").catch(() => {});
      throw e;
    }
  }
  return NotebookRun.of(client, env, run, true);
}

/**
 * The RUNNING run named by MLFLOW_RUN_ID, given the notebook's params and the tags it lacks.
 * MLflow params cannot change, and the project runner logs its `-P` values itself (shell-quoted,
 * as it puts them in the command), so a param the run already has is kept as it is.
 */
async function adopt(
  client: MlflowClient,
  env: Record<string, string | undefined>,
  runId: string,
  opts: NotebookRunOptions,
): Promise<NotebookRun> {
  const hint = "MLFLOW_RUN_ID names the RUNNING run to log into, as `mlflow run` sets it; unset it to create a new run";
  let run: Run;
  try {
    run = await client.getRun(runId);
  } catch (e) {
    throw new Error(
      `MLFLOW_RUN_ID=${runId}: cannot open that run on ${client.trackingUri}: ${(e as Error).message.replace(/\.$/, "")}. ${hint}`,
    );
  }
  if (run.info.lifecycleStage === "deleted" || run.info.status !== "RUNNING") {
    const state = run.info.lifecycleStage === "deleted" ? "deleted" : run.info.status;
    throw new Error(`MLFLOW_RUN_ID=${runId}: that run on ${client.trackingUri} is ${state}, expected RUNNING. ${hint}`);
  }
  if (opts.experiment !== undefined) await noteOtherExperiment(client, run, opts.experiment);
  const logged = new Map(run.data.params.map((p) => [p.key, p.value]));
  const params: Param[] = [];
  for (const [key, value] of Object.entries(opts.params)) {
    const ours = paramString(value);
    const theirs = logged.get(key);
    if (theirs === undefined) params.push({ key, value: ours });
    else if (!sameParam(theirs, ours)) {
      console.error(
        `note: param ${key}: run ${runId} already has ${JSON.stringify(theirs)}, the notebook got ${JSON.stringify(ours)}; MLflow params cannot change, the run keeps ${JSON.stringify(theirs)}`,
      );
    }
  }
  const present = new Set(run.data.tags.map((t) => t.key));
  const tags: Tag[] = [...(await notebookTags(opts, env)), { key: NOTEBOOK_TAG, value: opts.notebookPath }].filter(
    (t) => !present.has(t.key),
  );
  if (params.length || tags.length) await client.logBatch(runId, { params, tags });
  return NotebookRun.of(client, env, run, false);
}

/** Which notebook ran in an adopted run: its `mlflow.source.name` is the project's. */
const NOTEBOOK_TAG = "tslab_mlflow.notebook";

async function notebookTags(opts: NotebookRunOptions, env: Record<string, string | undefined>): Promise<Tag[]> {
  return [
    ...systemTags({ notebookPath: opts.notebookPath, runName: opts.runName, env }),
    ...(await gitTags(path.dirname(opts.notebookPath))),
  ];
}

/** An adopted run stays in its experiment: say so when --experiment or the notebook names another. */
async function noteOtherExperiment(client: MlflowClient, run: Run, experiment: string): Promise<void> {
  const own = await client.getExperiment(run.info.experimentId).catch(() => undefined);
  if (experiment === run.info.experimentId || experiment === own?.name) return;
  const name = own ? ` ("${own.name}")` : "";
  console.error(
    `note: run ${run.info.runId} (MLFLOW_RUN_ID) is in experiment ${run.info.experimentId}${name}, not "${experiment}": the notebook's run stays there`,
  );
}

/** Python's shlex.quote, as MLflow's project runner applies it to the params it logs. */
export function shellQuote(s: string): string {
  if (s === "") return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/** The same value, as logged by the runner (quoted, or written another way, 1.0 for 1) and by us. */
function sameParam(theirs: string, ours: string): boolean {
  if (theirs === ours || theirs === shellQuote(ours)) return true;
  const a = Number(theirs),
    b = Number(ours);
  return theirs.trim() !== "" && ours.trim() !== "" && Number.isFinite(a) && a === b;
}

async function chooseExperiment(client: MlflowClient, experiment: string | undefined) {
  if (experiment === undefined) return client.resolveExperiment();
  if (/^\d+$/.test(experiment) && !(await client.getExperimentByName(experiment))) {
    return client.resolveExperiment({ experimentId: experiment });
  }
  return client.resolveExperiment({ experimentName: experiment });
}

/** The experiment the notebook sets with its first `%mlflow_experiment NAME` line magic, if any. */
export function notebookExperiment(nb: INotebookContent): string | undefined {
  for (const cell of nb.cells) {
    if (!isCodeCell(cell)) continue;
    const source = joinSource(cell.source);
    if (!/^\s*%/.test(source)) continue;
    try {
      const call = parseCell(source).lineMagics.find((m) => m.name === "mlflow_experiment" && !m.help);
      if (call?.argv[0]) return call.argv[0];
    } catch {
      // A malformed magic line is the kernel's to report when the cell runs.
    }
  }
  return undefined;
}
