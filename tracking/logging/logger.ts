// A logger in front of a TrackingStore that loses nothing. Log calls (RunLogger) validate
// and return at once; queued points are cut into log-batch requests and sent in the
// background (a timer, a full batch, flush, close), a few requests in flight. Transient
// failures are retried inside the store (undici's RetryAgent); when a request still fails,
// the logger goes offline: that batch and everything cut after it goes to the durable spool
// instead of the network, and the spool is tried again on the next flush, every
// `probeIntervalMs`, and by the next process (`Logger.create` / `deliverSpool`). A batch is
// in exactly one place at a time: queued in memory, in flight, or in a spool file.
// Batches the server refuses for good (4xx) are reported and kept under `rejected/`.
// A run's status update (`updateRun`) takes the same way, after the run's batches: it is
// sent directly only when nothing of its run waits anywhere, else spooled behind them.
// No wait is long: a request that has not answered within `flushTimeoutMs` (a dead server
// retries for minutes) is written to the spool as a claimed file while it goes on, so
// flush and updateRun return with everything durable (see Spool.writeClaimed).
// This module is the queue and send loop; the offline state, probes and delivery of the
// spool are in spool-delivery.ts.

import type { RunStatus } from "../entities.js";
import { MlflowError } from "../errors.js";
import { type ExitAware, unwatchExit, watchExit } from "./exit-hooks.js";
import {
  type DeliveryFailure, type Job, type UpdateOutcome, checkUpdate, describe, flushTimeoutFromEnv, isPermanentFailure, makeJob, waitAtMost,
} from "./logger-jobs.js";
import { MAX_METRICS_PER_BATCH } from "../limits.js";
import { type KeyCache, type LogSink, type PendingCounts, RunLogger, RunState } from "./run-logger.js";
import { Spool, type SpooledUpdate, spoolDirFor } from "./spool.js";
import { SpoolDelivery } from "./spool-delivery.js";
import type { TrackingStore } from "../store.js";

export { RunLogger, type PendingCounts, type TagValue } from "./run-logger.js";
export { Spool, defaultSpoolBase, spoolDirFor, type SpooledUpdate } from "./spool.js";
export {
  DEFAULT_FLUSH_TIMEOUT_MS, flushTimeoutFromEnv, isPermanentFailure, settlesWithin, type DeliveryFailure, type UpdateOutcome,
} from "./logger-jobs.js";

export interface LoggerOptions {
  /** Spool directory for this store; default `spoolDirFor(store.uri)` (see spool.ts). */
  spoolDir?: string;
  /** How often queued points are sent (ms). Default 250. */
  flushIntervalMs?: number;
  /** Concurrent log-batch requests. Default 4; 1 for `file:` stores, whose writes append to files. */
  maxInFlight?: number;
  /** While offline, how often the spool is tried again in the background (ms). Default 10,000. */
  probeIntervalMs?: number;
  /**
   * While offline, how long a flush waits for its probe of the store (ms). Default 3,000:
   * enough for a server that is back to take the spool within the flush, short of the
   * minutes a dead server's retries take (the points are durable in the spool meanwhile).
   */
  offlineFlushWaitMs?: number;
  /**
   * Longest wait of a flush (and of updateRun) for requests that do not answer (ms). What is
   * still out then is made durable in the spool and delivered later; `pending()` shows it.
   * Default `TSLAB_MLFLOW_FLUSH_TIMEOUT` seconds, else 5 s; no limit for `file:` stores.
   */
  flushTimeoutMs?: number;
  /** Told about every batch that could not be delivered now (see DeliveryFailure). */
  onError?: (failure: DeliveryFailure) => void;
  /** Flush on `beforeExit` and spool what is left on `exit`. Default true. */
  exitHooks?: boolean;
}

export interface PendingReport extends PendingCounts {
  /** True after a request failed, until a delivery succeeds again. */
  offline: boolean;
  /** Run status updates not yet acknowledged (in memory, in flight or spooled). */
  statusUpdates: number;
  /** Per run; `status` is set while the run's status update waits. */
  runs: Record<string, PendingCounts & { status?: RunStatus }>;
}

export class Logger implements LogSink, ExitAware {
  readonly spool: Spool;
  private readonly runs = new Map<string, RunState>();
  private readonly loggers = new Map<string, RunLogger>();
  private readonly keys: KeyCache = { metric: new Set(), param: new Set(), tag: new Set() };
  private readonly maxInFlight: number;
  private readonly offlineFlushWaitMs: number;
  /** Offline state, probes and delivery of the spool. */
  private readonly delivery: SpoolDelivery;
  readonly flushTimeoutMs: number;
  private readonly onError?: (f: DeliveryFailure) => void;
  private readonly exitHooks: boolean;
  private readonly timer: NodeJS.Timeout;
  /** Batches cut from the queues, waiting for a free request slot. */
  private ready: Job[] = [];
  private readonly running = new Set<Job>();
  /** Batches being written to the spool because we are offline. */
  private readonly spooling = new Set<Job>();
  private held: Job[] = [];
  private sinceCut = 0;
  private kicked = false;
  private closed = false;
  private readonly failures: DeliveryFailure[] = [];
  /** Status updates sent directly by updateRun (they take no request slot). */
  private readonly direct = new Set<Job>();
  /** Spool files of status updates the store acknowledged, until updateRun looks. */
  private readonly acknowledged = new Set<string>();

  constructor(readonly store: TrackingStore, options: LoggerOptions = {}) {
    this.spool = new Spool(options.spoolDir ?? spoolDirFor(store.uri), store.uri);
    this.maxInFlight = options.maxInFlight ?? (store.uri.startsWith("file:") ? 1 : 4);
    this.offlineFlushWaitMs = options.offlineFlushWaitMs ?? 3_000;
    const sender = { send: (job: Job) => this.send(job), report: (f: DeliveryFailure) => this.report(f) };
    this.delivery = new SpoolDelivery(this.spool, this.maxInFlight, options.probeIntervalMs ?? 10_000, sender);
    // A file store cannot be unreachable: its writes are waited for, however many.
    this.flushTimeoutMs = store.uri.startsWith("file:") ? Infinity : options.flushTimeoutMs ?? flushTimeoutFromEnv();
    this.onError = options.onError;
    this.exitHooks = options.exitHooks ?? true;
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs ?? 250);
    // The timer alone must not keep a finished script alive; `beforeExit` flushes instead.
    this.timer.unref();
    if (this.exitHooks) watchExit(this);
  }

  private get offline(): boolean {
    return this.delivery.offline;
  }

  /** A logger that first delivers (in the background) what earlier processes left in the spool. */
  static create(store: TrackingStore, options?: LoggerOptions): Logger {
    const logger = new Logger(store, options);
    void logger.deliverSpool().catch((error) => logger.report({ runId: "", count: 0, error, disposition: "spooled" }));
    return logger;
  }

  /** The logger of one run (the same object for the same id). */
  run(runId: string): RunLogger {
    if (typeof runId !== "string" || runId.length === 0)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `Invalid run id ${JSON.stringify(runId)}: a non-empty string is required.`, 400);
    let logger = this.loggers.get(runId);
    if (!logger) {
      const state = new RunState();
      this.runs.set(runId, state);
      logger = new RunLogger(runId, state, this.keys, this);
      this.loggers.set(runId, logger);
    }
    return logger;
  }

  /** @internal */
  assertOpen(): void {
    if (this.closed) throw new MlflowError("BAD_REQUEST", `This logger for ${this.store.uri} is closed; open a new one to log more.`);
  }

  /** @internal */
  enqueued(count: number): void {
    this.sinceCut += count;
    // A full request's worth is waiting: send it soon, without waiting for the timer,
    // but never inside the caller's log call.
    if (this.sinceCut >= MAX_METRICS_PER_BATCH && !this.kicked) {
      this.kicked = true;
      setImmediate(() => {
        this.kicked = false;
        this.tick();
      });
    }
  }

  /**
   * Resolves when everything queued before the call is durable: acknowledged by the store
   * or written to the spool. Online, it then delivers what the spool holds. Offline (an
   * earlier request failed), new batches go straight to the spool and the oldest spooled
   * batch probes the store; the flush waits for that at most `offlineFlushWaitMs`, since
   * the store's retries against a dead server take minutes and the points are safe on disk
   * meanwhile (the probe goes on in the background; `pending()` shows the progress).
   * Rejects if some batch could be neither sent nor spooled (it stays queued).
   */
  async flush(): Promise<void> {
    await this.flushBy(Date.now() + this.flushTimeoutMs);
  }

  /** flush, waiting for answers until `deadline` (epoch ms); see `flushTimeoutMs`. */
  private async flushBy(deadline: number): Promise<void> {
    const wasOffline = this.offline;
    for (const job of this.held.splice(0)) this.ready.push(makeJob(job.runId, job.batch, undefined, job.update));
    this.cut();
    // Batches from the spool being delivered are durable already: not waited for.
    const jobs = [...this.ready, ...this.spooling, ...[...this.running].filter((j) => !j.entry)];
    this.pump();
    await waitAtMost(Promise.all(jobs.map((j) => j.done)), deadline - Date.now());
    await this.detachLate(jobs);
    if (!this.offline) await waitAtMost(this.deliverSpool(), deadline - Date.now());
    else if (wasOffline && !this.closed) await waitAtMost(this.deliverSpool().catch(() => {}), Math.min(this.offlineFlushWaitMs, Math.max(0, deadline - Date.now())));
    if (this.held.length) {
      const n = this.held.reduce((s, j) => s + j.count, 0);
      const last = [...this.failures].reverse().find((f) => f.disposition === "held");
      throw new MlflowError("INTERNAL_ERROR", `${n} logged entities could be neither sent to ${this.store.uri} nor spooled to ${this.spool.dir}; they stay queued: ${describe(last?.error)}`);
    }
  }

  /**
   * Flushes, then stops the timer. A probe of an unreachable store is not waited for (its
   * batch stays in the spool). The store stays open: it belongs to the caller.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const deadline = Date.now() + this.flushTimeoutMs;
      await this.flushBy(deadline);
      if (!this.offline && this.delivery.current) await waitAtMost(this.delivery.current, deadline - Date.now());
    } finally {
      clearInterval(this.timer);
      unwatchExit(this);
    }
  }

  /** Delivers the spool's files, oldest first, while the store accepts them. */
  deliverSpool(): Promise<void> {
    return this.delivery.deliver();
  }

  /** Counts of entities still waiting, in total and per run. */
  pending(): PendingReport {
    const runs: PendingReport["runs"] = {};
    const at = (runId: string) => (runs[runId] ??= { queued: 0, inFlight: 0, spooled: 0 });
    for (const [runId, state] of this.runs) if (state.queue.size) at(runId).queued += state.queue.size;
    for (const job of [...this.ready, ...this.spooling, ...this.held]) at(job.runId).queued += job.count;
    for (const job of this.running) at(job.runId).inFlight += job.count;
    for (const [runId, n] of this.spool.counts()) if (n) at(runId).spooled += n;
    let statusUpdates = 0;
    const waiting = [...this.spool.updates()];
    for (const job of new Set([...this.ready, ...this.spooling, ...this.held, ...this.running, ...this.direct]))
      // Claimed files (from the spool, or detached) have left the spool's index: counted here.
      if (job.update && !job.settled) waiting.push([job.runId, job.update.status]);
    for (const [runId, status] of waiting) {
      at(runId).status = status;
      statusUpdates++;
    }
    const total = { queued: 0, inFlight: 0, spooled: 0 };
    for (const c of Object.values(runs)) {
      total.queued += c.queued;
      total.inFlight += c.inFlight;
      total.spooled += c.spooled;
    }
    return { ...total, offline: this.offline, statusUpdates, runs };
  }

  /**
   * Sets a run's status (and end time, name) in the store, after everything logged for it
   * before the call: that is flushed first, and when any of it still waits (in the spool, in
   * flight) the update is spooled behind it and delivered in order, exactly once, by the next
   * flush, probe or process. Resolves `acknowledged` or `spooled` within about `flushTimeoutMs`;
   * rejects when the store refused the update for good (kept under `rejected/`) or it could
   * not even be spooled.
   */
  async updateRun(runId: string, update: SpooledUpdate): Promise<UpdateOutcome> {
    this.assertOpen();
    checkUpdate(runId, update);
    const deadline = Date.now() + this.flushTimeoutMs;
    let flushError: unknown;
    await this.flushBy(deadline).catch((error) => (flushError = error));
    const clean: SpooledUpdate = { status: update.status };
    if (update.endTime !== undefined) clean.endTime = update.endTime;
    if (update.runName !== undefined) clean.runName = update.runName;
    const job = makeJob(runId, {}, undefined, clean);
    const waiting = [...this.ready, ...this.spooling, ...this.held, ...this.running, ...this.direct].some((j) => j.runId === runId)
      || (this.runs.get(runId)?.queue.size ?? 0) > 0;
    if (this.offline || waiting || await this.spool.holdsOlder(runId)) {
      let name: string;
      try {
        name = await this.spool.write(runId, {}, clean);
      } catch (error) {
        throw new MlflowError("INTERNAL_ERROR", `The ${update.status} status of run ${runId} could be neither sent to ${this.store.uri} nor spooled to ${this.spool.dir}: ${describe(error)}`, undefined, { cause: error });
      }
      if (!this.offline) await waitAtMost(this.deliverSpool().catch(() => {}), deadline - Date.now());
      return this.acknowledged.delete(name) ? "acknowledged" : "spooled";
    }
    // Nothing of the run waits: straight to the store (held back if the spool cannot take the logged data).
    if (flushError) throw flushError;
    this.direct.add(job);
    void this.send(job).finally(() => this.direct.delete(job));
    await waitAtMost(job.done, deadline - Date.now());
    await this.detachLate([job]);
    if (job.outcome === "rejected") throw job.error;
    if (job.outcome === "held") throw new MlflowError("INTERNAL_ERROR", `The ${update.status} status of run ${runId} could be neither sent to ${this.store.uri} nor spooled to ${this.spool.dir}: ${describe(job.error)}`);
    return job.outcome === "acknowledged" ? "acknowledged" : "spooled";
  }

  /** @internal */
  pendingFor(runId: string): PendingCounts {
    return this.pending().runs[runId] ?? { queued: 0, inFlight: 0, spooled: 0 };
  }

  /** Every batch that could not be delivered when it was sent, oldest first. */
  errors(): DeliveryFailure[] {
    return [...this.failures];
  }

  private tick(): void {
    this.cut();
    this.pump();
    this.delivery.tick();
  }

  /** Moves everything queued into request-sized jobs. */
  private cut(): void {
    if (this.sinceCut === 0) return;
    this.sinceCut = 0;
    for (const [runId, state] of this.runs)
      if (state.queue.size) for (const batch of state.queue.cut()) this.ready.push(makeJob(runId, batch));
  }

  /** Starts ready jobs up to the in-flight limit; offline, writes them to the spool instead. */
  private pump(): void {
    if (this.offline) {
      for (const job of this.ready.splice(0)) void this.spoolJob(job);
      return;
    }
    for (let i = 0; i < this.ready.length && this.running.size < this.maxInFlight; ) {
      const job = this.ready[i];
      // Two requests setting the same tag could land in either order: one tag request per run at a time.
      if (job.hasTags && (this.runs.get(job.runId)?.tagJobs ?? 0) > 0) { i++; continue; }
      this.ready.splice(i, 1);
      void this.send(job);
    }
  }

  private async send(job: Job): Promise<void> {
    this.running.add(job);
    const state = this.runs.get(job.runId);
    if (job.hasTags && state) state.tagJobs++;
    try {
      try {
        if (job.update) await this.store.updateRun(job.runId, job.update);
        else await this.store.logBatch(job.runId, job.batch);
      } catch (error) {
        await job.detaching;
        await this.failed(job, error);
        return;
      }
      this.delivery.offline = false;
      job.outcome = "acknowledged";
      // A detached request: its claimed file is being written; it must exist before it goes.
      const detached = !!job.detaching;
      await job.detaching;
      // Acknowledged: the claimed file must go, or the batch would be delivered twice.
      if (job.entry) await this.spool.remove(job.entry).catch((error) =>
        this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "rejected" }));
      if (job.entry?.update) this.acknowledged.add(job.entry.name);
      // Files of its run may have waited behind it.
      if (detached && this.spool.size > 0) void this.deliverSpool().catch(() => {});
    } finally {
      this.running.delete(job);
      if (job.hasTags && state) state.tagJobs--;
      job.settle();
      this.pump();
    }
  }

  /** Permanent: report and quarantine. Transient (the store's retries are spent): go offline, spool. */
  private async failed(job: Job, error: unknown): Promise<void> {
    job.error = error;
    if (isPermanentFailure(error)) {
      job.outcome = "rejected";
      const file = await this.spool.quarantine(job.runId, job.batch, describe(error), job.entry, job.update).catch(() => undefined);
      this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "rejected", file });
      return;
    }
    this.delivery.goOffline();
    if (job.entry) {
      job.outcome = "spooled";
      await this.spool.release(job.entry).catch(() => {});
    } else if (await this.park(job, error)) this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "spooled" });
  }

  /**
   * After a bounded wait: makes the jobs that are still out durable. A request still in the
   * store's retries is written to the spool as a claimed file (removed when it succeeds,
   * released when it fails, taken back by the next process if this one dies); a batch still
   * waiting for a request slot goes to the spool instead. The logger counts as offline then.
   */
  private async detachLate(jobs: Job[]): Promise<void> {
    const late = jobs.filter((j) => !j.settled);
    if (!late.length) return;
    this.delivery.goOffline();
    // Requests first: their files must be older than those of batches cut after them.
    await Promise.all(late.filter((j) => (this.running.has(j) || this.direct.has(j)) && !j.entry).map((j) => this.detach(j)));
    const waiting = late.filter((j) => this.ready.includes(j));
    this.ready = this.ready.filter((j) => !waiting.includes(j));
    for (const job of waiting) await this.spoolJob(job);
    // Being written to the spool: that is quick.
    await Promise.all(late.filter((j) => this.spooling.has(j)).map((j) => j.done));
  }

  private detach(job: Job): Promise<void> {
    job.detaching ??= (async () => {
      const error = new MlflowError("TEMPORARILY_UNAVAILABLE", `${this.store.uri} did not answer within ${this.flushTimeoutMs / 1000} s; the request goes on in the background.`);
      try {
        job.entry = await this.spool.writeClaimed(job.runId, job.batch, job.update);
        job.outcome ??= "spooled";
        this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "spooled" });
      } catch (writeError) {
        // Still in flight, only not durable: the exit hook spools it if the process ends.
        this.report({ runId: job.runId, count: job.count, status: job.update?.status, error: writeError, disposition: "held" });
      }
    })();
    return job.detaching;
  }

  private async spoolJob(job: Job): Promise<void> {
    this.spooling.add(job);
    try {
      if (await this.park(job)) job.outcome = "spooled";
    } finally {
      this.spooling.delete(job);
      job.settle();
    }
  }

  /** Writes a job to the spool; if even that fails, holds it in memory. True when spooled. */
  private async park(job: Job, cause?: unknown): Promise<boolean> {
    try {
      await this.spool.write(job.runId, job.batch, job.update);
      job.outcome = "spooled";
      return true;
    } catch (error) {
      job.outcome = "held";
      job.error = cause ?? error;
      this.held.push(job);
      this.report({ runId: job.runId, count: job.count, status: job.update?.status, error: cause ?? error, disposition: "held" });
      return false;
    }
  }

  /** @internal */
  report(failure: DeliveryFailure): void {
    this.failures.push(failure);
    try {
      this.onError?.(failure);
    } catch { /* a failing callback must not break delivery */ }
  }

  /** @internal Process `exit`: nothing async runs any more, so spool synchronously. */
  spoolSync(): void {
    this.cut();
    // In-flight requests die with the process; spooling them too may deliver a batch twice,
    // which MLflow's SQL store absorbs (identical metric points are skipped, params with the
    // same value and tags are idempotent); losing them could not be undone.
    const jobs = [...this.ready, ...this.held, ...this.spooling, ...[...this.running, ...this.direct].filter((j) => !j.entry && !j.settled)];
    for (const job of jobs) {
      try {
        this.spool.writeSync(job.runId, job.batch, job.update);
      } catch { /* nowhere left to put it */ }
    }
    this.ready = [];
    this.held = [];
  }

  /** @internal True when a flush would have something to do now. */
  hasWork(): boolean {
    return this.sinceCut > 0 || this.ready.length > 0 || this.running.size > 0 || this.spooling.size > 0;
  }
}

/** Delivers what earlier processes left in the spool of `store` and returns what is left. */
export async function deliverSpool(store: TrackingStore, options: Omit<LoggerOptions, "exitHooks"> = {}): Promise<PendingReport> {
  const logger = new Logger(store, { ...options, exitHooks: false });
  try {
    await logger.deliverSpool();
    return logger.pending();
  } finally {
    await logger.close();
  }
}
