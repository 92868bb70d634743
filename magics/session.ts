// The MLflow state of one kernel session: the tracking store, the current experiment, the
// stack of open runs (a run opened outside the kernel via MLFLOW_RUN_ID at the bottom, then
// script-style `mlflow.startRun()` runs and `%%mlflow_run` runs), autolog settings, each run's
// live panel, and the executed cells kept for notebook snapshots. No process-global state: one
// object per kernel.

import {
  MlflowError,
  notFound,
  DEFAULT_FLUSH_TIMEOUT_MS,
  flushTimeoutFromEnv,
  getOrCreateExperiment,
  type Experiment,
  type RunStatus,
  type Tag,
} from "../tracking/index.js";
import { ActiveRun } from "./active-run.js";
import { AutologSettings } from "./autolog.js";
import { kernelDisplay } from "./magic-predict.js";
import type { CellOutput, ExecutedCell, MimeBundle } from "./outputs.js";
import { Redactor } from "./redact.js";
import { redactingTracking } from "./redacting-tracking.js";
import { checkStartRun } from "./run-options-check.js";
import { LivePanel, type LivePanelOptions, type PanelShow } from "./run-panel-live.js";
import { GitSampler, systemTags, TAG } from "./system-tags.js";
import type { Tracking } from "./tracking-port.js";

export interface StartRunOptions {
  runName?: string;
  /** Experiment name or id; default: the parent's experiment, else the session's. */
  experiment?: string;
  /** Require an open run to nest under (MLflow's `nested=True`). */
  nested?: boolean;
  tags?: Tag[];
  /** Tags read from git for the run (not the user's: they are not checked as user tags). */
  gitTags?: Tag[];
  description?: string;
  /** Continue this existing run instead of creating one. */
  resume?: string;
  /** The run belongs to one cell (%%mlflow_run): if the kernel shuts down under it, it was KILLED. */
  cellScoped?: boolean;
  notebookPath?: string;
  cellId?: string;
  executionCount?: number;
  /**
   * Where the run's live panel is shown (a %%mlflow_run cell's display). Default: the kernel's
   * `display`, in the cell running now: a run opened with mlflow.startRun() has its panel in the
   * cell that opened it, updated by display id from whichever cell logs into it later.
   */
  display?: PanelShow;
}

/** Panels whose last frame is kept for notebook snapshots (the most recent ones). */
const KEPT_PANEL_FRAMES = 100;
const PANEL_MARK = /data-run-panel="([0-9a-f]+)"/;

export interface SessionOptions {
  env?: Record<string, string | undefined>;
  renderSvg?(spec: unknown): Promise<string>;
  /** Where warnings go when no cell is running. */
  log?(message: string): void;
}

export class MlflowSession {
  readonly autolog = new AutologSettings();
  readonly git = new GitSampler();
  readonly redactor: Redactor;
  /** The tracking connection, every write through the session's Redactor (redacting-tracking.ts). */
  readonly tracking: Tracking;
  readonly env: Record<string, string | undefined>;
  /** Open runs, innermost last. */
  readonly stack: ActiveRun[] = [];
  /** Executed cells, for the `.ipynb` snapshot artifact. */
  readonly cells: ExecutedCell[] = [];
  /** Warnings go to the running cell's stderr when there is one. */
  warnTo: ((message: string) => void) | undefined;
  private experiment: Experiment | undefined;
  /** Set by %mlflow_experiment / mlflow.setExperiment: then it wins over a parent run's experiment. */
  private chosen = false;
  private readonly cellScoped = new WeakSet<ActiveRun>();
  private outerAttached: Promise<void> | undefined;
  /** How long a run's end waits for answers (TSLAB_MLFLOW_FLUSH_TIMEOUT; a bad value is refused when tracking opens). */
  private readonly endWaitMs: number;
  /** The last frame of each recent panel, by display id: what its output shows by now. */
  private readonly panelFrames = new Map<string, MimeBundle>();

  constructor(
    private readonly raw: Tracking,
    private readonly opts: SessionOptions = {},
  ) {
    const tracking = raw;
    this.env = opts.env ?? process.env;
    this.redactor = new Redactor(this.env);
    this.tracking = redactingTracking(tracking, this.redactor, this.env);
    try {
      this.endWaitMs = flushTimeoutFromEnv(this.env);
    } catch {
      this.endWaitMs = DEFAULT_FLUSH_TIMEOUT_MS;
    }
    // An awaited upload (`await mlflow.logText(...)`) returns within the flush timeout too: what
    // the store has not taken by then is spooled while the request goes on.
    if (raw.artifacts) raw.artifacts.uploadTimeoutMs = this.endWaitMs;
  }

  warn(message: string): void {
    // Warnings quote URIs and values: they pass the same redaction as everything sent.
    const text = this.redactor.text(`Warning: ${message}`);
    if (this.warnTo) this.warnTo(text.endsWith("\n") ? text : text + "\n");
    else this.opts.log?.(text);
  }

  /** The run opened outside the kernel (MLFLOW_RUN_ID, as `tslab-mlflow run` and `mlflow run` set it), if any. */
  outerRun(): ActiveRun | undefined {
    const first = this.stack[0];
    return first && !first.owned ? first : undefined;
  }

  /** The innermost open run, if any. */
  activeRun(): ActiveRun | undefined {
    return this.stack.at(-1);
  }

  /** Finds an experiment by id or name, creating it by name when missing. */
  async resolveExperiment(nameOrId: string, create = true): Promise<Experiment> {
    const store = this.tracking.store;
    const byName = await store.getExperimentByName(nameOrId);
    if (byName) {
      if (byName.lifecycleStage === "deleted")
        throw new MlflowError(
          "INVALID_PARAMETER_VALUE",
          `Experiment ${JSON.stringify(nameOrId)} is deleted; restore it or choose another name.`,
          400,
        );
      return byName;
    }
    if (/^\d+$/.test(nameOrId)) {
      try {
        return await store.getExperiment(nameOrId);
      } catch (err) {
        if (!(err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
      }
    }
    if (!create) throw notFound(`No experiment named ${JSON.stringify(nameOrId)}.`);
    return getOrCreateExperiment(store, nameOrId);
  }

  /** The session's experiment: set by %mlflow_experiment, else MLFLOW_EXPERIMENT_ID/NAME, else Default. */
  async currentExperiment(): Promise<Experiment> {
    if (this.experiment) return this.experiment;
    const { MLFLOW_EXPERIMENT_ID: id, MLFLOW_EXPERIMENT_NAME: name } = this.env;
    this.experiment = id
      ? await this.tracking.store.getExperiment(id)
      : name
        ? await this.resolveExperiment(name)
        : await this.defaultExperiment();
    return this.experiment;
  }

  /** Experiment "0" as MLflow's stores have it; a fresh store without one gets "Default". */
  private async defaultExperiment(): Promise<Experiment> {
    try {
      return await this.tracking.store.getExperiment("0");
    } catch (err) {
      if (!(err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
      return getOrCreateExperiment(this.tracking.store, "Default");
    }
  }

  setExperiment(exp: Experiment): void {
    this.experiment = exp;
    this.chosen = true;
  }

  /** Logs into the run named by MLFLOW_RUN_ID (created by `tslab-mlflow run`), never ending it. */
  attachOuterRun(): Promise<void> {
    this.outerAttached ??= (async () => {
      const runId = this.env.MLFLOW_RUN_ID;
      if (!runId) return;
      try {
        const run = await this.tracking.store.getRun(runId);
        this.stack.unshift(this.makeRun(run.info, false));
      } catch (err) {
        this.warn(`MLFLOW_RUN_ID=${runId} could not be opened (${(err as Error).message}); runs will not be nested under it.`);
      }
    })();
    return this.outerAttached;
  }

  private makeRun(
    info: { runId: string; experimentId: string; runName: string; artifactUri: string },
    owned: boolean,
    parentRunId?: string,
  ): ActiveRun {
    // Ours while open: if the kernel is killed, its watchdog (or the next start, or `sync`)
    // ends the run KILLED. Told to the unwrapped sink: a run id holds no secret.
    if (owned) this.raw.sink(info.runId).opened?.();
    return new ActiveRun(
      { runId: info.runId, experimentId: info.experimentId, runName: info.runName, artifactUri: info.artifactUri },
      {
        store: this.tracking.store,
        sink: this.tracking.sink(info.runId),
        artifacts: this.tracking.artifacts,
        redactor: this.redactor,
        warn: (m) => this.warn(m),
        renderSvg: this.opts.renderSvg,
        endWaitMs: this.endWaitMs,
      },
      owned,
      parentRunId,
    );
  }

  /**
   * Opens a run (or reopens one with `resume`) and pushes it on the stack. A run opened while
   * another is open is its child (`mlflow.parentRunId`).
   */
  async startRun(o: StartRunOptions = {}): Promise<ActiveRun> {
    // The same checks for %%mlflow_run and mlflow.startRun(), before anything is sent.
    checkStartRun(o);
    await this.attachOuterRun();
    const store = this.tracking.store;
    const parent = this.activeRun();
    if (o.nested && !parent)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        "--nested needs an open run to nest under, and none is open (no %%mlflow_run around it, no mlflow.startRun(), no MLFLOW_RUN_ID).",
        400,
      );

    if (o.resume) {
      const existing = await store.getRun(o.resume).catch((err: unknown) => {
        if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")
          throw notFound(`--resume: no run with id ${JSON.stringify(o.resume)} in ${this.tracking.uri}.`);
        throw err;
      });
      if (existing.info.lifecycleStage === "deleted")
        throw new MlflowError("INVALID_PARAMETER_VALUE", `--resume: run ${o.resume} is deleted; restore it first.`, 400);
      await store.updateRun(o.resume, { status: "RUNNING" });
      const run = this.makeRun(existing.info, true, existing.data.tags.find((t) => t.key === TAG.parentRunId)?.value);
      for (const p of existing.data.params) run.params.set(p.key, p.value);
      for (const m of existing.data.metrics) run.metrics.set(m.key, { value: m.value, step: m.step });
      if (o.cellScoped) this.cellScoped.add(run);
      this.stack.push(run);
      this.openPanel(run, o.display);
      const given = [...(o.gitTags ?? []), ...(o.tags ?? [])];
      if (given.length) run.setSystemTags(given.map((t) => ({ key: t.key, value: this.redactor.value(t.key, t.value) })));
      return run;
    }

    // Under an outer run (one execution of `tslab-mlflow run`, or an MLflow project's run) every
    // run stays in the outer run's experiment: the command line's --experiment wins over the
    // notebook's %mlflow_experiment / mlflow.setExperiment, so one execution is one experiment.
    // Only an explicit --experiment on the cell (or startRun's `experiment`) moves a run.
    const experimentId = o.experiment
      ? (await this.resolveExperiment(o.experiment)).experimentId
      : parent && (!this.chosen || this.outerRun())
        ? parent.info.experimentId
        : (await this.currentExperiment()).experimentId;
    const tags = [
      ...systemTags({
        notebookPath: o.notebookPath,
        env: this.env,
        runName: o.runName,
        description: o.description,
        cellId: o.cellId,
        executionCount: o.executionCount,
        parentRunId: parent?.runId,
      }),
      ...(o.gitTags ?? []),
      ...(o.tags ?? []),
    ].map((t) => ({ key: t.key, value: this.redactor.value(t.key, t.value) }));
    const created = await store.createRun({
      experimentId,
      runName: o.runName,
      startTime: Date.now(),
      tags,
      userId: tags.find((t) => t.key === TAG.user)?.value,
    });
    const run = this.makeRun(created.info, true, parent?.runId);
    for (const t of created.data.tags) run.tags.set(t.key, t.value);
    if (o.cellScoped) this.cellScoped.add(run);
    this.stack.push(run);
    this.openPanel(run, o.display);
    return run;
  }

  /** What every panel and summary of this session is drawn with. */
  panelOptions(show: PanelShow): LivePanelOptions {
    return {
      show,
      trackingUri: this.tracking.uri,
      redact: (s) => this.redactor.text(s),
      warn: (m) => this.warn(m),
      onFrame: (displayId, bundle) => {
        this.panelFrames.delete(displayId);
        this.panelFrames.set(displayId, bundle);
        if (this.panelFrames.size > KEPT_PANEL_FRAMES) this.panelFrames.delete(this.panelFrames.keys().next().value!);
      },
    };
  }

  /** Shows the run's live panel (when `%mlflow_autolog` has it on and there is somewhere to show it). */
  private openPanel(run: ActiveRun, display: PanelShow | undefined): void {
    const show = display ?? kernelDisplay();
    if (!show || !this.autolog.enabled("panel")) return;
    run.panel = new LivePanel(run, this.panelOptions(show));
    run.panel.start();
  }

  /**
   * Sets each panel output among `outputs` to its panel's last frame, as the frontend shows it
   * after the updates (the kept outputs hold the frame they were first shown with).
   */
  refreshPanelOutputs(outputs: Iterable<CellOutput>): void {
    for (const o of outputs) {
      if (o.output_type !== "display_data") continue;
      const html = o.data["text/html"];
      const id = typeof html === "string" ? PANEL_MARK.exec(html)?.[1] : undefined;
      const frame = id && this.panelFrames.get(id);
      if (frame) o.data = frame;
    }
  }

  /** Ends `run` (default: the innermost) and everything opened inside it. */
  async endRun(status: RunStatus = "FINISHED", run: ActiveRun | undefined = this.activeRun()): Promise<void> {
    if (!run) return;
    const at = this.stack.indexOf(run);
    if (at < 0) return;
    const closing = this.stack.splice(at).reverse();
    for (const r of closing) {
      const s = r === run ? status : "KILLED";
      // The panel's last frame is the run's summary; once the end has waited for delivery, one
      // more frame if what still waits changed.
      r.panel?.finish(s);
      await r.end(s);
      r.panel?.settle();
    }
  }

  /**
   * Ends every run we own (shutdown). Script-style runs end FINISHED, as MLflow's clients end
   * open runs at exit; a %%mlflow_run whose cell was still running was KILLED.
   */
  async close(): Promise<void> {
    // Shutdown: no cell to show frames in any more.
    for (const r of this.stack) r.panel?.stop();
    const owned = this.stack.filter((r) => r.owned);
    for (const r of owned.reverse()) await r.end(this.cellScoped.has(r) ? "KILLED" : "FINISHED");
    for (const r of this.stack.filter((r) => !r.owned)) await r.flush().catch(() => undefined);
    this.stack.length = 0;
    await this.tracking.close();
  }
}
