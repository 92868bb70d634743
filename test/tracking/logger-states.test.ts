// The logger's state machine under random interleavings (fast-check): log calls, answers
// from the store (acknowledged, a transient failure, a refusal for good), flushes, run
// ends, time passing (flush interval, flush timeout, probe interval) and a spool that
// stops taking files. The store is a stand-in whose every request waits for the test to
// answer it; the spool is the real one on real files; timers and the clock are faked so a
// failing sequence replays and shrinks. After every step, once nothing is being written:
// each logged entity is in exactly one place (acknowledged by the store, a spool file,
// rejected/, or the logger's memory), pending() counts the same, and errors() stays bounded.
// At the end the store answers everything and every entity arrived exactly once.
// The logger keeps its write-ahead journal throughout: at rest, what recovery would deliver
// if the process died now (planJournal) holds every entity cut into a request that is not
// durable elsewhere, and none that the store acknowledged, the spool holds or rejected/ keeps.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Batch, SpooledUpdate, TrackingStore } from "../../tracking/index.js";
import { MlflowError } from "../../tracking/errors.js";
import { JOB_STATES, JobTable } from "../../tracking/logging/jobs.js";
import { Logger, MAX_KEPT_FAILURES } from "../../tracking/logging/logger.js";
import { decodeSpoolFile, type Spool } from "../../tracking/logging/spool.js";
import { planJournal } from "../../tracking/logging/journal-recovery.js";
import { existsSync } from "node:fs";

const T0 = 1_700_000_000_000;
const RUNS = ["run-a", "run-b", "run-c"];
const FLUSH_INTERVAL = 100;
const FLUSH_TIMEOUT = 1_000;
const PROBE_INTERVAL = 5_000;

type Answer = "ok" | "transient" | "permanent";
type Step =
  | { t: "log"; run: number; kind: "metrics" | "params" | "tags"; n: number }
  | { t: "answer"; pick: number; how: Answer }
  | { t: "flush" }
  | { t: "terminate"; run: number }
  | { t: "time"; ms: number }
  | { t: "spool"; broken: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("log" as const),
      run: fc.nat(RUNS.length - 1),
      kind: fc.constantFrom("metrics" as const, "metrics" as const, "params" as const, "tags" as const),
      n: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 900, max: 1_600 })),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant("answer" as const),
      pick: fc.nat(7),
      how: fc.constantFrom<Answer>("ok", "ok", "transient", "permanent"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("flush" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("terminate" as const), run: fc.nat(RUNS.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("time" as const), ms: fc.constantFrom(FLUSH_INTERVAL, FLUSH_TIMEOUT, PROBE_INTERVAL) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("spool" as const), broken: fc.boolean() }) },
);

interface Request {
  runId: string;
  batch: Batch;
  update?: SpooledUpdate;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A store whose requests wait until the test answers them; what it acknowledged is counted. */
class HeldStore {
  readonly uri = "http://127.0.0.1:9/held-store";
  readonly open: Request[] = [];
  readonly acked: { runId: string; batch: Batch; update?: SpooledUpdate }[] = [];

  logBatch(runId: string, batch: Batch): Promise<void> {
    return new Promise((resolve, reject) => this.open.push({ runId, batch, resolve, reject }));
  }

  updateRun(runId: string, update: SpooledUpdate): Promise<void> {
    return new Promise((resolve, reject) => this.open.push({ runId, batch: {}, update, resolve, reject }));
  }

  answer(pick: number, how: Answer): void {
    if (!this.open.length) return;
    const [req] = this.open.splice(pick % this.open.length, 1);
    if (how === "ok") {
      this.acked.push({ runId: req.runId, batch: req.batch, update: req.update });
      req.resolve();
    } else if (how === "transient") req.reject(new MlflowError("TEMPORARILY_UNAVAILABLE", "503 from the stand-in, retries spent", 503));
    else req.reject(new MlflowError("INVALID_PARAMETER_VALUE", "refused by the stand-in", 400));
  }
}

/** Spool calls made over all sequences, by method. */
const spoolCalls = new Map<string, number>();

/** Counts the spool's async operations (so a step can wait until none runs) and can make writes fail. */
function instrument(spool: Spool): { busy: () => number; setBroken: (b: boolean) => void; log: string[] } {
  let ops = 0;
  const log: string[] = [];
  let broken = false;
  const methods = ["write", "writeClaimed", "release", "remove", "quarantine", "scan", "claim", "holdsOlder"] as const;
  for (const name of methods) {
    const original = (spool[name] as (...args: unknown[]) => Promise<unknown>).bind(spool);
    (spool as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (broken && (name === "write" || name === "writeClaimed"))
        return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device (injected)"), { code: "ENOSPC" }));
      ops++;
      spoolCalls.set(name, (spoolCalls.get(name) ?? 0) + 1);
      log.push(name);
      const p = original(...args);
      p.then(
        () => ops--,
        () => ops--,
      );
      return p;
    };
  }
  return { busy: () => ops, setBroken: (b) => (broken = b), log };
}

/** What one place holds: entity ids (`m<n>`, `p<n>`, `t<n>`) and runs whose status update it has. */
interface Place {
  ids: string[];
  updates: string[];
}
const empty = (): Place => ({ ids: [], updates: [] });
function add(place: Place, runId: string, batch: Batch, update?: SpooledUpdate): void {
  for (const m of batch.metrics ?? []) place.ids.push(`m${m.value}`);
  for (const p of batch.params ?? []) place.ids.push(p.key);
  for (const t of batch.tags ?? []) place.ids.push(t.key);
  if (update) place.updates.push(runId);
}

/** The spool directory: deliverable and claimed files, and rejected/. */
function onDisk(dir: string): { spooled: Place; rejected: Place; partial: string[] } {
  const spooled = empty();
  const rejected = empty();
  const list = (d: string) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  const names = list(dir);
  for (const n of names) {
    if (n.startsWith(".") || !n.includes(".json")) continue;
    const { runId, batch, update } = decodeSpoolFile(readFileSync(join(dir, n), "utf8"), n);
    add(spooled, runId, batch, update);
  }
  for (const n of list(join(dir, "rejected"))) {
    if (!n.endsWith(".json")) continue;
    const { runId, batch, update } = decodeSpoolFile(readFileSync(join(dir, "rejected", n), "utf8"), n);
    add(rejected, runId, batch, update);
  }
  return { spooled, rejected, partial: names.filter((n) => n.startsWith(".tmp-")) };
}

const tally = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());

class Harness {
  readonly dir = mkdtempSync(join(tmpdir(), "logger-states-"));
  readonly store = new HeldStore();
  readonly logger: Logger;
  readonly spool: ReturnType<typeof instrument>;
  readonly logged: string[] = [];
  readonly terminated = new Map<string, { settled?: "resolved" | "rejected" }>();
  readonly background: { what: string; settled: boolean }[] = [];
  readonly stray: unknown[] = [];
  private next = 0;

  constructor() {
    this.logger = new Logger(this.store as unknown as TrackingStore, {
      spoolDir: this.dir,
      flushIntervalMs: FLUSH_INTERVAL,
      flushTimeoutMs: FLUSH_TIMEOUT,
      probeIntervalMs: PROBE_INTERVAL,
      offlineFlushWaitMs: 500,
      maxInFlight: 2,
      exitHooks: false,
      journal: { watchdog: false },
    });
    this.spool = instrument(this.logger.spool);
  }

  async apply(s: Step): Promise<void> {
    switch (s.t) {
      case "log": {
        const run = this.logger.run(RUNS[s.run]);
        const ids = Array.from({ length: s.n }, () => this.next++);
        if (s.kind === "metrics") for (const id of ids) run.logMetric("loss", id, id, T0);
        else if (s.kind === "params") run.logParams(Object.fromEntries(ids.map((id) => [`p${id}`, "v"])));
        else run.setTags(Object.fromEntries(ids.map((id) => [`t${id}`, "v"])));
        this.logged.push(...ids.map((id) => `${s.kind[0]}${id}`));
        break;
      }
      case "answer":
        this.store.answer(s.pick, s.how);
        break;
      case "flush":
        this.track("flush", this.logger.flush());
        break;
      case "terminate": {
        const runId = RUNS[s.run];
        if (this.terminated.has(runId)) break;
        const entry: { settled?: "resolved" | "rejected" } = {};
        this.terminated.set(runId, entry);
        this.track(
          `terminate ${runId}`,
          this.logger
            .run(runId)
            .terminate("FINISHED", T0 + 1)
            .then(
              () => (entry.settled = "resolved"),
              (e) => {
                entry.settled = "rejected";
                throw e;
              },
            ),
        );
        break;
      }
      case "time":
        await vi.advanceTimersByTimeAsync(s.ms);
        break;
      case "spool":
        this.spool.setBroken(s.broken);
        break;
    }
    await this.rest();
  }

  /** A flush or run end under way: it must settle (either way) by the end. */
  private track(what: string, p: Promise<unknown>): void {
    const entry = { what, settled: false };
    this.background.push(entry);
    p.then(
      () => (entry.settled = true),
      () => (entry.settled = true),
    );
  }

  /** Waits (on the event loop, not the clock) until no spool operation has run for a few turns. */
  async rest(): Promise<void> {
    // The cap is on real time (the clock is faked): a loaded machine's fsync can take a while.
    const started = performance.now();
    for (let calm = 0; calm < 3; ) {
      if (performance.now() - started > 20_000) throw new Error(`the logger never came to rest: ${this.spool.log.slice(-30).join(" ")}`);
      await new Promise((r) => setImmediate(r));
      calm = this.spool.busy() === 0 ? calm + 1 : 0;
    }
  }

  /** Where every logged entity is now; each must be in exactly one place. */
  check(): void {
    expect(this.stray, "unhandled rejections (an illegal move throws)").toEqual([]);
    const acked = empty();
    for (const a of this.store.acked) add(acked, a.runId, a.batch, a.update);
    const { spooled, rejected, partial } = onDisk(this.dir);
    expect(partial, "half-written spool files at rest").toEqual([]);
    const memory = empty();
    const snap = this.logger.snapshot();
    for (const q of snap.queued) add(memory, q.runId, q.batch);
    for (const job of snap.jobs) {
      expect(JOB_STATES).toContain(job.state);
      // Mid-write jobs cannot exist at rest; a claimed file is the durable copy of a request in flight.
      expect(job.state, "a job caught mid-write at rest").not.toBe("spooling");
      if (!(job.state === "sending" && job.entry)) add(memory, job.runId, job.batch, job.update);
    }
    const places = { acked, spooled, rejected, memory };
    // The journal, as recovery would read it if the process died now.
    const journalFile = this.logger.journal!.path;
    const planned = empty();
    if (existsSync(journalFile)) for (const b of planJournal(readFileSync(journalFile), T0).batches) add(planned, "", b.batch);
    const plannedIds = new Set(planned.ids);
    const inRequests = empty();
    for (const job of snap.jobs) if (!job.update && !(job.state === "sending" && job.entry)) add(inRequests, job.runId, job.batch);
    expect(
      inRequests.ids.filter((id) => !plannedIds.has(id)),
      "cut entities not durable anywhere but memory, missing from the journal",
    ).toEqual([]);
    const durable = new Set([...acked.ids, ...spooled.ids, ...rejected.ids]);
    expect(
      planned.ids.filter((id) => durable.has(id)),
      "entities the journal would deliver again",
    ).toEqual([]);
    const counts = Object.fromEntries(Object.entries(places).map(([k, p]) => [k, tally(p.ids)]));
    const misplaced: string[] = [];
    for (const id of this.logged) {
      const where = Object.entries(counts)
        .filter(([, c]) => c.has(id))
        .map(([k, c]) => `${k} x${c.get(id)}`);
      const n = Object.values(counts).reduce((s, c) => s + (c.get(id) ?? 0), 0);
      if (n !== 1) misplaced.push(`${id}: ${where.join(", ") || "nowhere"}`);
    }
    expect(misplaced, "entities not in exactly one place").toEqual([]);
    const known = new Set(this.logged);
    expect(
      Object.values(places)
        .flatMap((p) => p.ids)
        .filter((id) => !known.has(id)),
      "entities nobody logged",
    ).toEqual([]);
    for (const [runId, t] of this.terminated) {
      const n = Object.values(places).reduce((s, p) => s + p.updates.filter((r) => r === runId).length, 0);
      // A status that could be neither sent nor spooled was reported to the caller; it may still be held.
      expect(n, `status update of ${runId} (${t.settled ?? "pending"})`).toBeLessThanOrEqual(1);
      if (t.settled === "resolved") expect(n, `status update of ${runId}`).toBe(1);
    }
    const p = this.logger.pending();
    expect(p.queued + p.inFlight + p.spooled, "pending() against memory + spool files").toBe(memory.ids.length + spooled.ids.length);
    expect(p.statusUpdates).toBe(memory.updates.length + spooled.updates.length);
    expect(this.logger.errors().length).toBeLessThanOrEqual(MAX_KEPT_FAILURES);
  }

  /** The store answers everything and the spool takes files again, until nothing is left. */
  async drain(): Promise<void> {
    this.spool.setBroken(false);
    for (let round = 0; ; round++) {
      if (round > 60) throw new Error(`not drained: ${JSON.stringify(this.logger.pending())}, ${this.store.open.length} open requests`);
      if (round > 0) await vi.advanceTimersByTimeAsync(FLUSH_TIMEOUT);
      while (this.store.open.length) this.store.answer(0, "ok");
      this.track("drain flush", this.logger.flush());
      await this.rest();
      if (this.store.open.length) continue;
      const p = this.logger.pending();
      const unsettled = this.background.filter((b) => !b.settled).map((b) => b.what);
      if (p.queued + p.inFlight + p.spooled + p.statusUpdates === 0 && this.logger.snapshot().jobs.length === 0 && !unsettled.length) break;
      if (round === 60) throw new Error(`never settled: ${unsettled.join(", ")}`);
      await vi.advanceTimersByTimeAsync(PROBE_INTERVAL);
      await this.rest();
    }
    this.check();
    const { spooled } = onDisk(this.dir);
    expect(spooled, "spool files left").toEqual(empty());
    // Exactly once, in the store or in rejected/.
    const acked = empty();
    for (const a of this.store.acked) add(acked, a.runId, a.batch, a.update);
    const { rejected } = onDisk(this.dir);
    const total = tally([...acked.ids, ...rejected.ids]);
    expect(this.logged.filter((id) => total.get(id) !== 1)).toEqual([]);
    for (const [runId, t] of this.terminated)
      if (t.settled === "resolved") expect([...acked.updates, ...rejected.updates].filter((r) => r === runId)).toHaveLength(1);
  }

  async dispose(): Promise<void> {
    while (this.store.open.length) this.store.answer(0, "ok");
    await this.logger.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Sequences that make every move of the diagram whatever the random ones do (they run first).
const EXAMPLES: [Step[]][] = [
  // Acknowledged; refused for good.
  [
    [
      { t: "log", run: 0, kind: "metrics", n: 5 },
      { t: "flush" },
      { t: "answer", pick: 0, how: "ok" },
      { t: "log", run: 0, kind: "params", n: 3 },
      { t: "flush" },
      { t: "answer", pick: 0, how: "permanent" },
    ],
  ],
  // A request outlives the flush timeout (a claimed file), then fails for now: its file is given back.
  [
    [
      { t: "log", run: 1, kind: "metrics", n: 5 },
      { t: "flush" },
      { t: "time", ms: FLUSH_TIMEOUT },
      { t: "answer", pick: 0, how: "transient" },
    ],
  ],
  // Offline with a spool that takes nothing: held, then tried again by a flush once it takes files.
  [
    [
      { t: "log", run: 2, kind: "tags", n: 5 },
      { t: "flush" },
      { t: "answer", pick: 0, how: "transient" },
      { t: "spool", broken: true },
      { t: "log", run: 2, kind: "metrics", n: 5 },
      { t: "flush" },
      { t: "spool", broken: false },
      { t: "terminate", run: 2 },
    ],
  ],
];

afterEach(() => {
  vi.useRealTimers();
});

describe("the logger's state machine", () => {
  it("every logged entity is in exactly one place after every step of random interleavings, and arrives exactly once", async () => {
    // Which moves the sequences made: each of the diagram's moves must be reached (the exit hook's aside).
    const moves = new Map<string, number>();
    const move = JobTable.prototype.move;
    const spy = vi.spyOn(JobTable.prototype, "move").mockImplementation(function (this: JobTable, job, to) {
      const from = job.state;
      move.call(this, job, to);
      moves.set(`${from}->${to}`, (moves.get(`${from}->${to}`) ?? 0) + 1);
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"], now: T0 });
        const h = new Harness();
        const onStray = (reason: unknown) => h.stray.push(reason);
        process.on("unhandledRejection", onStray);
        try {
          for (const s of steps) {
            await h.apply(s);
            h.check();
          }
          await h.drain();
        } finally {
          process.off("unhandledRejection", onStray);
          // Real timers first: a flush left waiting on the faked clock then ends within its timeout.
          vi.useRealTimers();
          await h.dispose();
        }
      }),
      { numRuns: Number(process.env.LOGGER_STATES_RUNS ?? 60), examples: EXAMPLES },
    );
    spy.mockRestore();
    const expected = [
      "ready->sending",
      "ready->spooling",
      "sending->acknowledged",
      "sending->rejected",
      "sending->spooled",
      "sending->spooling",
      "spooling->spooled",
      "spooling->held",
      "held->ready",
    ];
    expect(
      expected.filter((m) => !moves.has(m)),
      `moves never made (made: ${JSON.stringify(Object.fromEntries(moves))})`,
    ).toEqual([]);
    // Requests that outlived a flush were written as claimed files, and spooled files went back to the store.
    expect(spoolCalls.get("writeClaimed") ?? 0).toBeGreaterThan(0);
    expect(spoolCalls.get("claim") ?? 0).toBeGreaterThan(0);
  }, 240_000);

  it("refuses a move the state machine does not have, naming both states", () => {
    const table = new JobTable();
    const job = table.add("run-x", { metrics: [{ key: "loss", value: 1, step: 0, timestamp: T0 }] }, "ready");
    expect(() => table.move(job, "acknowledged")).toThrow(
      /run-x cannot go from ready to acknowledged \(from ready: sending, spooling, spooled\)/,
    );
    table.move(job, "sending");
    table.move(job, "acknowledged");
    expect(table.size).toBe(0);
    expect(() => table.move(job, "sending")).toThrow(/cannot go from acknowledged to sending \(from acknowledged: none, it is final\)/);
  });

  it(`keeps the last ${MAX_KEPT_FAILURES} failures, newest last`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "logger-failures-"));
    const refused: string[] = [];
    const store = {
      uri: "http://127.0.0.1:9/refusing",
      logBatch: async (_runId: string, batch: Batch) => {
        refused.push(batch.params![0].key);
        throw new MlflowError("INVALID_PARAMETER_VALUE", `refused ${batch.params![0].key}`, 400);
      },
    };
    const logger = new Logger(store as unknown as TrackingStore, { spoolDir: dir, flushIntervalMs: 60_000, exitHooks: false });
    try {
      const run = logger.run("run-f");
      const total = MAX_KEPT_FAILURES + 30;
      for (let i = 0; i < total; i++) {
        run.logParam(`p${i}`, "v");
        await logger.flush();
      }
      expect(refused).toHaveLength(total);
      const kept = logger.errors();
      expect(kept).toHaveLength(MAX_KEPT_FAILURES);
      expect(kept.every((f) => f.disposition === "rejected")).toBe(true);
      expect((kept.at(-1)!.error as Error).message).toBe(`refused p${total - 1}`);
      expect((kept[0].error as Error).message).toBe(`refused p${total - MAX_KEPT_FAILURES}`);
    } finally {
      await logger.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
