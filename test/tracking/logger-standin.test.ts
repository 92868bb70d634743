// The fault test on the shared MLflow stand-in (test/support/mlflow-standin.ts): log-batch
// answered with the recorded exchange 034, connections refused, then 503 with Retry-After,
// then recovery. Points are counted as the stand-in accepted them.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { Logger } from "../../tracking/logging/logger.js";
import { RestStore } from "../../tracking/rest/store.js";
import { MlflowStandin } from "../support/mlflow-standin.js";

const T0 = 1700000000000;
let standin: MlflowStandin;
let store: RestStore;
let spoolDir: string;
let logger: Logger;
const accepted = new Map<string, number>();

beforeEach(async () => {
  accepted.clear();
  standin = await MlflowStandin.start();
  standin.route("POST", "/api/2.0/mlflow/runs/log-batch", (req) => {
    const body = req.json as { run_id: string; metrics?: { key: string; step?: number; timestamp: number }[] };
    for (const m of body.metrics ?? []) {
      const id = `${body.run_id}|${m.key}|${m.step ?? 0}|${m.timestamp}`;
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
    }
    return 34; // 200 `{}`, as recorded
  });
  store = new RestStore({ baseUrl: standin.url, maxRetries: 2, backoffMs: 20, maxBackoffMs: 2_000 });
  spoolDir = mkdtempSync(join(tmpdir(), "logger-standin-"));
  logger = Logger.create(store, { spoolDir, flushIntervalMs: 50, probeIntervalMs: 60_000, exitHooks: false });
});

afterEach(async () => {
  await logger.close();
  await store.close();
  await standin.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${condition}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it("refused, then 503 with Retry-After, then recovered: every point reaches the stand-in exactly once", async () => {
  const run = logger.run(standin.ids.RUN_A);
  let step = 0;
  const log = (n: number) => {
    for (const end = step + n; step < end; step++) run.logMetrics({ loss: 1 / (step + 1), acc: step / 1e4 }, step, T0 + step);
  };

  log(600);
  await logger.flush();
  expect(accepted.size).toBe(1200);

  await standin.refuse();
  log(1500);
  await logger.flush();
  expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 3000, offline: true });
  expect(readdirSync(spoolDir).filter((n) => n.endsWith(".json")).length).toBe(3);

  // Back, but answering 503 with Retry-After twice: the store's RetryAgent waits it out and
  // the probe's third try is accepted; the rest of the spool follows.
  await standin.accept();
  standin.failNext(2, { kind: "status", status: 503, retryAfter: 1 });
  const sentBefore = standin.received.length;
  log(400);
  await logger.flush();
  await until(() => logger.pending().spooled === 0 && logger.pending().inFlight === 0);
  expect(standin.received.length - sentBefore).toBe(2 + 4); // two 503s, then the 4 spooled batches
  expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0, offline: false });
  expect(logger.errors().every((f) => f.disposition === "spooled")).toBe(true);

  expect([...accepted.values()].every((n) => n === 1)).toBe(true);
  expect(accepted.size).toBe(2 * 2500);
  for (let s = 0; s < 2500; s++)
    for (const key of ["loss", "acc"]) expect(accepted.get(`${standin.ids.RUN_A}|${key}|${s}|${T0 + s}`), `${key}@${s}`).toBe(1);
  expect(standin.mismatches).toEqual([]);
  expect(standin.unexpected).toEqual([]);
});
