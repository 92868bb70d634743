// A logger in front of a TrackingStore that loses nothing. Log calls (RunLogger) validate
// and return at once; queued points are cut into log-batch requests and sent in the
// background (a timer, a full batch, flush, close), a few requests in flight. Transient
// failures are retried inside the store (undici's RetryAgent); when a request still fails,
// the logger goes offline: that batch and everything cut after it goes to the durable spool
// instead of the network, and the spool is tried again on the next flush, every
// `probeIntervalMs`, and by the next process (`Logger.create` / `deliverSpool`). A batch is
// in exactly one place at a time: each request is a job with one named state (jobs.ts:
// ready, sending, spooling, held, then acknowledged, spooled or rejected).
// Batches the server refuses for good (4xx) are reported and kept under `rejected/`.
// A run's status update (`updateRun`) takes the same way, after the run's batches: it is
// sent directly only when nothing of its run waits anywhere, else spooled behind them.
// No wait is long: a request that has not answered within `flushTimeoutMs` (a dead server
// retries for minutes) is written to the spool as a claimed file while it goes on, so
// flush and updateRun return with everything durable (see Spool.writeClaimed).
// Every entity logged is also appended to a write-ahead journal (journal.ts) within 50 ms, so a
// process killed outright loses at most that much, and its open runs are ended KILLED by its
// watchdog, the next start or `sync` (journal-recovery.ts). What waits is bounded
// (`maxBacklog`): past it, log calls drop their points and say so, rather than fill memory
// and disk with what the store cannot take anyway. A KILLED status never waits behind its
// run's backlog: it is sent at once, and the backlog flows into the ended run after it.
// This module is the queue and send loop; the offline state, probes and delivery of the
// spool are in spool-delivery.ts, the jobs' state machine in jobs.ts.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Batch, RunStatus } from "../entities.js";
import { MlflowError } from "../errors.js";
import { type ExitAware, unwatchExit, watchExit } from "./exit-hooks.js";
import { type FinalState, type Job, type JobState, JobTable, atRest } from "./jobs.js";
import { JOURNAL_COMPACT_BYTES, JOURNAL_INTERVAL_MS, Journal } from "./journal.js";
import { type RecoveryReport, recoverJournals } from "./journal-recovery.js";
import {
  type DeliveryFailure,
  type UpdateOutcome,
  checkUpdate,
  describe,
  flushTimeoutFromEnv,
  isPermanentFailure,
  settlesWithin,
  waitAtMost,
} from "./logger-jobs.js";
import { MAX_METRICS_PER_BATCH } from "../limits.js";
import { type KeyCache, type LogSink, type PendingCounts, RunLogger, RunState } from "./run-logger.js";
import { MAX_DELIVERY_ATTEMPTS, Spool, type SpoolEntry, type SpooledUpdate, spoolDirFor } from "./spool.js";
import { SpoolDelivery } from "./spool-delivery.js";
import type { TrackingStore } from "../store.js";

export { RunLogger, type PendingCounts, type TagValue } from "./run-logger.js";
export { MAX_DELIVERY_ATTEMPTS, Spool, defaultSpoolBase, spoolDirFor, type SpooledUpdate } from "./spool.js";
export { JOB_STATES, type JobState } from "./jobs.js";
export { JOURNAL_INTERVAL_MS, metricsRecord, processStart, textRecord } from "./journal.js";
export { planJournal, recoverJournals, type RecoveryReport } from "./journal-recovery.js";
export {
  DEFAULT_FLUSH_TIMEOUT_MS,
  flushTimeoutFromEnv,
  isPermanentFailure,
  settlesWithin,
  type DeliveryFailure,
  type UpdateOutcome,
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
  /**
   * Keep a write-ahead journal (journal.ts) so a killed process loses at most 50 ms of logging
   * and its open runs end KILLED. `watchdog`: the script of the process that recovers the
   * journal when this one dies (default: watchdog.js beside this module, when built). Default
   * on for `Logger.create` (unless TSLAB_MLFLOW_JOURNAL=0), off for `new Logger`.
   */
  journal?: boolean | { watchdog?: string | false };
  /**
   * Most entities waiting (queued, in flight, spooled by this logger) before log calls drop
   * new ones (RunLogger.dropped counts them). Default MAX_BACKLOG.
   */
  maxBacklog?: number;
}

/**
 * Default `maxBacklog`: 500,000 entities, five times a 100,000-point cell. Held in memory that is
 * about 40 MB of point objects, and 45 MB of spool files when offline; a real MLflow server on
 * loopback takes it in about 40 s (FACTS.md: ~12k points/s), so more could not land soon anyway.
 */
export const MAX_BACKLOG = 500_000;

/** Longest wait for a KILLED status (ms): an interrupted cell must answer within a second. */
export const KILLED_WAIT_MS = 600;
/** Of that, how long the run's queued requests may go first (ms). */
export const KILLED_HEAD_START_MS = 100;

/** The watchdog script beside this module, when it is built (running from source, it is not). */
function defaultWatchdog(): string | false {
  try {
    const file = fileURLToPath(new URL("./watchdog.js", import.meta.url));
    return existsSync(file) ? file : false;
  } catch {
    return false;
  }
}

export interface PendingReport extends PendingCounts {
  /** True after a request failed, until a delivery succeeds again. */
  offline: boolean;
  /** Run status updates not yet acknowledged (in memory, in flight or spooled). */
  statusUpdates: number;
  /** Per run; `status` is set while the run's status update waits. */
  runs: Record<string, PendingCounts & { status?: RunStatus }>;
}

/** How many failures `errors()` keeps: the most recent ones (a long outage must not grow memory). */
export const MAX_KEPT_FAILURES = 100;

/** @internal What the logger holds right now, for tests that check where every batch is. */
export interface LoggerSnapshot {
  /** Per run, what is queued and not yet cut into jobs. */
  queued: { runId: string; batch: Batch }[];
  jobs: readonly Job[];
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
  /** Every request not yet final, each in one state. */
  private readonly jobs: JobTable;
  /** The write-ahead journal, when kept. */
  readonly journal?: Journal;
  private journaledAt = 0;
  private journalTimer?: NodeJS.Timeout;
  private cutGen = 0;
  /** Entities logged here and not yet acknowledged (bounded by maxBacklog). */
  private waiting = 0;
  private readonly maxBacklog: number;
  /** True while the backlog is full: log calls drop their entities. */
  full = false;
  private sinceCut = 0;
  private kicked = false;
  private closed = false;
  /** The last MAX_KEPT_FAILURES failures, oldest first. */
  private readonly failures: DeliveryFailure[] = [];
  /** Spool files of status updates an updateRun call is waiting for: true once acknowledged. */
  private readonly awaitedUpdates = new Map<string, boolean>();

  constructor(
    readonly store: TrackingStore,
    options: LoggerOptions = {},
  ) {
    this.spool = new Spool(options.spoolDir ?? spoolDirFor(store.uri), store.uri);
    this.maxInFlight = options.maxInFlight ?? (store.uri.startsWith("file:") ? 1 : 4);
    this.offlineFlushWaitMs = options.offlineFlushWaitMs ?? 3_000;
    const sender = { sendEntry: (entry: SpoolEntry) => this.sendEntry(entry), report: (f: DeliveryFailure) => this.report(f) };
    this.delivery = new SpoolDelivery(this.spool, this.maxInFlight, options.probeIntervalMs ?? 10_000, sender);
    // A file store cannot be unreachable: its writes are waited for, however many.
    this.flushTimeoutMs = store.uri.startsWith("file:") ? Infinity : (options.flushTimeoutMs ?? flushTimeoutFromEnv());
    this.onError = options.onError;
    this.exitHooks = options.exitHooks ?? true;
    this.maxBacklog = options.maxBacklog ?? MAX_BACKLOG;
    this.jobs = new JobTable((job, to) => this.settled(job, to));
    if (options.journal) {
      const watchdog =
        typeof options.journal === "object" && options.journal.watchdog !== undefined ? options.journal.watchdog : defaultWatchdog();
      this.journal = new Journal(this.spool.dir, store.uri, { watchdog });
    }
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs ?? 250);
    // The timer alone must not keep a finished script alive; `beforeExit` flushes instead.
    this.timer.unref();
    if (this.exitHooks) watchExit(this);
  }

  private get offline(): boolean {
    return this.delivery.offline;
  }

  /**
   * A logger with a journal that first delivers (in the background) what earlier processes
   * left in the spool, after turning the journals of dead ones into spool files.
   */
  static create(store: TrackingStore, options?: LoggerOptions): Logger {
    // TSLAB_MLFLOW_JOURNAL=0 turns the journal off (then a killed process loses what it had queued).
    const logger = new Logger(store, { journal: process.env.TSLAB_MLFLOW_JOURNAL !== "0", ...options });
    void logger
      .recoverJournals()
      .catch(() => undefined)
      .then(() => logger.deliverSpool())
      .catch((error) => logger.report({ runId: "", count: 0, error, disposition: "spooled" }));
    return logger;
  }

  /** Turns the journals dead processes left (see journal-recovery.ts) into spool files. */
  recoverJournals(): Promise<RecoveryReport> {
    return recoverJournals(this.spool);
  }

  /** @internal The run is open and ours: if this process dies, it is ended KILLED. */
  opened(runId: string): void {
    this.journal?.opened(runId);
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
    if ((this.waiting += count) >= this.maxBacklog) this.full = true;
    if (this.journal) {
      // At most JOURNAL_INTERVAL_MS of logging outside the journal, even in a loop that never
      // yields (then no timer can run): checked here, on the log call's own path.
      const now = Date.now();
      if (now - this.journaledAt >= JOURNAL_INTERVAL_MS) this.journalNow(now);
      else this.journalTimer ??= setTimeout(() => this.journalNow(Date.now()), JOURNAL_INTERVAL_MS);
    }
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
    for (const job of this.jobs.inState("held")) this.jobs.move(job, "ready");
    this.cut();
    // Batches from the spool being delivered are durable already: not waited for.
    const jobs = this.jobs.all().filter((j) => j.state !== "sending" || !j.entry);
    this.pump();
    await waitAtMost(Promise.all(jobs.map((j) => j.done)), deadline - Date.now());
    await this.detachLate(jobs);
    if (!this.offline) await waitAtMost(this.deliverSpool(), deadline - Date.now());
    else if (wasOffline && !this.closed)
      await waitAtMost(
        this.deliverSpool().catch(() => {}),
        Math.min(this.offlineFlushWaitMs, Math.max(0, deadline - Date.now())),
      );
    const held = this.jobs.inState("held");
    if (held.length) {
      const n = held.reduce((s, j) => s + j.count, 0);
      throw new MlflowError(
        "INTERNAL_ERROR",
        `${n} logged entities could be neither sent to ${this.store.uri} nor spooled to ${this.spool.dir}; they stay queued: ${describe(held[held.length - 1].error)}`,
      );
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
      this.closeJournal();
    }
  }

  /** Clean when every entity and status update is durable elsewhere and no run is left open. */
  private closeJournal(): void {
    if (!this.journal) return;
    clearTimeout(this.journalTimer);
    this.journalNow(Date.now());
    const clean =
      !this.journal.hasOpenRuns &&
      [...this.runs.values()].every((s) => s.queue.size === 0) &&
      this.jobs.all().every((j) => j.entry !== undefined);
    this.journal.close(clean);
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
    const waiting = [...this.spool.updates()];
    for (const job of this.jobs.all()) {
      if (job.state === "sending") at(job.runId).inFlight += job.count;
      else at(job.runId).queued += job.count;
      // Claimed files (from the spool, or detached) have left the spool's index: counted here.
      if (job.update) waiting.push([job.runId, job.update.status]);
    }
    for (const [runId, n] of this.spool.counts()) if (n) at(runId).spooled += n;
    let statusUpdates = 0;
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
    const clean: SpooledUpdate = { status: update.status };
    if (update.endTime !== undefined) clean.endTime = update.endTime;
    if (update.runName !== undefined) clean.runName = update.runName;
    this.journal?.ended(runId, clean);
    const outcome = await this.updateRunNow(runId, clean);
    this.journal?.endDurable(runId);
    return outcome;
  }

  private async updateRunNow(runId: string, clean: SpooledUpdate): Promise<UpdateOutcome> {
    const update = clean;
    // KILLED overtakes the run's backlog (sent now; the backlog follows into the ended run).
    const killed = update.status === "KILLED";
    const deadline = Date.now() + (killed ? Math.min(this.flushTimeoutMs, KILLED_WAIT_MS) : this.flushTimeoutMs);
    let flushError: unknown;
    if (!killed) await this.flushBy(deadline).catch((error) => (flushError = error));
    else {
      // A short head start for the run's own requests (a few points usually land first); a
      // big backlog does not hold the status up: it goes on after it.
      this.cut();
      this.pump();
      const mine = this.jobs
        .all()
        .filter((j) => j.runId === runId && !j.update)
        .map((j) => j.done);
      if (mine.length) await settlesWithin(Promise.all(mine), Math.min(this.flushTimeoutMs, KILLED_HEAD_START_MS));
    }
    const neither = (error: unknown) =>
      `The ${update.status} status of run ${runId} could be neither sent to ${this.store.uri} nor spooled to ${this.spool.dir}: ${describe(error)}`;
    const waiting = !killed && (this.jobs.all().some((j) => j.runId === runId) || (this.runs.get(runId)?.queue.size ?? 0) > 0);
    if (this.offline || waiting || (!killed && (await this.spool.holdsOlder(runId)))) {
      // Named before it is written: a delivery round may take the file as soon as it exists.
      const name = this.spool.newName();
      this.awaitedUpdates.set(name, false);
      try {
        try {
          await this.spool.write(runId, {}, clean, name);
        } catch (error) {
          throw new MlflowError("INTERNAL_ERROR", neither(error), undefined, { cause: error });
        }
        if (!this.offline)
          await waitAtMost(
            this.deliverSpool().catch(() => {}),
            deadline - Date.now(),
          );
        return this.awaitedUpdates.get(name) ? "acknowledged" : "spooled";
      } finally {
        this.awaitedUpdates.delete(name);
      }
    }
    // Nothing of the run waits: straight to the store (held back if the spool cannot take the logged data).
    if (flushError) throw flushError;
    const job = this.jobs.add(runId, {}, "sending", undefined, clean);
    void this.send(job);
    await waitAtMost(job.done, deadline - Date.now());
    await this.detachLate([job]);
    const state: JobState = job.state;
    if (state === "rejected") throw job.error;
    if (state === "held") throw new MlflowError("INTERNAL_ERROR", neither(job.error));
    return state === "acknowledged" ? "acknowledged" : "spooled";
  }

  /** @internal */
  pendingFor(runId: string): PendingCounts {
    return this.pending().runs[runId] ?? { queued: 0, inFlight: 0, spooled: 0 };
  }

  /** The batches that could not be delivered when they were sent, oldest first: the last MAX_KEPT_FAILURES. */
  errors(): DeliveryFailure[] {
    return [...this.failures];
  }

  /** @internal */
  snapshot(): LoggerSnapshot {
    const queued = [...this.runs]
      .filter(([, s]) => s.queue.size > 0)
      .map(([runId, { queue }]) => ({
        runId,
        batch: { metrics: queue.metrics, params: queue.params, tags: [...queue.tags].map(([key, value]) => ({ key, value })) },
      }));
    return { queued, jobs: this.jobs.all() };
  }

  private tick(): void {
    this.cut();
    this.pump();
    this.delivery.tick();
    // Nothing of the journal waits any more: it need not keep what it holds.
    if (this.journal && this.journal.size > JOURNAL_COMPACT_BYTES && this.jobs.all().every((j) => j.entry)) this.journal.compact();
  }

  /** Appends what the queues hold beyond the journal to it. */
  private journalNow(now: number): void {
    this.journaledAt = now;
    if (this.journalTimer) {
      clearTimeout(this.journalTimer);
      this.journalTimer = undefined;
    }
    this.journal?.appendQueues([...this.runs].map(([runId, state]) => [runId, state.queue] as const));
  }

  /** A job reached a final state: its entities no longer wait here, and the journal need not keep it. */
  private settled(job: Job, to: FinalState): void {
    if (job.mark) this.journal?.covered(job.mark);
    if (to !== "spooled" && !job.update) {
      this.waiting = Math.max(0, this.waiting - job.count);
      if (this.full && this.waiting < this.maxBacklog) this.full = false;
    }
  }

  /** Moves everything queued into request-sized jobs. */
  private cut(): void {
    if (this.sinceCut === 0) return;
    this.sinceCut = 0;
    const journal = this.journal && !this.journal.broken ? this.journal : undefined;
    let gen = 0;
    if (journal) {
      this.journalNow(Date.now());
      gen = ++this.cutGen;
      journal.cut(gen);
    }
    for (const [runId, state] of this.runs) {
      if (!state.queue.size) continue;
      const idx = journal?.runIndex(runId);
      state.queue.cut().forEach((batch, k) => {
        const job = this.jobs.add(runId, batch, "ready");
        if (journal) job.mark = `${gen}\t${idx}\t${k}`;
      });
    }
  }

  /** Starts ready jobs up to the in-flight limit; offline, writes them to the spool instead. */
  private pump(): void {
    if (this.offline) {
      for (const job of this.jobs.inState("ready")) void this.spoolJob(job);
      return;
    }
    for (const job of this.jobs.inState("ready")) {
      if (this.jobs.count("sending") >= this.maxInFlight) break;
      // Two requests setting the same tag could land in either order: one tag request per run at a time.
      if (job.hasTags && this.sendingTags(job.runId)) continue;
      this.jobs.move(job, "sending");
      void this.send(job);
    }
  }

  private sendingTags(runId: string): boolean {
    return this.jobs.inState("sending").some((j) => j.hasTags && j.runId === runId);
  }

  /** A spool file claimed by SpoolDelivery: sent like a fresh request, its file is its durable copy. */
  private sendEntry(entry: SpoolEntry): Promise<void> {
    return this.send(this.jobs.add(entry.runId, entry.batch, "sending", entry, entry.update));
  }

  /** Sends a job in state `sending` and moves it on by the answer. */
  private async send(job: Job): Promise<void> {
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
      // A detached request: its claimed file is being written; it must exist before it goes.
      const detached = !!job.detaching;
      await job.detaching;
      // Acknowledged: the claimed file must go, or the batch would be delivered twice.
      if (job.entry)
        await this.spool
          .remove(job.entry)
          .catch((error) =>
            this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "rejected" }),
          );
      if (job.entry && this.awaitedUpdates.has(job.entry.name)) this.awaitedUpdates.set(job.entry.name, true);
      this.jobs.move(job, "acknowledged");
      // Files of its run may have waited behind it.
      if (detached && this.spool.size > 0) void this.deliverSpool().catch(() => {});
    } finally {
      this.pump();
    }
  }

  /** Permanent: report and quarantine. Transient (the store's retries are spent): go offline, spool. */
  private async failed(job: Job, error: unknown): Promise<void> {
    job.error = error;
    // A spool file the server keeps answering with an error is given up on after a few tries,
    // so it cannot hold up the files behind it forever; it is kept with the reason.
    const answered = error instanceof MlflowError && error.httpStatus !== undefined && error.httpStatus >= 500;
    const givenUp = !!job.entry && answered && (job.entry.attempts ?? 0) + 1 >= MAX_DELIVERY_ATTEMPTS;
    if (isPermanentFailure(error) || givenUp) {
      const reason = givenUp
        ? `gave up after ${MAX_DELIVERY_ATTEMPTS} attempts answered with errors; the last: ${describe(error)}`
        : describe(error);
      const file = await this.spool.quarantine(job.runId, job.batch, reason, job.entry, job.update).catch(() => undefined);
      this.jobs.move(job, "rejected");
      this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "rejected", file });
      return;
    }
    this.delivery.goOffline();
    if (job.entry) {
      await this.spool.release(job.entry, answered).catch(() => {});
      this.jobs.move(job, "spooled");
      return;
    }
    this.jobs.move(job, "spooling");
    if (await this.park(job, error))
      this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "spooled" });
  }

  /**
   * After a bounded wait: makes the jobs that are still out durable. A request still in the
   * store's retries is written to the spool as a claimed file (removed when it succeeds,
   * released when it fails, taken back by the next process if this one dies); a batch still
   * waiting for a request slot goes to the spool instead. The logger counts as offline then.
   */
  private async detachLate(jobs: Job[]): Promise<void> {
    const late = jobs.filter((j) => !atRest(j.state));
    if (!late.length) return;
    this.delivery.goOffline();
    // Requests first: their files are named now, so they sort before those of batches cut after them.
    const detaching = late.filter((j) => j.state === "sending" && !j.entry).map((j) => this.detach(j));
    const waiting = late.filter((j) => j.state === "ready");
    for (const job of waiting) this.jobs.move(job, "spooling");
    await Promise.all([...detaching, ...waiting.map((j) => this.park(j))]);
    // Being written to the spool: that is quick.
    await Promise.all(late.filter((j) => j.state === "spooling").map((j) => j.done));
  }

  private detach(job: Job): Promise<void> {
    job.detaching ??= (async () => {
      const error = new MlflowError(
        "TEMPORARILY_UNAVAILABLE",
        `${this.store.uri} did not answer within ${this.flushTimeoutMs / 1000} s; the request goes on in the background.`,
      );
      try {
        job.entry = await this.spool.writeClaimed(job.runId, job.batch, job.update);
        if (job.mark) this.journal?.covered(job.mark);
        this.report({ runId: job.runId, count: job.count, status: job.update?.status, error, disposition: "spooled" });
      } catch (writeError) {
        // Still in flight, only not durable: the exit hook spools it if the process ends.
        this.report({ runId: job.runId, count: job.count, status: job.update?.status, error: writeError, disposition: "held" });
      }
    })();
    return job.detaching;
  }

  /** Offline: a ready job goes to the spool instead of the network. */
  private async spoolJob(job: Job): Promise<void> {
    this.jobs.move(job, "spooling");
    await this.park(job);
  }

  /** Writes a `spooling` job to the spool; if even that fails, holds it in memory. True when spooled. */
  private async park(job: Job, cause?: unknown): Promise<boolean> {
    let writeError: unknown;
    let written = false;
    try {
      await this.spool.write(job.runId, job.batch, job.update);
      written = true;
    } catch (error) {
      writeError = error;
    }
    if (written) {
      this.jobs.move(job, "spooled");
      return true;
    }
    job.error = cause ?? writeError;
    this.jobs.move(job, "held");
    this.report({ runId: job.runId, count: job.count, status: job.update?.status, error: job.error, disposition: "held" });
    return false;
  }

  /** @internal */
  report(failure: DeliveryFailure): void {
    this.failures.push(failure);
    if (this.failures.length > MAX_KEPT_FAILURES) this.failures.shift();
    try {
      this.onError?.(failure);
    } catch {
      /* a failing callback must not break delivery */
    }
  }

  /** @internal Process `exit`: nothing async runs any more, so spool synchronously. */
  spoolSync(): void {
    this.cut();
    clearTimeout(this.journalTimer);
    // In-flight requests die with the process; spooling them too may deliver a batch twice,
    // which MLflow's SQL store absorbs (identical metric points are skipped, params with the
    // same value and tags are idempotent); losing them could not be undone. Claimed files
    // (from the spool, or detached) are durable already.
    for (const job of this.jobs.all()) {
      if (job.state === "sending" && job.entry) continue;
      try {
        this.spool.writeSync(job.runId, job.batch, job.update);
      } catch {
        continue; // nowhere left to put it
      }
      if (job.mark) this.journal?.covered(job.mark);
      if (job.update) this.journal?.endDurable(job.runId);
      if (job.state === "ready" || job.state === "held") this.jobs.move(job, "spooled");
    }
    // Runs left open stay in the journal: the watchdog ends them KILLED.
    if (this.journal && !this.closed) this.closeJournal();
  }

  /** @internal True when a flush would have something to do now. */
  hasWork(): boolean {
    return this.sinceCut > 0 || this.jobs.count("ready") + this.jobs.count("sending") + this.jobs.count("spooling") > 0;
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
