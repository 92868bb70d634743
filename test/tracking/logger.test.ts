// The logger against real parts: the REST store over undici to a real HTTP server on
// 127.0.0.1 that answers log-batch as the recorded MLflow server did, and a spool on real
// files. Points are counted on the server by (run, key, step, timestamp).

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlflowError } from "../../tracking/errors.js";
import { Logger, type DeliveryFailure } from "../../tracking/logging/logger.js";
import { RestStore } from "../../tracking/rest/store.js";
import { LogBatchServer } from "./logger-server.js";

let server: LogBatchServer;
let store: RestStore;
let spoolDir: string;
const loggers: Logger[] = [];

const T0 = 1700000000000;
const openLogger = (opts: ConstructorParameters<typeof Logger>[1] = {}) => {
  const l = Logger.create(store, {
    spoolDir,
    flushIntervalMs: 50,
    probeIntervalMs: 60_000,
    offlineFlushWaitMs: 10_000,
    exitHooks: false,
    ...opts,
  });
  loggers.push(l);
  return l;
};
async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${condition}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const spoolFiles = () => {
  try {
    return readdirSync(spoolDir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
};
const expectAllOnce = (runId: string, keys: string[], steps: number[]) => {
  for (const key of keys)
    for (const step of steps) expect(server.points.get(`${runId}|${key}|${step}|${T0 + step}`), `${key}@${step}`).toBe(1);
};

beforeEach(async () => {
  server = await new LogBatchServer().start();
  // Few, short retries: the test is about what happens after the store gives up.
  store = new RestStore({ baseUrl: server.url, maxRetries: 2, backoffMs: 20, maxBackoffMs: 2_000, timeoutMs: 10_000 });
  spoolDir = mkdtempSync(join(tmpdir(), "logger-spool-"));
});

afterEach(async () => {
  for (const l of loggers.splice(0)) await l.close().catch(() => {});
  await store.close();
  await server.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe("bad input is refused at the call", () => {
  it("throws validation's message right there and queues nothing", async () => {
    const logger = openLogger();
    const run = logger.run("run-bad");
    const refused: [() => void, RegExp][] = [
      [() => run.logMetric("../x", 1), /Invalid metric key "\.\.\/x".*relative path/],
      [() => run.logMetric("a*b", 1), /Invalid metric key "a\*b".*may contain only/],
      [() => run.logMetric("k".repeat(251), 1), /251 characters, at most 250/],
      [() => run.logMetric("loss", "abc" as unknown as number), /Invalid value "abc" for metric "loss".*must be a number/],
      [() => run.logMetric("loss", 1, 1.5), /Invalid step "1.5" for metric "loss"/],
      [() => run.logMetric("loss", 1, 0, NaN), /Invalid timestamp "NaN"/],
      [() => run.logMetrics({ good: 1, "bad*key": 2 }), /Invalid metric key "bad\*key"/],
      [() => run.logParam("p", { a: 1 } as unknown as string), /Invalid value for param "p": got object/],
      [() => run.logParam("p", "x".repeat(6001)), /6001 characters, at most 6000/],
      [() => run.setTag("t", "x".repeat(8001)), /8001 characters, at most 8000/],
      [
        () =>
          run.logBatch({
            params: [
              { key: "q", value: "1" },
              { key: "q", value: "2" },
            ],
          }),
        /appears twice in one batch/,
      ],
      [() => run.logMetrics(null as unknown as Record<string, number>), /Invalid metrics: expected an object of key -> value, got null/],
      [() => run.setTags([["a", "b"]] as unknown as Record<string, string>), /Invalid tags: .* got an array/],
    ];
    for (const [call, message] of refused) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, String(message)).toBeInstanceOf(MlflowError);
      expect((error as MlflowError).code).toBe("INVALID_PARAMETER_VALUE");
      expect((error as Error).message).toMatch(message);
      expect(logger.pending().queued).toBe(0);
    }
    await logger.flush();
    expect(server.statuses).toEqual([]);
  });

  it("refuses a changed param at once; the same value again is fine and not resent", async () => {
    const logger = openLogger();
    const run = logger.run("run-p");
    run.logParams({ lr: 0.01, epochs: 3 });
    run.logParam("lr", "0.01");
    expect(() => run.logParam("lr", 0.02)).toThrow(/Param "lr" of run run-p is already "0.01"; params are immutable/);
    // All or nothing: the good param in the same call is not queued either.
    expect(() => run.logParams({ fresh: 1, epochs: 4 })).toThrow(/"epochs".*already "3"/);
    expect(logger.pending().queued).toBe(2);
    await logger.flush();
    expect(Object.fromEntries(server.params)).toEqual({ "run-p|lr": "0.01", "run-p|epochs": "3" });
  });
});

describe("batching", () => {
  it("coalesces points into log-batch requests within MLflow's limits, params and tags included", async () => {
    const logger = openLogger();
    const run = logger.run("run-batch");
    const steps = Array.from({ length: 1250 }, (_, i) => i);
    for (const step of steps) {
      run.logMetric("a", step / 3, step, T0 + step);
      run.logMetric("b/nested", -step, step, T0 + step);
    }
    for (let i = 0; i < 150; i++) run.logParam(`p${i}`, i);
    for (let i = 0; i < 120; i++) run.setTag(`t${i}`, `v${i}`);
    expect(logger.pending().queued).toBe(2500 + 150 + 120);
    await logger.flush();
    expect(logger.errors()).toEqual([]);
    expect(server.statuses.every((s) => s === 200)).toBe(true);
    // 2770 entities need at least 3 requests; params/tags lead and metrics fill up to 1000.
    expect(server.statuses.length).toBeLessThanOrEqual(4);
    expect(Math.max(...server.batchSizes)).toBeLessThanOrEqual(1000);
    expectAllOnce("run-batch", ["a", "b/nested"], steps);
    expect(server.params.size).toBe(150);
    expect(server.tags.size).toBe(120);
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0 });
  });

  it("sends in the background without flush, a full batch at once and the rest on the timer", async () => {
    const logger = openLogger({ flushIntervalMs: 100 });
    const run = logger.run("run-bg");
    for (let step = 0; step < 1500; step++) run.logMetric("m", step, step, T0 + step);
    run.setTag("stage", "train");
    const deadline = Date.now() + 5_000;
    while (server.points.size < 1500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expectAllOnce(
      "run-bg",
      ["m"],
      Array.from({ length: 1500 }, (_, i) => i),
    );
    expect(server.tags.get("run-bg|stage")).toBe("train");
  });

  it("keeps a run's tag requests in order, so the last value set wins on the server", async () => {
    const logger = openLogger();
    const run = logger.run("run-tags");
    server.delays.push(300); // the first request takes effect late
    run.setTag("stage", "first");
    await until(() => server.arrivals.length === 1);
    run.setTag("stage", "second");
    run.logMetric("m", 1, 0, T0);
    await logger.flush();
    expect(server.tags.get("run-tags|stage")).toBe("second");
    expect(server.statuses).toEqual([200, 200]);
  });

  it("sends NaN and ±Infinity as MLflow's strings, which the server accepts", async () => {
    const logger = openLogger();
    const run = logger.run("run-nan");
    run.logMetrics({ nan: NaN, inf: Infinity, ninf: -Infinity }, 0, T0);
    await logger.flush();
    expect(server.statuses).toEqual([200]);
    expect(server.points.size).toBe(3);
  });
});

describe("an outage", () => {
  it("connections refused, then 503 with Retry-After, then recovery: every point arrives exactly once", async () => {
    const failures: DeliveryFailure[] = [];
    const logger = openLogger({ onError: (f) => failures.push(f) });
    const run = logger.run("run-outage");
    const other = logger.run("run-other");
    let step = 0;
    const log = (n: number) => {
      for (const end = step + n; step < end; step++) {
        run.logMetric("loss", 1 / (step + 1), step, T0 + step);
        run.logMetric("acc", step / 10_000, step, T0 + step);
        if (step % 10 === 0) other.logMetric("lr", 0.1, step, T0 + step);
      }
    };

    log(1000);
    await logger.flush();
    expect(server.points.size).toBe(2100);

    // 1. The server is down: the store's retries fail, the batches go to the spool.
    await server.setMode("refuse");
    log(2000);
    await logger.flush();
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 4200, offline: true });
    expect(logger.pending().runs["run-other"].spooled).toBe(200);
    expect(other.pending()).toEqual({ queued: 0, inFlight: 0, spooled: 200 });
    expect(spoolFiles().length).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((f) => f.disposition === "spooled" && (f.error as MlflowError).code === "TEMPORARILY_UNAVAILABLE")).toBe(true);

    // 2. It answers 503 with Retry-After. The next flush spools the new points at once and
    // probes the store with the oldest spooled batch in the background; after the store's
    // retries that batch goes back to the spool.
    await server.setMode("unavailable");
    log(500);
    const firstProbe = server.arrivals.length;
    await logger.flush();
    expect(logger.pending()).toMatchObject({ queued: 0 });
    await until(() => server.statuses.filter((s) => s === 503).length === 3 && logger.pending().inFlight === 0);
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 5250, offline: true });
    // The probe: 1 try + 2 retries, honouring Retry-After: 1 (the store's own backoff here is 20 ms, then 40 ms).
    const probes = server.arrivals.slice(firstProbe);
    expect(probes).toHaveLength(3);
    expect(probes[1] - probes[0]).toBeGreaterThanOrEqual(900);
    expect(probes[2] - probes[1]).toBeGreaterThanOrEqual(900);

    // 3. It recovers while the next flush's probe is waiting out a Retry-After: the probe's
    // retry succeeds and the rest of the spool follows within that flush.
    const flushing = logger.flush();
    await until(() => server.statuses.filter((s) => s === 503).length === 4);
    await server.setMode("ok");
    await flushing;
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0, offline: false });
    expect(spoolFiles()).toEqual([]);

    expect(server.duplicates()).toEqual([]);
    const steps = Array.from({ length: 3500 }, (_, i) => i);
    expectAllOnce("run-outage", ["loss", "acc"], steps);
    expectAllOnce(
      "run-other",
      ["lr"],
      steps.filter((s) => s % 10 === 0),
    );
    expect(server.points.size).toBe(3500 * 2 + 350);
  });

  it("a 400 from the server is reported once and quarantined, not retried", async () => {
    // Another process logged p=1 to this run earlier.
    const first = openLogger();
    first.run("run-400").logParam("p", "1");
    await first.flush();

    const failures: DeliveryFailure[] = [];
    const logger = openLogger({ onError: (f) => failures.push(f) });
    const run = logger.run("run-400");
    run.logParam("p", "2"); // this logger cannot know: the server refuses it
    run.logMetric("m", 1, 0, T0);
    await logger.flush();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ runId: "run-400", count: 2, disposition: "rejected" });
    expect((failures[0].error as MlflowError).code).toBe("INVALID_PARAMETER_VALUE");
    expect((failures[0].error as MlflowError).httpStatus).toBe(400);
    expect(logger.errors()).toEqual(failures);
    expect(readdirSync(join(spoolDir, "rejected")).length).toBe(2); // the batch and its reason

    // Later flushes and later points go on normally; the refused batch is not sent again.
    run.logMetric("m", 2, 1, T0 + 1);
    await logger.flush();
    await logger.flush();
    expect(server.statuses.filter((s) => s === 400)).toHaveLength(1);
    expect(server.points.has(`run-400|m|1|${T0 + 1}`)).toBe(true);
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0 });
  });

  it("while offline, probes the store in the background and delivers the spool when it is back, without a flush", async () => {
    const logger = openLogger({ probeIntervalMs: 200 });
    const run = logger.run("run-probe");
    await server.setMode("refuse");
    for (let step = 0; step < 1500; step++) run.logMetric("x", step, step, T0 + step);
    await logger.flush();
    expect(logger.pending()).toMatchObject({ spooled: 1500, offline: true });
    await server.setMode("ok");
    await until(() => logger.pending().spooled === 0 && logger.pending().inFlight === 0);
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0, offline: false });
    expectAllOnce(
      "run-probe",
      ["x"],
      Array.from({ length: 1500 }, (_, i) => i),
    );
    expect(server.duplicates()).toEqual([]);
  });

  it("when not even the spool can take a batch, flush says so and keeps it queued for the next flush", async () => {
    const blocker = join(spoolDir, "not-a-dir");
    writeFileSync(blocker, "");
    const failures: DeliveryFailure[] = [];
    const logger = openLogger({ spoolDir: join(blocker, "spool"), onError: (f) => failures.push(f) });
    const run = logger.run("run-held");
    await server.setMode("refuse");
    for (let step = 0; step < 50; step++) run.logMetric("h", step, step, T0 + step);
    await expect(logger.flush()).rejects.toThrow(
      /50 logged entities could be neither sent to http:\/\/127\.0\.0\.1:\d+ nor spooled to .*not-a-dir\/spool; they stay queued/,
    );
    expect(failures.map((f) => f.disposition)).toEqual(["held"]);
    expect(logger.pending()).toMatchObject({ queued: 50, inFlight: 0, spooled: 0 });

    await server.setMode("ok");
    await until(() => {
      void logger.flush().catch(() => {});
      return server.points.size === 50;
    });
    expectAllOnce(
      "run-held",
      ["h"],
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(server.duplicates()).toEqual([]);
  });

  it("several loggers sharing one spool deliver each spooled batch once", async () => {
    await server.setMode("refuse");
    const writer = openLogger();
    for (let step = 0; step < 8000; step++) writer.run(`run-${step % 3}`).logMetric("y", step, step, T0 + step);
    await writer.close();
    expect(spoolFiles().length).toBeGreaterThanOrEqual(8);
    await server.setMode("ok");
    const senders = [openLogger(), openLogger(), openLogger()];
    await Promise.all(senders.map((l) => l.flush()));
    expect(server.duplicates()).toEqual([]);
    expect(server.points.size).toBe(8000);
    expect(spoolFiles()).toEqual([]);
  });

  it("delivers what an earlier logger left in the spool when the next one is created", async () => {
    await server.setMode("refuse");
    const before = openLogger();
    for (let step = 0; step < 300; step++) before.run("run-next").logMetric("x", step, step, T0 + step);
    await before.close();
    expect(before.pending().spooled).toBe(300);
    await server.setMode("ok");

    const after = openLogger();
    await after.flush();
    expectAllOnce(
      "run-next",
      ["x"],
      Array.from({ length: 300 }, (_, i) => i),
    );
    expect(server.duplicates()).toEqual([]);
    expect(spoolFiles()).toEqual([]);
  });
});
