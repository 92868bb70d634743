// A run's status update through the logger when the tracking server is down at the run's
// end: it is spooled behind the run's batches and delivered after them, exactly once, by a
// later logger or process, also when the process was SIGKILLed after spooling it. The
// stand-in answers log-batch as recorded (034) and runs/update as recorded (061); our
// runs/update request must match 061's.

import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Logger, deliverSpool, flushTimeoutFromEnv } from "../../tracking/logging/logger.js";
import { RestStore } from "../../tracking/rest/store.js";
import { compareRequest, exchange, MlflowStandin, REPO_ROOT, type ReceivedRequest } from "../support/mlflow-standin.js";
import { killed, startScript } from "../support/script-process.js";

const T0 = 1700000000000;
// The recorded update (061) ends RUN_A at this time with FINISHED.
const END = 1700000005000;
const LOG_BATCH = "/api/2.0/mlflow/runs/log-batch";
const UPDATE = "/api/2.0/mlflow/runs/update";

let standin: MlflowStandin;
let spoolDir: string;
const stores: RestStore[] = [];
const loggers: Logger[] = [];
const children: ChildProcess[] = [];
/** Metric points the stand-in accepted: run|key|step|timestamp -> times. */
const accepted = new Map<string, number>();
/** What the stand-in acknowledged, in order: "batch" or "update:<status>". */
const acked: string[] = [];
const updateMismatches: string[][] = [];

beforeEach(async () => {
  accepted.clear();
  acked.length = 0;
  updateMismatches.length = 0;
  standin = await MlflowStandin.start();
  standin.route("POST", LOG_BATCH, (req) => {
    const body = req.json as { run_id: string; metrics?: { key: string; step?: number; timestamp: number }[] };
    for (const m of body.metrics ?? []) {
      const id = `${body.run_id}|${m.key}|${m.step ?? 0}|${m.timestamp}`;
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
    }
    acked.push("batch");
    return 34;
  });
  standin.route("POST", UPDATE, (req: ReceivedRequest, s) => {
    const problems = compareRequest(s.requestOf(exchange(61)), req);
    if (problems.length) updateMismatches.push(problems);
    acked.push(`update:${(req.json as { status: string }).status}`);
    return 61;
  });
  spoolDir = mkdtempSync(join(tmpdir(), "logger-status-"));
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) await killed(c);
  for (const l of loggers.splice(0)) await l.close().catch(() => undefined);
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  await standin.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

function openStore(retries: "fast" | "default"): RestStore {
  // "default": MLflow's own policy (7 retries, 2 s doubling): a dead server takes minutes per request.
  const store = new RestStore(retries === "fast" ? { baseUrl: standin.url, maxRetries: 1, backoffMs: 20 } : { baseUrl: standin.url });
  stores.push(store);
  return store;
}

function openLogger(store: RestStore, flushTimeoutMs = 1_000): Logger {
  const logger = new Logger(store, { spoolDir, flushIntervalMs: 50, probeIntervalMs: 60_000, flushTimeoutMs, exitHooks: false });
  loggers.push(logger);
  return logger;
}

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${condition}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const spoolNames = () => (existsSync(spoolDir) ? readdirSync(spoolDir).filter((n) => !n.startsWith(".") && n !== "rejected") : []);
const spooledUpdates = () => spoolNames().filter((n) => readFileSync(join(spoolDir, n), "utf8").includes('"update"'));

/** Every point of steps [0, n) arrived once, the update after every batch, once, as recorded. */
function expectDeliveredInOrder(runId: string, n: number): void {
  for (let step = 0; step < n; step++) expect(accepted.get(`${runId}|loss|${step}|${T0 + step}`), `loss@${step}`).toBe(1);
  expect(accepted.size).toBe(n);
  expect(acked.filter((a) => a.startsWith("update"))).toEqual(["update:FINISHED"]);
  expect(acked.at(-1)).toBe("update:FINISHED");
  expect(updateMismatches).toEqual([]);
  // The server saw no log-batch request after the update, whatever was retried.
  const paths = standin.received.map((r) => r.path);
  expect(paths.lastIndexOf(LOG_BATCH)).toBeLessThan(paths.lastIndexOf(UPDATE));
  expect(spoolNames()).toEqual([]);
}

describe("run status updates through the logger", () => {
  it("with the server up and nothing pending, the update goes straight out as recorded", async () => {
    const logger = openLogger(openStore("fast"));
    const run = logger.run(standin.ids.RUN_A);
    for (let step = 0; step < 10; step++) run.logMetric("loss", 1 / (step + 1), step, T0 + step);
    expect(await run.terminate("FINISHED", END)).toBe("acknowledged");
    expectDeliveredInOrder(standin.ids.RUN_A, 10);
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0, statusUpdates: 0 });
  });

  it("server refusing connections at the run's end: the status is spooled behind the batches, and a new logger delivers batches, then the status, once each", async () => {
    const runId = standin.ids.RUN_A;
    const logger = openLogger(openStore("fast"));
    const run = logger.run(runId);
    for (let step = 0; step < 1200; step++) run.logMetric("loss", 1 / (step + 1), step, T0 + step);
    await logger.flush();
    expect(accepted.size).toBe(1200);

    await standin.refuse();
    for (let step = 1200; step < 3500; step++) run.logMetric("loss", 1 / (step + 1), step, T0 + step);
    expect(await run.terminate("FINISHED", END)).toBe("spooled");
    const pending = logger.pending();
    expect(pending).toMatchObject({ queued: 0, inFlight: 0, spooled: 2300, statusUpdates: 1, offline: true });
    expect(pending.runs[runId]).toMatchObject({ spooled: 2300, status: "FINISHED" });
    // One file per batch and one for the status, which sorts after them.
    const names = spoolNames().sort();
    expect(names).toHaveLength(4);
    expect(spooledUpdates()).toEqual([names.at(-1)]);
    await logger.close();

    await standin.accept();
    // The first delivered batch is answered 503 and retried: a status sent alongside the
    // batches instead of after them would reach the server before that retry.
    standin.failNext(1, { kind: "status", status: 503 });
    const next = openLogger(openStore("fast"));
    await next.flush();
    expect(standin.received[0]!.path).toBe(LOG_BATCH);
    expectDeliveredInOrder(runId, 3500);
    expect(next.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0, statusUpdates: 0 });

    // A third logger finds nothing to send again.
    const before = standin.received.length;
    await openLogger(openStore("fast")).flush();
    expect(standin.received.length).toBe(before);
  });

  it("with MLflow's default retries the run's end returns within the flush timeout; the request still retrying delivers its batch, then the status follows", async () => {
    const runId = standin.ids.RUN_A;
    await standin.refuse();
    const logger = openLogger(openStore("default"), 1_000);
    const run = logger.run(runId);
    for (let step = 0; step < 300; step++) run.logMetric("loss", 1 / (step + 1), step, T0 + step);
    // Without the bound this waits out 7 retries (about 4 minutes) and the test times out.
    expect(await run.terminate("FINISHED", END)).toBe("spooled");
    const pending = logger.pending();
    expect(pending.runs[runId]).toMatchObject({ queued: 0, inFlight: 300, status: "FINISHED" });
    // The batch still in the store's retries is durable as a file claimed by this process.
    expect(spoolNames().filter((n) => n.endsWith(`.sending-${process.pid}`))).toHaveLength(1);
    expect(spooledUpdates()).toHaveLength(1);

    await standin.accept();
    // Acknowledged, and its claimed file removed after the answer.
    await until(() => acked.includes("update:FINISHED") && logger.pending().statusUpdates === 0 && spoolNames().length === 0);
    expectDeliveredInOrder(runId, 300);
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0 });
  }, 30_000);

  it("an update the server refuses for good is kept under rejected/ and the call says why", async () => {
    const logger = openLogger(openStore("fast"));
    // What the recorded server answers for an unknown run (021).
    const notFound = exchange(21).response;
    standin.failNext(1, {
      kind: "status",
      status: notFound.status,
      contentType: notFound.content_type,
      body: JSON.stringify(notFound.body),
    });
    await expect(logger.updateRun("no-such-run", { status: "FINISHED", endTime: END })).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    expect(readdirSync(join(spoolDir, "rejected")).filter((n) => n.endsWith(".json"))).toHaveLength(1);
    await expect(logger.updateRun("r", { status: "DONE" as never })).rejects.toThrow(
      /Invalid run status "DONE" for run r: accepted are RUNNING, SCHEDULED, FINISHED, FAILED, KILLED/,
    );
  });

  it("a status update the server does not answer is made durable within the flush timeout, then delivered once by the next flush", async () => {
    const runId = standin.ids.RUN_A;
    const store = new RestStore({ baseUrl: standin.url, maxRetries: 1, backoffMs: 20, timeoutMs: 1_500 });
    stores.push(store);
    const logger = openLogger(store, 500);
    // Nothing of the run waits: the update goes straight out, and gets no answer.
    standin.failNext(1, { kind: "hang" });
    expect(await logger.updateRun(runId, { status: "FINISHED", endTime: END })).toBe("spooled");
    expect(logger.pending()).toMatchObject({ statusUpdates: 1, runs: { [runId]: { status: "FINISHED" } } });
    expect(spoolNames().filter((n) => n.endsWith(`.sending-${process.pid}`))).toHaveLength(1);
    // The request times out (not retried: the server may have applied it); the file is released.
    await until(() => spoolNames().length === 1 && !spoolNames()[0]!.includes(".sending-"));
    await logger.flush();
    expect(acked).toEqual(["update:FINISHED"]);
    expect(updateMismatches).toEqual([]);
    expect(spoolNames()).toEqual([]);
    expect(logger.pending()).toMatchObject({ statusUpdates: 0, offline: false });
  });

  it("TSLAB_MLFLOW_FLUSH_TIMEOUT is seconds; anything but a positive number is refused by name", () => {
    expect(flushTimeoutFromEnv({})).toBe(5_000);
    expect(flushTimeoutFromEnv({ TSLAB_MLFLOW_FLUSH_TIMEOUT: "2.5" })).toBe(2_500);
    for (const bad of ["soon", "0", "-1", "Infinity"])
      expect(() => flushTimeoutFromEnv({ TSLAB_MLFLOW_FLUSH_TIMEOUT: bad })).toThrow(
        `Invalid TSLAB_MLFLOW_FLUSH_TIMEOUT ${JSON.stringify(bad)}: a number of seconds greater than 0 is accepted`,
      );
  });

  it("a spooled status file with an unknown status is moved to rejected/ with its reason, and the run's batches still go", async () => {
    const runId = standin.ids.RUN_A;
    await standin.refuse();
    const logger = openLogger(openStore("fast"));
    const run = logger.run(runId);
    for (let step = 0; step < 10; step++) run.logMetric("loss", 1 / (step + 1), step, T0 + step);
    expect(await run.terminate("FINISHED", END)).toBe("spooled");
    await logger.close();
    // Damage the status file as a bad disk or an old writer might.
    const [file] = spooledUpdates();
    const text = readFileSync(join(spoolDir, file!), "utf8");
    writeFileSync(join(spoolDir, file!), text.replace('"status":"FINISHED"', '"status":"DONE"'));

    await standin.accept();
    const next = openLogger(openStore("fast"));
    await next.flush();
    for (let step = 0; step < 10; step++) expect(accepted.get(`${runId}|loss|${step}|${T0 + step}`)).toBe(1);
    expect(acked.filter((a) => a.startsWith("update"))).toEqual([]);
    expect(readFileSync(join(spoolDir, "rejected", `${file}.reason.txt`), "utf8")).toMatch(
      /is not a version 1 or 2 tslab-mlflow-spool file/,
    );
    expect(next.errors().map((e) => e.disposition)).toEqual(["rejected"]);
    expect(spoolNames()).toEqual([]);
  });
});

// The child: logs `n` points to RUN_A with the server down, ends the run, reports, and waits to be killed.
const dist = (p: string) => pathToFileURL(join(REPO_ROOT, "dist", "tracking", p)).href;
const CHILD = `
import { Logger } from ${JSON.stringify(dist("logging/logger.js"))};
import { RestStore } from ${JSON.stringify(dist("rest/store.js"))};
const [url, spoolDir, retries, runId, n] = process.argv.slice(1);
const store = new RestStore(retries === "fast" ? { baseUrl: url, maxRetries: 1, backoffMs: 20 } : { baseUrl: url });
const logger = new Logger(store, { spoolDir, flushIntervalMs: 50, flushTimeoutMs: 1000 });
const run = logger.run(runId);
for (let step = 0; step < Number(n); step++) run.logMetric("loss", 1 / (step + 1), step, ${T0} + step);
const outcome = await run.terminate("FINISHED", ${END});
console.log("TERMINATED " + outcome + " " + JSON.stringify(logger.pending()));
setInterval(() => {}, 1000);
`;

/** Starts a child and resolves with what it printed after "TERMINATED " once it has. */
async function startChild(...args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const { child, line } = await startScript(CHILD, args, "TERMINATED ", children);
  return { child, line: line.slice("TERMINATED ".length) };
}

describe("kill and restart after the status was spooled", () => {
  for (const retries of ["fast", "default"] as const) {
    it(`a process SIGKILLed after spooling its run's status (${retries} retries): the next process delivers the batches, then the status, once each`, async () => {
      expect(existsSync(join(REPO_ROOT, "dist", "tracking", "logging", "logger.js")), "run `npx tsc -p .` first").toBe(true);
      const runId = standin.ids.RUN_A;
      await standin.refuse();
      const { child, line } = await startChild(standin.url, spoolDir, retries, runId, "2500");
      const [outcome, json] = [line.split(" ")[0], line.slice(line.indexOf(" ") + 1)];
      expect(outcome).toBe("spooled");
      const report = JSON.parse(json);
      expect(report.statusUpdates).toBe(1);
      expect(report.runs[runId]).toMatchObject({ queued: 0, status: "FINISHED" });
      expect(report.runs[runId].spooled + report.runs[runId].inFlight).toBe(2500);
      await killed(child);
      // With retries still running at the kill, a batch is left claimed by the dead process.
      if (retries === "default") expect(spoolNames().some((n) => n.endsWith(`.sending-${child.pid}`))).toBe(true);
      expect(spooledUpdates()).toHaveLength(1);
      expect(acked).toEqual([]);

      await standin.accept();
      const left = await deliverSpool(openStore("fast"), { spoolDir });
      expect(left).toMatchObject({ queued: 0, inFlight: 0, spooled: 0, statusUpdates: 0 });
      expectDeliveredInOrder(runId, 2500);
    }, 30_000);
  }
});
