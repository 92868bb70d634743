// Waiting and giving up: artifact names a server can never take are refused before anything is
// sent, naming the value and the rule; an awaited upload returns within its timeout (the bytes
// spooled, the request going on, the spooled copy dropped if it still gets through); a spooled
// upload answered with errors is tried MAX_ARTIFACT_ATTEMPTS times across deliveries, then
// parked with its reason, and never blocks the uploads behind it; `invokeServingEndpoint` to a
// dead URL fails within seconds naming the endpoint, retries a 503 and never a 500.

import fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  ArtifactSpool,
  MAX_ARTIFACT_NAME_BYTES,
  MAX_DELIVERY_ATTEMPTS,
  MlflowError,
  Spool,
  deliverSpool,
  invokeServingEndpoint,
  validateArtifactPath,
  type Batch,
  type TrackingStore,
} from "../../tracking/index.js";
import { MAX_ARTIFACT_ATTEMPTS } from "../../tracking/logging/artifact-spool.js";
import { ActiveRun } from "../../magics/active-run.js";
import { Redactor } from "../../magics/redact.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) rmTempDir(d);
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const errorOf = async (f: () => unknown): Promise<any> => {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
};

/** A store whose logArtifact does what `answer` says for each call. */
const storeWith = (answer: (path: string, n: number) => Promise<void>) => {
  const calls: string[] = [];
  const store = {
    uri: "http://example.invalid",
    logArtifact: (_run: string, p: string) => {
      calls.push(p);
      return answer(p, calls.length);
    },
  };
  return { store: store as unknown as TrackingStore, calls };
};

describe("artifact paths", () => {
  it("refuses what no server can store, naming the value and the rule, and accepts ordinary paths", () => {
    const long = "a".repeat(300) + ".txt";
    expect(() => validateArtifactPath(long)).toThrow(new RegExp(`304 bytes, at most ${MAX_ARTIFACT_NAME_BYTES}`));
    expect(() => validateArtifactPath("notes/a\u0000b.txt")).toThrow(/control character U\+0000/);
    expect(() => validateArtifactPath("/etc/passwd")).toThrow(/must be relative/);
    expect(() => validateArtifactPath("a/../b")).toThrow(/'\.', '\.\.' and empty segments/);
    expect(() => validateArtifactPath("a\\b")).toThrow(/must be relative/);
    expect(() => validateArtifactPath("")).toThrow(/non-empty string/);
    expect(() => validateArtifactPath("é".repeat(128))).toThrow(/256 bytes/);
    for (const ok of ["a.txt", "plots/loss curve.png", "é".repeat(127), "a".repeat(255), "x/y/z.json"])
      expect(() => validateArtifactPath(ok)).not.toThrow();
  });

  it("an awaited logText with a bad name throws at the call; nothing is sent", async () => {
    const { store, calls } = storeWith(async () => undefined);
    const work = makeTempDir("giving-up-active");
    dirs.push(work);
    const run = activeRun(store, new ArtifactSpool(work, store.uri), []);
    await expect(async () => run.logText("hi", "b".repeat(300))).rejects.toThrow(/Invalid artifact path "b{77}\.\.\.": the segment/);
    expect(calls).toEqual([]);
  });
});

function activeRun(store: TrackingStore, artifacts: ArtifactSpool, warnings: string[]): ActiveRun {
  const sink = {
    logMetric: () => true,
    logParam: () => undefined,
    setTag: () => undefined,
    logBatch: () => undefined,
    flush: async () => undefined,
    terminate: async () => "acknowledged" as const,
    pending: () => ({ queued: 0, inFlight: 0, spooled: 0 }),
  };
  return new ActiveRun(
    { runId: "r1", experimentId: "0", runName: "r", artifactUri: "" },
    { store, sink, artifacts, redactor: new Redactor({}), warn: (m) => warnings.push(m) },
    true,
  );
}

describe("uploads that get no answer", () => {
  it("an awaited logText returns within the upload timeout; the bytes wait in the spool, and go when the request gets through after all", async () => {
    let finish!: () => void;
    const late = new Promise<void>((r) => (finish = r));
    const { store } = storeWith(() => late);
    const work = makeTempDir("giving-up-timeout");
    dirs.push(work);
    const spool = new ArtifactSpool(work, store.uri);
    spool.uploadTimeoutMs = 300;
    const warnings: string[] = [];
    const t0 = Date.now();
    await activeRun(store, spool, warnings).logText("hello", "notes/hello.txt");
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(warnings.join("\n")).toMatch(/notes\/hello\.txt of run r1 waits in the spool/);
    expect(await spool.list()).toHaveLength(1);
    finish();
    await late;
    for (let i = 0; i < 50 && (await spool.list()).length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await spool.list()).toEqual([]);
  });

  it(`a spooled upload answered with 500 is tried ${MAX_ARTIFACT_ATTEMPTS} times, then parked with its reason; the others go past it`, async () => {
    const work = makeTempDir("giving-up-park");
    dirs.push(work);
    const spool = new ArtifactSpool(work, "http://example.invalid");
    await spool.write("r1", "bad.txt", "x");
    await spool.write("r1", "good-1.txt", "y");
    await spool.write("r1", "good-2.txt", "z");
    const { store, calls } = storeWith(async (p) => {
      if (p === "bad.txt") throw new MlflowError("INTERNAL_ERROR", "Errno 36: File name too long", 500);
    });
    const first = await spool.deliver(store);
    expect(first).toMatchObject({ delivered: 2, left: 1, rejected: 0 });
    expect(calls).toEqual(["bad.txt", "good-1.txt", "good-2.txt"]);
    for (let i = 2; i < MAX_ARTIFACT_ATTEMPTS; i++)
      expect(await spool.deliver(store)).toMatchObject({ delivered: 0, left: 1, rejected: 0 });
    expect(await spool.deliver(store)).toMatchObject({ delivered: 0, left: 0, rejected: 1 });
    expect(await spool.list()).toEqual([]);
    const parked = await spool.parked();
    expect(parked).toHaveLength(1);
    expect(parked[0]!.reason).toMatch(new RegExp(`gave up after ${MAX_ARTIFACT_ATTEMPTS} attempts.*File name too long`));
    expect(fs.readdirSync(path.join(work, "artifacts", "rejected")).sort()).toEqual([
      `${parked[0]!.name}.bin`,
      `${parked[0]!.name}.json`,
      `${parked[0]!.name}.reason.txt`,
    ]);
  });

  it("an unreachable store stops the round without counting attempts", async () => {
    const work = makeTempDir("giving-up-down");
    dirs.push(work);
    const spool = new ArtifactSpool(work, "http://example.invalid");
    await spool.write("r1", "a.txt", "x");
    await spool.write("r1", "b.txt", "y");
    const { store, calls } = storeWith(async () => {
      throw new MlflowError("TEMPORARILY_UNAVAILABLE", "Could not reach the MLflow server");
    });
    for (let i = 0; i < MAX_ARTIFACT_ATTEMPTS + 1; i++)
      expect(await spool.deliver(store)).toMatchObject({ delivered: 0, left: 2, rejected: 0 });
    expect(calls).toHaveLength(MAX_ARTIFACT_ATTEMPTS + 1);
    expect(await spool.parked()).toEqual([]);
  });
});

describe("spooled requests answered with errors", () => {
  it(`a batch the server answers with 500 every time is parked after ${MAX_DELIVERY_ATTEMPTS} deliveries, with its reason; the rest are delivered`, async () => {
    const work = makeTempDir("giving-up-batch");
    dirs.push(work);
    const uri = "http://example.invalid";
    const spool = new Spool(work, uri);
    await spool.write("r1", { metrics: [{ key: "poison", value: 1, timestamp: 1, step: 0 }] });
    for (let i = 0; i < 3; i++) await spool.write("r1", { metrics: [{ key: "good", value: i, timestamp: 1, step: i }] });
    const taken: string[] = [];
    const store = {
      uri,
      logBatch: async (_run: string, b: Batch) => {
        if (b.metrics?.[0]?.key === "poison") throw new MlflowError("INTERNAL_ERROR", "Internal Server Error: database is locked", 500);
        taken.push(`${b.metrics![0]!.key}@${b.metrics![0]!.step}`);
      },
      close: async () => undefined,
    } as unknown as TrackingStore;
    // Each try is counted in the file itself, so the count survives from one process to the next.
    let left;
    let rounds = 0;
    do left = await deliverSpool(store, { spoolDir: work, probeIntervalMs: 60_000 });
    while ((await spool.parked()).length === 0 && ++rounds < MAX_DELIVERY_ATTEMPTS);
    expect(left).toMatchObject({ queued: 0, inFlight: 0, spooled: 0 });
    expect(taken.sort()).toEqual(["good@0", "good@1", "good@2"]);
    const parked = await spool.parked();
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ runId: "r1" });
    expect(parked[0]!.reason).toMatch(new RegExp(`gave up after ${MAX_DELIVERY_ATTEMPTS} attempts.*database is locked`));
  });
});

async function serve(answers: number[]): Promise<{ url: string; hits: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    const status = answers[Math.min(n++, answers.length - 1)]!;
    res.writeHead(status, { "Content-Type": "application/json", ...(status === 503 ? { "Retry-After": "0" } : {}) });
    res.end(status === 200 ? `{"predictions": [1]}` : `{"error_code": "X", "message": "status ${status}"}`);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => n };
}

describe("mlflow.predict's endpoint call", () => {
  it("a refused connection fails within seconds, naming the endpoint", async () => {
    const { url } = await serve([200]);
    await new Promise((r) => servers.pop()!.close(r)); // nothing listens there now
    const t0 = Date.now();
    const e = await errorOf(() => invokeServingEndpoint(url, [{ x: 1 }], { env: {} }));
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(e).toMatchObject({ code: "ENDPOINT_UNREACHABLE" });
    expect(e.message).toContain(`${url}/invocations`);
    expect(e.message).toMatch(/connection refused/);
  });

  it("retries a 503 (a model still loading), never a 500 (the model's own error)", async () => {
    const busy = await serve([503, 503, 200]);
    expect(await invokeServingEndpoint(busy.url, [{ x: 1 }], { env: {} })).toEqual({ predictions: [1] });
    expect(busy.hits()).toBe(3);
    const broken = await serve([500]);
    expect((await errorOf(() => invokeServingEndpoint(broken.url, [{ x: 1 }], { env: {} }))).httpStatus).toBe(500);
    expect(broken.hits()).toBe(1);
  });
});
