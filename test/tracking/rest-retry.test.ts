// Transient failures are retried through undici's RetryAgent (resets, 5xx, 429, refused
// connections, honouring Retry-After); permanent ones are reported at once with their code.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MlflowError, RestStore, isTransientError } from "../../tracking/index.js";
import { MlflowStandin } from "../support/mlflow-standin.js";

let standin: MlflowStandin;
const stores: RestStore[] = [];
const makeStore = (maxRetries: number, backoffMs = 10) => {
  const s = new RestStore({ baseUrl: standin.url, maxRetries, backoffMs, maxBackoffMs: 5_000 });
  stores.push(s);
  return s;
};
const batch = { metrics: [{ key: "loss", value: 0.5, timestamp: 1700000000000, step: 3 }] };

beforeAll(async () => {
  standin = await MlflowStandin.start();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await standin.close();
});
afterEach(() => standin.reset());

const routeRecorded = () => {
  standin.route("POST", "/api/2.0/mlflow/runs/log-batch", "runs-log-batch");
  standin.route("GET", "/api/2.0/mlflow/runs/get", "runs-get");
};

describe("retries", () => {
  it("retries a POST after connection resets and delivers it once", async () => {
    routeRecorded();
    standin.failNext(2, { kind: "reset" });
    await makeStore(3).logBatch(standin.ids.RUN_A, batch);
    expect(standin.received).toHaveLength(3);
    // Every attempt carried the same body; only the last one was answered.
    for (const r of standin.received) expect(r.json).toEqual({ run_id: standin.ids.RUN_A, ...batch });
  });

  it("retries 500, 502, 503, 504 and 429, then reads the real answer", async () => {
    routeRecorded();
    for (const status of [500, 502, 503, 504, 429]) standin.failNext(1, { kind: "status", status });
    const run = await makeStore(5).getRun(standin.ids.RUN_A);
    expect(run.info.runName).toBe("fx-run-a");
    expect(standin.received).toHaveLength(6);
  });

  it("waits as long as Retry-After says", async () => {
    routeRecorded();
    standin.failNext(1, { kind: "status", status: 503, retryAfter: 1 });
    const started = Date.now();
    await makeStore(2, 1).logBatch(standin.ids.RUN_A, batch);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(standin.received).toHaveLength(2);
  });

  it("gives up after the configured retries with a transient error", async () => {
    routeRecorded();
    standin.failNext(10, { kind: "status", status: 503 });
    const err = await makeStore(2)
      .logBatch(standin.ids.RUN_A, batch)
      .catch((e) => e);
    expect(err).toBeInstanceOf(MlflowError);
    expect(err).toMatchObject({ code: "TEMPORARILY_UNAVAILABLE", httpStatus: 503 });
    expect(isTransientError(err)).toBe(true);
    expect(standin.received).toHaveLength(3);
  });

  it("does not retry client errors", async () => {
    standin.expect("runs-log-batch-change-param");
    const err = await makeStore(5)
      .logBatch(standin.ids.RUN_A, { params: [{ key: "epochs", value: "4" }] })
      .catch((e) => e);
    expect(err).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 });
    expect(isTransientError(err)).toBe(false);
    expect(standin.received).toHaveLength(1);
    expect(standin.mismatches).toEqual([]);
  });
});

describe("an unreachable server", () => {
  it("times out a request that gets no answer, without resending it", async () => {
    routeRecorded();
    standin.failNext(1, { kind: "hang" });
    const store = new RestStore({ baseUrl: standin.url, maxRetries: 3, backoffMs: 10, timeoutMs: 300 });
    stores.push(store);
    const err = await store.logBatch(standin.ids.RUN_A, batch).catch((e) => e);
    expect(err).toMatchObject({ code: "TEMPORARILY_UNAVAILABLE" });
    expect(err.message).toContain("UND_ERR_HEADERS_TIMEOUT");
    // The server may have applied the write: a timed-out request is not sent again.
    expect(standin.received).toHaveLength(1);
  });

  it("fails with TEMPORARILY_UNAVAILABLE naming the URL when connections are refused", async () => {
    const store = makeStore(1);
    await standin.refuse();
    try {
      const err = await store.logBatch(standin.ids.RUN_A, batch).catch((e) => e);
      expect(err).toBeInstanceOf(MlflowError);
      expect(err.code).toBe("TEMPORARILY_UNAVAILABLE");
      expect(err.message).toContain(`${standin.url}/api/2.0/mlflow/runs/log-batch`);
      expect(err.message).toContain("ECONNREFUSED");
      expect(isTransientError(err)).toBe(true);
    } finally {
      await standin.accept();
    }
  });

  it("gets through when the server comes back during the retries", async () => {
    routeRecorded();
    const store = makeStore(6, 100);
    await standin.refuse();
    const pending = store.logBatch(standin.ids.RUN_A, batch);
    await new Promise((r) => setTimeout(r, 250));
    await standin.accept();
    await pending;
    expect(standin.received).toHaveLength(1);
    expect(standin.received[0].json).toEqual({ run_id: standin.ids.RUN_A, ...batch });
  });
});
