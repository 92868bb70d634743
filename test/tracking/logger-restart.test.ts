// Kill-and-restart: separate Node processes running the compiled logger (dist/) against a
// log-batch server on loopback. What a process spooled before it was killed (SIGKILL),
// or left queued when it ended without flushing, is delivered by the next process,
// every point exactly once.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import { killed, startScript } from "../support/script-process.js";
import { run } from "../support/run.js";
import { LogBatchServer } from "./logger-server.js";

const dist = (p: string) => pathToFileURL(join(REPO_ROOT, "dist", "tracking", p)).href;
const T0 = 1700000000000;

// The child: log `n` points per key to run `runId`, then do what `mode` says.
const CHILD = `
import { Logger, deliverSpool } from ${JSON.stringify(dist("logging/logger.js"))};
import { RestStore } from ${JSON.stringify(dist("rest/store.js"))};
const [url, spoolDir, mode, runId, n, retryAfterWait] = process.argv.slice(1);
const store = new RestStore({ baseUrl: url, maxRetries: 2, backoffMs: 20, maxBackoffMs: Number(retryAfterWait || 2000), timeoutMs: 60000 });
if (mode === "deliver") {
  const left = await deliverSpool(store, { spoolDir });
  console.log("LEFT " + JSON.stringify(left));
  await store.close();
} else {
  const logger = new Logger(store, { spoolDir, flushIntervalMs: 50 });
  const run = logger.run(runId);
  for (let step = 0; step < Number(n); step++) {
    run.logMetric("loss", 1 / (step + 1), step, ${T0} + step);
    run.logMetric("acc", step / 1e6, step, ${T0} + step);
  }
  run.logParam("optimizer", "adam");
  run.setTag("phase", "restart-test");
  if (mode === "flush-and-hang") {
    await logger.flush();
    console.log("FLUSHED " + JSON.stringify(logger.pending()));
    setInterval(() => {}, 1000);
  } else if (mode === "exit-now") {
    process.exit(0);
  }
  // mode "forget": the script just ends, without flush or close.
}
`;

let server: LogBatchServer;
let spoolDir: string;
const children: ChildProcess[] = [];

const runChild = (...args: string[]) => run(process.execPath, ["--input-type=module", "-e", CHILD, ...args], { timeout: 60_000 });

/** Starts a child and resolves once it printed a line starting with `marker`. */
const startChild = (marker: string, ...args: string[]) => startScript(CHILD, args, marker, children);

const spoolFiles = () => {
  try {
    return readdirSync(spoolDir).filter((n) => !n.startsWith(".") && n !== "rejected");
  } catch {
    return [];
  }
};

function expectAllOnce(runId: string, n: number): void {
  expect(server.duplicates()).toEqual([]);
  for (const key of ["loss", "acc"])
    for (let step = 0; step < n; step++) expect(server.points.get(`${runId}|${key}|${step}|${T0 + step}`), `${key}@${step}`).toBe(1);
  expect(server.points.size).toBe(2 * n);
  expect(server.params.get(`${runId}|optimizer`)).toBe("adam");
  expect(server.tags.get(`${runId}|phase`)).toBe("restart-test");
}

beforeAll(async () => {
  // These tests run the compiled logger; `npm test` builds first.
  const { existsSync } = await import("node:fs");
  expect(existsSync(join(REPO_ROOT, "dist", "tracking", "logging", "logger.js")), "run `npx tsc -p .` first").toBe(true);
});

beforeEach(async () => {
  server = await new LogBatchServer().start();
  spoolDir = mkdtempSync(join(tmpdir(), "logger-restart-"));
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) await killed(c);
  await server.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe("kill and restart", () => {
  it("a process flushes into the spool while the server is down and is killed; the next process delivers every point once", async () => {
    await server.setMode("refuse");
    const { child, line } = await startChild("FLUSHED", server.url, spoolDir, "flush-and-hang", "run-k", "2500");
    expect(JSON.parse(line.slice("FLUSHED ".length))).toMatchObject({ queued: 0, inFlight: 0, spooled: 5002, offline: true });
    await killed(child);
    expect(spoolFiles().length).toBeGreaterThanOrEqual(6); // 5002 entities in requests of at most 1000

    await server.setMode("ok");
    const next = await runChild(server.url, spoolDir, "deliver");
    expect(next.status, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout.split("LEFT ")[1])).toMatchObject({ queued: 0, inFlight: 0, spooled: 0 });
    expectAllOnce("run-k", 2500);
    expect(spoolFiles()).toEqual([]);

    // A third process finds nothing left to send.
    const third = await runChild(server.url, spoolDir, "deliver");
    expect(third.status).toBe(0);
    expect(server.duplicates()).toEqual([]);
  });

  it("a process killed while delivering a spooled batch leaves it claimed; the next process takes it back", async () => {
    await server.setMode("refuse");
    const first = await startChild("FLUSHED", server.url, spoolDir, "flush-and-hang", "run-c", "400");
    await killed(first.child);
    expect(spoolFiles()).toHaveLength(1);

    // The server answers 503 with a long Retry-After: the second process claims the file
    // and waits inside its retry when it is killed.
    await server.setMode("unavailable");
    server.retryAfterSeconds = 30;
    const second = spawn(process.execPath, ["--input-type=module", "-e", CHILD, server.url, spoolDir, "deliver", "", "", "60000"], {
      stdio: "ignore",
    });
    children.push(second);
    const deadline = Date.now() + 10_000;
    while (!server.statuses.includes(503) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(spoolFiles()[0]).toMatch(new RegExp(`\\.json\\.sending-${second.pid}$`));
    await killed(second);

    await server.setMode("ok");
    const third = await runChild(server.url, spoolDir, "deliver");
    expect(third.status, third.stderr).toBe(0);
    expectAllOnce("run-c", 400);
    expect(spoolFiles()).toEqual([]);
  });

  it("a script that ends without flushing: its points are flushed on beforeExit, spooled while the server is down", async () => {
    await server.setMode("refuse");
    const ended = await runChild(server.url, spoolDir, "forget", "run-f", "1200");
    expect(ended.status, ended.stderr).toBe(0);
    expect(spoolFiles().length).toBeGreaterThan(0);
    await server.setMode("ok");
    expect((await runChild(server.url, spoolDir, "deliver")).status).toBe(0);
    expectAllOnce("run-f", 1200);
  });

  it("a script that ends with process.exit(): what was queued is spooled synchronously on exit", async () => {
    const ended = await runChild(server.url, spoolDir, "exit-now", "run-x", "700");
    expect(ended.status, ended.stderr).toBe(0);
    expect(server.points.size).toBe(0); // nothing could be sent before exit
    expect(spoolFiles().length).toBeGreaterThan(0);
    expect((await runChild(server.url, spoolDir, "deliver")).status).toBe(0);
    expectAllOnce("run-x", 700);
  });
});
