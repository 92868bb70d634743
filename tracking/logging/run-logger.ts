// The user-facing half of the logger: one run's log calls. Each call validates its input
// right there (bad input throws with validation.ts's message and queues nothing) and
// returns synchronously; sending is the Logger's business. A metric point costs a cached
// key check, three type checks and an array push, so a hot loop stays in microseconds.
// While the Logger's backlog is full (`LogSink.full`), calls drop what they log and count it
// in `dropped`; logMetric then returns false, so a caller can say so once.

import { RunQueue } from "./batcher.js";
import type { Batch, RunStatus } from "../entities.js";
import { invalidParameter } from "../errors.js";
import { validateKey, validateMetric, validateParam, validateTag } from "../validation.js";

/** Values accepted for params and tags; numbers and booleans are logged as `String(value)`. */
export type TagValue = string | number | boolean;

export interface PendingCounts {
  /** Entities (metric points, params, tags) waiting in memory to be sent. */
  queued: number;
  /** Entities in requests the store has not answered yet. */
  inFlight: number;
  /** Entities waiting in the on-disk spool. */
  spooled: number;
}

/** What a RunLogger needs from the Logger behind it. */
export interface LogSink {
  /** Called after entities were queued; may schedule a send. */
  enqueued(count: number): void;
  /** True while the backlog is at its bound: new entities are dropped. */
  readonly full: boolean;
  /** The run is open and owned by this process (ended KILLED if it dies). */
  opened(runId: string): void;
  assertOpen(): void;
  flush(): Promise<void>;
  pendingFor(runId: string): PendingCounts;
  /** Sets the run's status after everything logged before; resolves when acknowledged or spooled. */
  updateRun(runId: string, update: { status: RunStatus; endTime?: number; runName?: string }): Promise<"acknowledged" | "spooled">;
}

/** Per-run state shared by the RunLogger and the Logger. */
export class RunState {
  readonly queue = new RunQueue();
  /** Params this logger has accepted for the run: they are immutable. */
  readonly params = new Map<string, string>();
}

/** Keys already validated, so the hot path skips the pattern checks. */
export interface KeyCache {
  metric: Set<string>;
  param: Set<string>;
  tag: Set<string>;
}

const show = (v: unknown) => JSON.stringify(String(v).length > 80 ? String(v).slice(0, 77) + "..." : String(v));

function entriesOf(what: string, record: unknown): [string, unknown][] {
  if (record === null || typeof record !== "object" || Array.isArray(record))
    throw invalidParameter(
      `Invalid ${what}: expected an object of key -> value, got ${Array.isArray(record) ? "an array" : record === null ? "null" : typeof record}.`,
    );
  return Object.entries(record);
}

function toText(kind: "param" | "tag", key: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  throw invalidParameter(
    `Invalid value for ${kind} ${show(key)}: got ${value === null ? "null" : typeof value}; ${kind} values are strings, numbers or booleans.`,
  );
}

export class RunLogger {
  /** Entities dropped because the backlog was full (see LoggerOptions.maxBacklog). */
  dropped = 0;

  constructor(
    readonly runId: string,
    private readonly state: RunState,
    private readonly keys: KeyCache,
    private readonly sink: LogSink,
  ) {}

  /** Queues one metric point. `step` defaults to 0 and `timestamp` to now (epoch ms), as in MLflow. */
  /** Returns false when the point was dropped (the backlog is full). */
  logMetric(key: string, value: number, step = 0, timestamp = Date.now()): boolean {
    this.sink.assertOpen();
    if (!this.keys.metric.has(key)) {
      validateKey("metric", key);
      this.keys.metric.add(key);
    }
    if (typeof value !== "number" || !Number.isInteger(step) || !Number.isInteger(timestamp))
      validateMetric({ key, value, step, timestamp });
    if (this.sink.full) {
      this.dropped++;
      return false;
    }
    this.state.queue.metrics.push({ key, value, timestamp, step });
    this.sink.enqueued(1);
    return true;
  }

  /** This process owns the run while it is open: if the process dies, the run is ended KILLED. */
  opened(): void {
    this.sink.opened(this.runId);
  }

  /** Queues one point per entry, all with the same step and timestamp; all or nothing. */
  logMetrics(metrics: Record<string, number>, step = 0, timestamp = Date.now()): void {
    this.sink.assertOpen();
    const entries = entriesOf("metrics", metrics) as [string, number][];
    for (const [key, value] of entries) validateMetric({ key, value, step, timestamp });
    if (this.sink.full) {
      this.dropped += entries.length;
      return;
    }
    for (const [key, value] of entries) this.state.queue.metrics.push({ key, value, timestamp, step });
    this.sink.enqueued(entries.length);
  }

  logParam(key: string, value: TagValue): void {
    this.logParams({ [key]: value });
  }

  /**
   * Queues params; all or nothing. A key this logger already holds with a different value
   * throws (MLflow params are immutable); the same value again is accepted and not resent.
   */
  logParams(params: Record<string, TagValue>): void {
    this.sink.assertOpen();
    const accepted = new Map<string, string>();
    for (const [key, raw] of entriesOf("params", params)) {
      if (!this.keys.param.has(key)) validateKey("param", key);
      const value = toText("param", key, raw);
      validateParam({ key, value });
      const before = this.state.params.get(key) ?? accepted.get(key);
      if (before !== undefined && before !== value)
        throw invalidParameter(
          `Param ${show(key)} of run ${this.runId} is already ${show(before)}; params are immutable, so ${show(value)} is refused (logging the same value again is fine).`,
        );
      accepted.set(key, value);
    }
    let added = 0;
    for (const [key, value] of accepted) {
      this.keys.param.add(key);
      if (this.state.params.has(key)) continue;
      this.state.params.set(key, value);
      this.state.queue.params.push({ key, value });
      added++;
    }
    this.sink.enqueued(added);
  }

  setTag(key: string, value: TagValue): void {
    this.setTags({ [key]: value });
  }

  /** Queues tags; all or nothing. A tag set again before it was sent is sent once, with the last value. */
  setTags(tags: Record<string, TagValue>): void {
    this.sink.assertOpen();
    const accepted: [string, string][] = [];
    for (const [key, raw] of entriesOf("tags", tags)) {
      const value = toText("tag", key, raw);
      validateTag({ key, value });
      accepted.push([key, value]);
    }
    for (const [key, value] of accepted) {
      this.keys.tag.add(key);
      this.state.queue.setTag(key, value);
    }
    this.sink.enqueued(accepted.length);
  }

  /** Queues a whole batch (metrics with their own timestamps and steps); all or nothing. */
  logBatch(batch: Batch): void {
    this.sink.assertOpen();
    // Per-request limits do not apply here: the queue is cut into requests later.
    batch.metrics?.forEach(validateMetric);
    batch.tags?.forEach(validateTag);
    const params: Record<string, string> = {};
    for (const p of batch.params ?? []) {
      validateParam(p);
      if (p.key in params && params[p.key] !== p.value)
        throw invalidParameter(
          `Param ${show(p.key)} appears twice in one batch with different values (${show(params[p.key])} and ${show(p.value)}).`,
        );
      const before = this.state.params.get(p.key);
      if (before !== undefined && before !== p.value)
        throw invalidParameter(
          `Param ${show(p.key)} of run ${this.runId} is already ${show(before)}; params are immutable, so ${show(p.value)} is refused (logging the same value again is fine).`,
        );
      params[p.key] = p.value;
    }
    if (batch.params?.length) this.logParams(params);
    if (this.sink.full) {
      // Params are kept (they are few and immutable); metrics and tags are dropped.
      this.dropped += (batch.metrics?.length ?? 0) + (batch.tags?.length ?? 0);
      return;
    }
    for (const m of batch.metrics ?? [])
      this.state.queue.metrics.push({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step });
    for (const t of batch.tags ?? []) this.state.queue.setTag(t.key, t.value);
    this.sink.enqueued((batch.metrics?.length ?? 0) + (batch.tags?.length ?? 0));
  }

  /** Resolves when everything queued so far (by any run of this logger) is acknowledged or spooled. */
  flush(): Promise<void> {
    return this.sink.flush();
  }

  /**
   * Ends the run on the store: `status` (FINISHED, FAILED, KILLED) and `endTime` (default
   * now), delivered after everything logged before it. Resolves `acknowledged`, or `spooled`
   * when the store could not be reached in time: the update then waits in the durable spool
   * behind the run's batches and is delivered by a later flush or process.
   */
  terminate(status: RunStatus, endTime = Date.now()): Promise<"acknowledged" | "spooled"> {
    return this.sink.updateRun(this.runId, { status, endTime });
  }

  /** What of this run is still waiting. */
  pending(): PendingCounts {
    return this.sink.pendingFor(this.runId);
  }
}
