// Closing the session's tracking while work is in flight (magics/open-tracking.ts): every
// close call waits for the same one close, the store is closed only after the pending flush
// and the delivery of spooled artifacts are done, and a store that never answers still lets
// close return within the flush timeout with everything in the spool.
//
// The first two use a real file store behind a gate: its logBatch and logArtifact wait until the
// test opens the gate, so "a request is pending" is a state the test holds, not a timing.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { trackingFromStore } from "../../magics/open-tracking.js";
import { ArtifactSpool, FileStore, Logger, RestStore, type TrackingStore } from "../../tracking/index.js";
import { LogBatchServer } from "../tracking/logger-server.js";

const T0 = 1_700_000_000_000;
let dir: string;
let files: FileStore;
let spoolDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "open-tracking-"));
  files = new FileStore(join(dir, "mlruns"));
  spoolDir = join(dir, "spool");
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** The file store with logBatch and logArtifact held at a gate; every step is recorded in `events`. */
function gatedStore() {
  const events: string[] = [];
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let held!: () => void;
  const reached = new Promise<void>((resolve) => (held = resolve));
  const gate =
    (name: "logBatch" | "logArtifact") =>
    async (...args: unknown[]) => {
      events.push(`${name} sent`);
      held();
      await opened;
      await (files[name] as (...a: unknown[]) => Promise<void>).apply(files, args);
      events.push(`${name} answered`);
    };
  const store = new Proxy(files, {
    get(target, prop, receiver) {
      if (prop === "logBatch" || prop === "logArtifact") return gate(prop);
      if (prop === "close") return async () => void events.push("store.close");
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as TrackingStore;
  return { store, events, open, reached };
}

/** Batch files in the spool, also those claimed by a request still out (`.sending-<pid>`). */
const spooledBatches = () => {
  try {
    return readdirSync(spoolDir).filter((n) => /^[^.].*\.json(\.sending-\d+)?$/.test(n));
  } catch {
    return [];
  }
};
const options = (flushTimeoutMs: number) => ({ spoolDir, flushTimeoutMs, exitHooks: false, journal: false });
/** One turn of the event loop: whatever the closes can do without the store has happened. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("closing the session's tracking", () => {
  it("close() twice while a flush is pending: one close, the store closed after the batch is delivered", async () => {
    const { store, events, open, reached } = gatedStore();
    const run = await files.createRun({ experimentId: "0", runName: "closing" });
    const tracking = trackingFromStore(store, () => undefined, options(30_000));
    const sink = tracking.sink(run.info.runId);
    for (let step = 0; step < 100; step++) sink.logMetric("loss", 1 / (step + 1), step, T0 + step);
    const flushing = sink.flush();
    await reached; // the batch is at the store, unanswered

    const first = tracking.close();
    const second = tracking.close();
    void first.then(() => events.push("close 1 resolved"));
    void second.then(() => events.push("close 2 resolved"));
    await settle();
    open();
    await Promise.all([flushing, first, second]);

    expect(events).toEqual(["logBatch sent", "logBatch answered", "store.close", "close 1 resolved", "close 2 resolved"]);
    expect(await files.getMetricHistory(run.info.runId, "loss")).toHaveLength(100);
    expect(spooledBatches()).toEqual([]);
    await tracking.close(); // a later call finds it closed
    expect(events.filter((e) => e === "store.close")).toHaveLength(1);
  });

  it("close() while spooled artifacts are being delivered: the upload finishes before the store closes", async () => {
    const { store, events, open, reached } = gatedStore();
    const run = await files.createRun({ experimentId: "0", runName: "artifacts" });
    // An upload an earlier process could not make.
    await new ArtifactSpool(spoolDir, files.uri).write(run.info.runId, "model/weights.bin", "weights");
    const tracking = trackingFromStore(store, () => undefined, options(30_000));
    await reached; // its delivery is at the store

    const loggerClose = vi.spyOn(Logger.prototype, "close");
    const closed = tracking.close().then(() => events.push("closed"));
    // The logger has nothing to send: its close finishes while the upload is still held.
    await loggerClose.mock.results[0]!.value;
    await settle();
    open();
    await closed;

    expect(events).toEqual(["logArtifact sent", "logArtifact answered", "store.close", "closed"]);
    expect(Buffer.from(await files.downloadArtifact(run.info.runId, "model/weights.bin")).toString()).toBe("weights");
    expect(await tracking.artifacts!.list()).toEqual([]);
  });

  it("a server that does not answer: close returns within the flush timeout, the batch waits in the spool", async () => {
    const server = await new LogBatchServer().start();
    server.delays.push(30_000); // the first log-batch is held that long
    const store = new RestStore({ baseUrl: server.url, maxRetries: 0, timeoutMs: 60_000 });
    try {
      const tracking = trackingFromStore(store, () => undefined, options(300));
      tracking.sink("run-stuck").logMetric("loss", 0.5, 0, T0);
      const started = Date.now();
      await tracking.close();
      // The flush's wait, then at most as long for the store's close (its request is still out).
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(server.arrivals).toHaveLength(1);
      const spooled = spooledBatches();
      expect(spooled).toHaveLength(1);
      expect(readFileSync(join(spoolDir, spooled[0]!), "utf8")).toContain('"loss"');
    } finally {
      await server.close();
    }
  });
});
