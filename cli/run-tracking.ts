// The MLflow run that wraps one `tslab-mlflow run`: created while the kernel boots (its id
// goes to the kernel as MLFLOW_RUN_ID on its stdin, which makes `%%mlflow_run` cells nested
// runs under it), given the injected parameters as params, and ended with the executed
// notebook as an artifact and the status the execution earned. Loaded only once the kernel
// is spawned: tracking/ takes a while to load.

import path from "node:path";
import type { RunStatus } from "../tracking/index.js";
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
  ) {}

  /** Opens the store, picks the experiment and creates the RUNNING run with params and tags. */
  static async start(opts: NotebookRunOptions): Promise<NotebookRun> {
    const env = opts.env ?? process.env;
    const client = new MlflowClient(opts.trackingUri, env);
    try {
      const experiment = await chooseExperiment(client, opts.experiment);
      const tags = [
        ...systemTags({ notebookPath: opts.notebookPath, runName: opts.runName, env }),
        ...(await gitTags(path.dirname(opts.notebookPath))),
      ];
      const run = await client.createRun(experiment.experimentId, { runName: opts.runName, tags });
      const handle = new NotebookRun(client, env, run.info.runId, experiment.experimentId, client.trackingUri, run.info.artifactUri);
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
      return handle;
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
  }

  /**
   * Uploads the executed notebook (and any other files) and ends the run with `status`. What
   * the server does not take within the flush timeout (TSLAB_MLFLOW_FLUSH_TIMEOUT) waits in
   * the spool, for the next kernel start or `tslab-mlflow sync`: a server that went away does
   * not leave the run RUNNING, nor lose the notebook. Resolves to what waits there.
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
    const logger = new Logger(store, { spoolDir });
    try {
      if ((await logger.updateRun(this.runId, { status, endTime: Date.now() })) === "spooled") waiting.push(`the run's ${status} status`);
    } catch (e) {
      problems.push(`could not mark run ${this.runId} ${status}: ${(e as Error).message}`);
    } finally {
      await logger.close().catch(() => {});
    }
    // Closing waits for requests in the store's retries: not longer than the flush timeout.
    await settlesWithin(this.client.close().catch(() => {}), wait);
    if (problems.length) throw new Error(problems.join("; "));
    return { waiting };
  }
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
