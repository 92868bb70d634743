// Replays all 123 exchanges recorded from a real MLflow 2.22 server: for each one our client
// makes the call, the stand-in checks the request against the recorded one and answers with
// the recorded response, and we check what our client made of it. Requests our client
// refuses locally (bad keys, over-limit values) are checked for that, then sent raw to show
// that the server's error is parsed right too. Then MLflow 3.4's recordings of the calls
// whose answers changed: get-history's pages (3.4 pages it, 2.22 does not), search with
// max_results sent, and an endpoint the server lacks.

import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MlflowClient,
  MlflowError,
  RestStore,
  modelVersionFor,
  parseModelUri,
  type HttpRequest,
  type Metric,
} from "../../tracking/index.js";
import { MlflowStandin, exchange, exchange34, loadExchanges } from "../support/mlflow-standin.js";

let standin: MlflowStandin;
let store: RestStore;
let client: MlflowClient;
let tmp: string;
let id: Record<string, string>;
const covered = new Set<number>();

beforeAll(async () => {
  standin = await MlflowStandin.start();
  id = standin.ids;
  // Retries on, but fast: a non-transient error must still arrive as one request.
  store = new RestStore({ baseUrl: standin.url, maxRetries: 2, backoffMs: 5, maxBackoffMs: 20 });
  client = new MlflowClient(store);
  tmp = await mkdtemp(join(tmpdir(), "rest-replay-"));
});
afterAll(async () => {
  await client?.close();
  await standin?.close();
  await rm(tmp, { recursive: true, force: true });
});

const ts = (n: number) => standin.substitute(`<TS_${n}>`) as unknown as number;
const recorded = (no: number) => standin.substitute(exchange(no).response.body) as any;

/** Runs `fn` with exactly these exchanges expected, in order, and checks every request matched. */
async function replay<T>(nos: number | number[], fn: () => Promise<T>): Promise<T> {
  const list = Array.isArray(nos) ? nos : [nos];
  standin.reset();
  standin.expect(...list);
  const out = await fn();
  expect(standin.mismatches).toEqual([]);
  expect(standin.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  expect(standin.pending.map((e) => e.file)).toEqual([]);
  list.forEach((n) => covered.add(n));
  return out;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );

/** The call fails with the recorded error_code, status and message. */
async function replayError(no: number, fn: () => Promise<unknown>): Promise<MlflowError> {
  const err = await replay(no, () => failure(fn()));
  const rec = exchange(no).response;
  expect(err).toBeInstanceOf(MlflowError);
  const e = err as MlflowError;
  expect(e.httpStatus).toBe(rec.status);
  const body = rec.body as { error_code?: string; message?: string };
  if (typeof body === "object") {
    expect(e.code).toBe(body.error_code);
    expect(e.message).toBe(standin.substituteText(body.message!));
  }
  return e;
}

/** The client refuses before sending anything. */
async function refusedLocally(fn: () => Promise<unknown>, mentions: string | RegExp): Promise<void> {
  standin.reset();
  const err = await failure(fn());
  expect(err).toBeInstanceOf(MlflowError);
  expect((err as MlflowError).code).toBe("INVALID_PARAMETER_VALUE");
  expect((err as MlflowError).message).toMatch(mentions);
  expect(standin.received).toHaveLength(0);
}

/** Sends the recorded request byte for byte through our transport. */
function rawRequest(no: number): HttpRequest {
  const r = standin.requestOf(exchange(no));
  const body =
    r.body === undefined
      ? undefined
      : r.body_encoding === "base64"
        ? Buffer.from(String(r.body), "base64")
        : typeof r.body === "string"
          ? r.body
          : JSON.stringify(r.body);
  return { method: r.method as HttpRequest["method"], path: r.url ?? r.path, body, headers: r.headers ?? {}, retry: "none" };
}
const sendRaw = (no: number) => replay(no, () => store.http.send(rawRequest(no)));
const jsonRaw = (no: number) => store.http.json(rawRequest(no));

const metricsOf = (no: number): Metric[] =>
  (standin.requestOf(exchange(no)).body as { metrics: any[] }).metrics.map((m) => ({
    key: m.key,
    value: m.value,
    timestamp: m.timestamp,
    step: m.step ?? 0,
  }));
const bodyOf = (no: number) => standin.requestOf(exchange(no)).body as any;

describe("experiments (001-014)", () => {
  it("creates, finds and fails like the server", async () => {
    expect(await replay(1, () => client.createExperiment("fx-exp", { tags: { team: "ts", purpose: "fixtures" } }))).toBe("1");
    await replayError(2, () => client.createExperiment("fx-exp"));
    const fxExp = {
      experimentId: "1",
      name: "fx-exp",
      artifactLocation: "mlflow-artifacts:/1",
      lifecycleStage: "active",
      creationTime: ts(2),
      lastUpdateTime: ts(2),
      tags: [
        { key: "team", value: "ts" },
        { key: "purpose", value: "fixtures" },
      ],
    };
    expect(await replay(3, () => client.getExperiment("1"))).toEqual(fxExp);
    await replayError(4, () => client.getExperiment("999"));
    expect(await replay(5, () => client.getExperimentByName("fx-exp"))).toEqual(fxExp);
    expect(await replay(6, () => client.getExperimentByName("no-such-exp"))).toBeUndefined();
    expect(await replay(7, () => client.createExperiment("fx-other"))).toBe("2");
    expect(await replay(8, () => client.createExperiment("fx-limits"))).toBe("3");
  });

  it("searches with filter, order_by and pages, always sending max_results", async () => {
    const page = await replay(9, () => client.searchExperiments({ filter: "name LIKE 'fx-%'", orderBy: ["name ASC"], maxResults: 10 }));
    expect(page.items.map((e) => e.name)).toEqual(["fx-exp", "fx-limits", "fx-other"]);
    expect(page.items[1]).toEqual({
      experimentId: "3",
      name: "fx-limits",
      artifactLocation: "mlflow-artifacts:/3",
      lifecycleStage: "active",
      creationTime: ts(3),
      lastUpdateTime: ts(3),
      tags: [],
    });
    expect(page.nextPageToken).toBeUndefined();
    const tagged = await replay(10, () => client.searchExperiments({ filter: "tags.team = 'ts'", maxResults: 100 }));
    expect(tagged.items.map((e) => e.experimentId)).toEqual(["1"]);

    // Without max_results the server refuses (011); our client always sends one.
    standin.reset();
    standin.route("POST", "/api/2.0/mlflow/experiments/search", 10);
    await client.searchExperiments({ filter: "tags.team = 'ts'" });
    expect(standin.received[0].json).toEqual({ filter: "tags.team = 'ts'", max_results: 1000 });
    const err = await replay(11, () => failure(jsonRaw(11)));
    expect(err).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 });

    const p1 = await replay(12, () => client.searchExperiments({ maxResults: 2, orderBy: ["experiment_id ASC"] }));
    expect(p1.items.map((e) => e.experimentId)).toEqual(["0", "1"]);
    expect(p1.nextPageToken).toBe("eyJvZmZzZXQiOiAyfQ==");
    const p2 = await replay(13, () =>
      client.searchExperiments({ maxResults: 2, orderBy: ["experiment_id ASC"], pageToken: p1.nextPageToken }),
    );
    expect(p2.items.map((e) => e.experimentId)).toEqual(["2", "3"]);
    expect(p2.nextPageToken).toBeUndefined();
    const all = await replay([12, 13], async () => {
      const names: string[] = [];
      for await (const e of client.iterateExperiments({ maxResults: 2, orderBy: ["experiment_id ASC"] })) names.push(e.name);
      return names;
    });
    expect(all).toEqual(["Default", "fx-exp", "fx-other", "fx-limits"]);

    // The GET form of search (014), through the transport with MLflow's %20 query encoding.
    const viaGet = await replay(14, () =>
      store.http.json<any>({
        method: "GET",
        path: "/api/2.0/mlflow/experiments/search",
        query: { max_results: "5", filter: "name = 'fx-other'" },
      }),
    );
    expect(viaGet.experiments.map((e: any) => e.name)).toEqual(["fx-other"]);
  });
});

describe("runs (015-039)", () => {
  it("creates runs, named, unnamed and in an unknown experiment", async () => {
    const a = await replay(15, () =>
      client.createRun("1", { runName: "fx-run-a", tags: { owner: "alice", stage: "dev" }, startTime: 1700000001000 }),
    );
    expect(a).toEqual({
      info: {
        runId: id.RUN_A,
        experimentId: "1",
        runName: "fx-run-a",
        userId: "",
        status: "RUNNING",
        startTime: 1700000001000,
        artifactUri: `mlflow-artifacts:/1/${id.RUN_A}/artifacts`,
        lifecycleStage: "active",
      },
      data: {
        metrics: [],
        params: [],
        tags: [
          { key: "owner", value: "alice" },
          { key: "stage", value: "dev" },
          { key: "mlflow.runName", value: "fx-run-a" },
        ],
      },
    });
    const b = await replay(16, () => client.createRun("1", { startTime: 1700000002000 }));
    expect(b.info.runName).toBe("gentle-owl-417");
    expect(b.data.tags).toEqual([{ key: "mlflow.runName", value: "gentle-owl-417" }]);
    const c = await replay(17, () => client.createRun("1", { runName: "fx-run-c", startTime: 1700000003000, userId: "bob" }));
    expect(c.info).toMatchObject({ runId: id.RUN_C, userId: "bob" });
    expect((await replay(18, () => client.createRun("1", { runName: "fx-run-d", startTime: 1700000004000 }))).info.runId).toBe(id.RUN_D);
    await replayError(19, () => client.createRun("999", { startTime: 1700000000000 }));
    const got = await replay(20, () => client.getRun(id.RUN_A));
    expect(got.info).not.toHaveProperty("endTime");
    expect(got.info.status).toBe("RUNNING");
    await replayError(21, () => client.getRun("0123456789abcdef0123456789abcdef"));
  });

  it("logs single metrics, params and tags through their endpoints", async () => {
    await replay(22, () => client.logMetric(id.RUN_A, "acc", 0.5, { timestamp: 1700000001100, step: 0 }));
    await replay(23, () => client.logMetric(id.RUN_A, "nan_metric", NaN, { timestamp: 1700000001101 }));
    expect(standin.received[0].body.toString()).toContain('"value":"NaN"');
    // A numeric string, a word, a missing value and null are refused before sending...
    await refusedLocally(() => client.logMetric(id.RUN_A, "str_metric", "0.25" as unknown as number), /"0\.25".*must be a number/);
    await refusedLocally(() => client.logMetric(id.RUN_A, "acc", "abc" as unknown as number), /"abc"/);
    await refusedLocally(() => client.logMetric(id.RUN_A, "acc", undefined as unknown as number), /must be a number/);
    await refusedLocally(() => client.logMetric(id.RUN_A, "acc", null as unknown as number), /must be a number/);
    // ...and what the server makes of them is parsed right.
    expect(JSON.parse((await sendRaw(24)).body.toString())).toEqual({});
    for (const no of [25, 26, 27]) {
      const e = await replay(no, () => failure(jsonRaw(no)));
      expect(e).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400, message: standin.substituteText(recorded(no).message) });
    }
    await replay(28, () => client.logParam(id.RUN_A, "lr", 0.01));
    await replay(29, () => client.logParam(id.RUN_A, "lr", "0.01"));
    await replayError(30, () => client.logParam(id.RUN_A, "lr", "0.02"));
    await replay(31, () => client.setTag(id.RUN_A, "temp", "to-be-deleted"));
    await replay(32, () => client.deleteTag(id.RUN_A, "temp"));
    await replayError(33, () => client.deleteTag(id.RUN_A, "temp"));
  });

  it("logs batches with non-finite values as MLflow's strings", async () => {
    await replay(34, () =>
      client.logBatch(id.RUN_A, {
        metrics: [
          { key: "acc", value: 0.7, timestamp: 1700000001200, step: 1 },
          { key: "acc", value: 0.9, timestamp: 1700000001300, step: 2 },
          { key: "train/loss", value: 1.5, timestamp: 1700000001100, step: 0 },
          { key: "train/loss", value: 0.75, timestamp: 1700000001200, step: 1 },
          { key: "nan_metric", value: NaN, timestamp: 1700000001200, step: 1 },
          { key: "inf_metric", value: Infinity, timestamp: 1700000001200, step: 0 },
          { key: "neg_inf_metric", value: -Infinity, timestamp: 1700000001200, step: 0 },
        ],
        params: [
          { key: "epochs", value: "3" },
          { key: "optimizer", value: "adam" },
        ],
        tags: [
          { key: "stage", value: "train" },
          { key: "mlflow.note.content", value: "batch note" },
        ],
      }),
    );
    await replay(35, () => client.logBatch(id.RUN_A, {}));
    await replayError(36, () => client.logBatch(id.RUN_A, { params: [{ key: "epochs", value: "4" }] }));
    await refusedLocally(() => client.logBatch(id.RUN_A, { metrics: [{ key: "acc", value: 1, step: 0 } as Metric] }), /timestamp/);
    await replay(37, async () => expect(await failure(jsonRaw(37))).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 }));

    const run = await replay(38, () => client.getRun(id.RUN_A));
    const byKey = Object.fromEntries(run.data.metrics.map((m) => [m.key, m]));
    expect(byKey.acc).toEqual({ key: "acc", value: 0.9, timestamp: 1700000001300, step: 2 });
    expect(byKey.nan_metric.value).toBeNaN();
    expect(byKey.str_metric.value).toBe(0.25);
    // The SQL store clamps ±Infinity to the largest double; we report what it stored.
    expect(byKey.inf_metric.value).toBe(1.7976931348623157e308);
    expect(byKey.neg_inf_metric.value).toBe(-1.7976931348623157e308);
    expect(byKey["train/loss"]).toEqual({ key: "train/loss", value: 0.75, timestamp: 1700000001200, step: 1 });
    expect(run.data.params).toEqual([
      { key: "lr", value: "0.01" },
      { key: "epochs", value: "3" },
      { key: "optimizer", value: "adam" },
    ]);
    expect(run.data.tags.map((t) => t.key)).toEqual(["owner", "stage", "mlflow.runName", "mlflow.note.content"]);
    expect((await replay(39, () => client.createRun("3", { runName: "limits", startTime: 1700000009000 }))).info.runId).toBe(id.RUN_LIMITS);
  });
});

describe("limits (040-058)", () => {
  it("sends batches at the limits and splits larger ones", async () => {
    await replay(40, () => client.logBatch(id.RUN_LIMITS, { metrics: metricsOf(40) }));
    await replay(42, () => client.logBatch(id.RUN_LIMITS, { params: bodyOf(42).params }));
    await replay(46, () => client.logBatch(id.RUN_LIMITS, { metrics: metricsOf(46) }));
    await replay(50, () => client.logParam(id.RUN_LIMITS, "v6000", bodyOf(50).value));

    // Over the per-request limits, the store sends what it is given and the server refuses it...
    await replayError(41, () => store.logBatch(id.RUN_LIMITS, { metrics: metricsOf(41) }));
    await replayError(43, () => store.logBatch(id.RUN_LIMITS, { params: bodyOf(43).params }));
    await replayError(44, () => store.logBatch(id.RUN_LIMITS, { tags: bodyOf(44).tags }));
    await replayError(45, () => store.logBatch(id.RUN_LIMITS, { metrics: metricsOf(45), params: bodyOf(45).params }));
    // ...while the client splits the same data into requests the server accepts.
    const sizes = async (batch: Parameters<MlflowClient["logBatch"]>[1]) => {
      standin.reset();
      standin.route("POST", "/api/2.0/mlflow/runs/log-batch", 40);
      await client.logBatch(id.RUN_LIMITS, batch);
      expect(standin.unexpected).toEqual([]);
      return standin.received.map((r) => {
        const b = r.json as any;
        return [b.metrics?.length ?? 0, b.params?.length ?? 0, b.tags?.length ?? 0];
      });
    };
    expect(await sizes({ metrics: metricsOf(41) })).toEqual([
      [1000, 0, 0],
      [1, 0, 0],
    ]);
    expect(await sizes({ params: bodyOf(43).params })).toEqual([
      [0, 100, 0],
      [0, 1, 0],
    ]);
    expect(await sizes({ tags: bodyOf(44).tags })).toEqual([
      [0, 0, 100],
      [0, 0, 1],
    ]);
    expect(await sizes({ metrics: metricsOf(45), params: bodyOf(45).params })).toEqual([
      [949, 51, 0],
      [1, 0, 0],
    ]);
  });

  it("refuses bad keys and over-long values at the call; the server's answers parse", async () => {
    await refusedLocally(() => client.logBatch(id.RUN_LIMITS, { metrics: metricsOf(47) }), /251 characters, at most 250/);
    await replayError(47, () => store.logBatch(id.RUN_LIMITS, { metrics: metricsOf(47) }));
    await refusedLocally(() => client.logBatch(id.RUN_LIMITS, { params: bodyOf(48).params }), /param key.*251 characters/);
    await replayError(48, () => store.logBatch(id.RUN_LIMITS, { params: bodyOf(48).params }));
    await refusedLocally(() => client.setTag(id.RUN_LIMITS, bodyOf(49).key, "x"), /tag key.*251 characters/);
    await replayError(49, () => store.setTag(id.RUN_LIMITS, { key: bodyOf(49).key, value: "x" }));
    // The server silently cuts these to 6000/8000 characters; we refuse them instead.
    await refusedLocally(() => client.logParam(id.RUN_LIMITS, "v6001", bodyOf(51).value), /6001 characters, at most 6000/);
    await replay(51, () => store.logParam(id.RUN_LIMITS, { key: "v6001", value: bodyOf(51).value }));
    await refusedLocally(() => client.logBatch(id.RUN_LIMITS, { params: bodyOf(52).params }), /6001 characters/);
    await replay(52, () => store.logBatch(id.RUN_LIMITS, { params: bodyOf(52).params }));
    await refusedLocally(() => client.setTag(id.RUN_LIMITS, "long_tag", bodyOf(53).value), /8001 characters, at most 8000/);
    await replay(53, () => store.setTag(id.RUN_LIMITS, { key: "long_tag", value: bodyOf(53).value }));
    await refusedLocally(() => client.logBatch(id.RUN_LIMITS, { metrics: metricsOf(54) }), /"\.\.\/x"/);
    await replayError(54, () => store.logBatch(id.RUN_LIMITS, { metrics: metricsOf(54) }));
    await refusedLocally(() => client.logParam(id.RUN_LIMITS, "../x", "1"), /"\.\.\/x"/);
    await replayError(55, () => store.logParam(id.RUN_LIMITS, { key: "../x", value: "1" }));
    await refusedLocally(() => client.logMetric(id.RUN_LIMITS, "a*b", 1, { timestamp: 1700000000000 }), /"a\*b"/);
    await replayError(56, () => store.logMetric(id.RUN_LIMITS, { key: "a*b", value: 1, timestamp: 1700000000000, step: 0 }));
    await refusedLocally(() => client.logBatch(id.RUN_LIMITS, { params: bodyOf(57).params }), /"dup" appears twice/);
    await replayError(57, () => store.logBatch(id.RUN_LIMITS, { params: bodyOf(57).params }));

    const run = await replay(58, () => client.getRun(id.RUN_LIMITS));
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    expect(params.v6001.length).toBe(6000);
    expect(params.v6001b.length).toBe(6000);
    expect(run.data.tags.find((t) => t.key === "long_tag")!.value.length).toBe(8000);
    expect(run.data.params).toHaveLength(103);
  });
});

describe("run lifecycle, history and search (059-086)", () => {
  it("updates runs", async () => {
    await replay(59, () => client.logBatch(id.RUN_B, { metrics: metricsOf(59), params: bodyOf(59).params, tags: bodyOf(59).tags }));
    await replay(60, () => client.logBatch(id.RUN_C, { metrics: metricsOf(60), params: bodyOf(60).params }));
    const a = await replay(61, () => client.setTerminated(id.RUN_A, "FINISHED", 1700000005000));
    expect(a).toMatchObject({ runId: id.RUN_A, status: "FINISHED", endTime: 1700000005000 });
    const b = await replay(62, () => client.updateRun(id.RUN_B, { status: "FAILED" }));
    expect(b.status).toBe("FAILED");
    expect(b).not.toHaveProperty("endTime");
    const c = await replay(63, () => client.updateRun(id.RUN_C, { status: "KILLED", endTime: 1700000006000, runName: "fx-run-c-renamed" }));
    expect(c).toMatchObject({ runName: "fx-run-c-renamed", status: "KILLED", userId: "bob", endTime: 1700000006000 });
    await refusedLocally(() => client.updateRun(id.RUN_A, { status: "DONE" as never }), /"DONE"/);
    expect((await replay(64, () => store.updateRun(id.RUN_A, { status: "DONE" as never }))).status).toBe("FINISHED");
    const fin = await replay(65, () => client.getRun(id.RUN_A));
    expect(fin.info).toMatchObject({ status: "FINISHED", endTime: 1700000005000 });
  });

  it("reads metric history, including NaN and unknown keys or runs", async () => {
    const acc = await replay(66, () => client.getMetricHistory(id.RUN_A, "acc"));
    expect(acc.map((m) => [m.value, m.step])).toEqual([
      [0.5, 0],
      [0.7, 1],
      [0.9, 2],
    ]);
    expect(await replay(67, () => store.getMetricHistory(id.RUN_A, "acc", { maxResults: 1 }))).toHaveLength(3);
    expect((await replay(68, () => client.getMetricHistory(id.RUN_A, "train/loss"))).map((m) => m.value)).toEqual([1.5, 0.75]);
    const nan = await replay(69, () => client.getMetricHistory(id.RUN_A, "nan_metric"));
    expect(nan.map((m) => m.step)).toEqual([0, 1]);
    nan.forEach((m) => expect(m.value).toBeNaN());
    expect((await replay(70, () => client.getMetricHistory(id.RUN_A, "inf_metric")))[0].value).toBe(1.7976931348623157e308);
    expect(await replay(71, () => client.getMetricHistory(id.RUN_A, "nope"))).toEqual([]);
    expect(await replay(72, () => client.getMetricHistory("0123456789abcdef0123456789abcdef", "acc"))).toEqual([]);
  });

  it("searches runs with filters, order_by, pages and view types", async () => {
    const ids = (page: { items: { info: { runId: string } }[] }) => page.items.map((r) => r.info.runId);
    expect(
      ids(await replay(73, () => client.searchRuns({ experimentIds: ["1"], filter: "metrics.acc > 0.5", orderBy: ["metrics.acc DESC"] }))),
    ).toEqual([id.RUN_A, id.RUN_C, id.RUN_B]);
    expect(ids(await replay(74, () => client.searchRuns({ experimentIds: ["1"], filter: "params.lr = '0.01'" })))).toEqual([id.RUN_A]);
    expect(ids(await replay(75, () => client.searchRuns({ experimentIds: ["1"], filter: "tags.stage LIKE 'tr%'" })))).toEqual([id.RUN_A]);
    const attr = await replay(76, () =>
      client.searchRuns({
        experimentIds: ["1"],
        filter: "attributes.status != 'RUNNING' and attributes.start_time >= 1700000002000",
        orderBy: ["attributes.start_time ASC"],
      }),
    );
    expect(attr.items.map((r) => r.info.status)).toEqual(["FAILED", "KILLED"]);
    expect(ids(await replay(77, () => client.searchRuns({ experimentIds: ["1"], filter: "attributes.run_name = 'fx-run-a'" })))).toEqual([
      id.RUN_A,
    ]);

    const query = { experimentIds: ["1"], orderBy: ["attributes.start_time DESC"], maxResults: 2 };
    const p1 = await replay(78, () => client.searchRuns(query));
    expect(ids(p1)).toEqual([id.RUN_D, id.RUN_C]);
    expect(p1.nextPageToken).toBe("eyJvZmZzZXQiOiAyfQ==");
    const p2 = await replay(79, () => client.searchRuns({ ...query, pageToken: p1.nextPageToken }));
    expect(ids(p2)).toEqual([id.RUN_B, id.RUN_A]);
    // A full last page still carries a token; the page after it is `{}`.
    const p3 = await replay(80, () => client.searchRuns({ ...query, pageToken: p2.nextPageToken }));
    expect(p3).toEqual({ items: [] });
    const all = await replay([78, 79, 80], async () => {
      const out: string[] = [];
      for await (const r of client.iterateRuns(query)) out.push(r.info.runId);
      return out;
    });
    expect(all).toEqual([id.RUN_D, id.RUN_C, id.RUN_B, id.RUN_A]);
    await replayError(81, () => client.searchRuns({ experimentIds: ["1"], filter: "metrics.acc >>> 0.5" }));

    await replay(82, () => client.deleteRun(id.RUN_D));
    const d = await replay(83, () => client.getRun(id.RUN_D));
    expect(d.info).toMatchObject({ lifecycleStage: "deleted", status: "RUNNING" });
    expect(
      ids(
        await replay(84, () =>
          client.searchRuns({ experimentIds: ["1"], runViewType: "ACTIVE_ONLY", orderBy: ["attributes.start_time ASC"] }),
        ),
      ),
    ).toEqual([id.RUN_A, id.RUN_B, id.RUN_C]);
    expect(ids(await replay(85, () => client.searchRuns({ experimentIds: ["1"], runViewType: "DELETED_ONLY" })))).toEqual([id.RUN_D]);
    const everything = await replay(86, () =>
      client.searchRuns({ experimentIds: ["1"], runViewType: "ALL", orderBy: ["attributes.start_time ASC"] }),
    );
    expect(everything.items.map((r) => r.info.lifecycleStage)).toEqual(["active", "active", "active", "deleted"]);
  });
});

describe("artifacts (087-097)", () => {
  const png = () => Buffer.from(String(exchange(88).request.body), "base64");

  it("uploads text, a file and a directory through the artifact proxy", async () => {
    await replay(87, () => client.logText(id.RUN_A, "hello artifact\n", "hello.txt"));
    const plots = join(tmp, "tiny.png");
    await writeFile(plots, png());
    expect(await replay(88, () => client.logArtifact(id.RUN_A, plots, "plots"))).toBe("plots/tiny.png");
    const dir = join(tmp, "tree");
    await mkdir(join(dir, "data"), { recursive: true });
    await writeFile(join(dir, "data", "metrics.json"), '{"acc": 0.9}\n');
    expect(await replay(89, () => client.logArtifacts(id.RUN_A, dir, "plots"))).toEqual(["plots/data/metrics.json"]);
  });

  it("lists and downloads", async () => {
    expect(await replay(90, () => client.listArtifacts(id.RUN_A))).toEqual([
      { path: "hello.txt", isDir: false, fileSize: 15 },
      { path: "plots", isDir: true },
    ]);
    expect(await replay(91, () => client.listArtifacts(id.RUN_A, "plots"))).toEqual([
      { path: "plots/data", isDir: true },
      { path: "plots/tiny.png", isDir: false, fileSize: 98 },
    ]);
    expect(await replay(92, () => client.listArtifacts(id.RUN_A, "nope"))).toEqual([]);
    const proxied = await replay(93, () =>
      store.http.json<any>({
        method: "GET",
        path: "/api/2.0/mlflow-artifacts/artifacts",
        query: { path: `1/${id.RUN_A}/artifacts/plots` },
      }),
    );
    expect(proxied.files.map((f: any) => f.path)).toEqual(["data", "tiny.png"]);
    expect(Buffer.from(await replay(94, () => client.downloadArtifact(id.RUN_A, "hello.txt"))).toString()).toBe("hello artifact\n");
    expect(Buffer.from(await replay(95, () => client.downloadArtifact(id.RUN_A, "plots/tiny.png")))).toEqual(png());
    // A missing file is a 500 from the proxy: reported at once, not retried.
    const missing = await replayError(96, () => client.downloadArtifact(id.RUN_A, "nope.txt"));
    expect(missing.code).toBe("INTERNAL_ERROR");
    expect(standin.received).toHaveLength(1);
    const legacy = await sendRaw(97);
    expect(legacy.body.toString()).toBe("hello artifact\n");
    expect(legacy.headers["content-length"]).toBe("15");
  });
});

describe("model registry (098-116)", () => {
  it("creates models and versions", async () => {
    const rm = await replay(98, () =>
      client.createRegisteredModel("fx-model", { description: "fixture model", tags: { domain: "vision" } }),
    );
    expect(rm).toEqual({
      name: "fx-model",
      creationTimestamp: ts(6),
      lastUpdatedTimestamp: ts(6),
      description: "fixture model",
      latestVersions: [],
      tags: [{ key: "domain", value: "vision" }],
      aliases: [],
    });
    await replayError(99, () => client.createRegisteredModel("fx-model"));
    // registerModel tries to create the model (099 answers it exists) and then the version.
    const v1 = await replay([99, 100], () =>
      client.registerModel(`runs:/${id.RUN_A}/model`, "fx-model", { description: "first", tags: { q: "ok" } }),
    );
    expect(v1).toEqual({
      name: "fx-model",
      version: "1",
      creationTimestamp: ts(7),
      lastUpdatedTimestamp: ts(7),
      currentStage: "None",
      description: "first",
      source: `runs:/${id.RUN_A}/model`,
      runId: id.RUN_A,
      status: "READY",
      tags: [{ key: "q", value: "ok" }],
      aliases: [],
    });
    const v2 = await replay(101, () => client.createModelVersion("fx-model", `runs:/${id.RUN_C}/model`));
    expect(v2).toMatchObject({ version: "2", runId: "", description: "", tags: [] });
    await replayError(102, () => client.createModelVersion("no-such-model", `runs:/${id.RUN_A}/model`));
  });

  it("gets and searches models and versions", async () => {
    const rm = await replay(103, () => client.getRegisteredModel("fx-model"));
    expect(rm.latestVersions.map((v) => v.version)).toEqual(["2"]);
    expect(rm.aliases).toEqual([]);
    await replayError(104, () => client.getRegisteredModel("no-such-model"));
    const found = await replay(105, () => client.searchRegisteredModels({ filter: "name LIKE 'fx-%'", maxResults: 10 }));
    expect(found.items.map((m) => m.name)).toEqual(["fx-model"]);
    expect((await replay(106, () => client.getModelVersion("fx-model", 1))).runId).toBe(id.RUN_A);
    await replayError(107, () => client.getModelVersion("fx-model", 99));
    const versions = await replay(108, () => client.searchModelVersions({ filter: "name = 'fx-model'" }));
    expect(versions.items.map((v) => v.version)).toEqual(["2", "1"]);
  });

  it("sets, reads and deletes aliases", async () => {
    await replay(109, () => client.setRegisteredModelAlias("fx-model", "champion", 1));
    await replay(110, () => client.setRegisteredModelAlias("fx-model", "challenger", "2"));
    const champ = await replay(111, () => client.getModelVersionByAlias("fx-model", "champion"));
    expect(champ).toMatchObject({ version: "1", aliases: ["champion"] });
    await replayError(112, () => client.getModelVersionByAlias("fx-model", "nope"));
    // Query parameters on DELETE are ignored by the server (113); we send a JSON body (114).
    await replay(113, async () => expect(await failure(jsonRaw(113))).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 }));
    await replay(114, () => client.deleteRegisteredModelAlias("fx-model", "challenger"));
    await replayError(115, () => client.getModelVersionByAlias("fx-model", "challenger"));
    expect((await replay(116, () => client.getRegisteredModel("fx-model"))).aliases).toEqual([{ alias: "champion", version: "1" }]);
  });

  it("resolves model URIs through the registry and the run", async () => {
    const byAlias = await replay([111, 65], () => client.resolveModelUri("models:/fx-model@champion"));
    expect(byAlias).toMatchObject({ runId: id.RUN_A, path: "model", artifactUri: `mlflow-artifacts:/1/${id.RUN_A}/artifacts/model` });
    expect(byAlias.modelVersion?.version).toBe("1");
    const byVersion = await replay([106, 65], () => client.resolveModelUri("models:/fx-model/1"));
    expect(byVersion.artifactUri).toBe(`mlflow-artifacts:/1/${id.RUN_A}/artifacts/model`);
    // `latest` and a stage come from the version search (108): newest version first.
    const latest = await replay(108, () => modelVersionFor(store, parseModelUri("models:/fx-model/latest"), "models:/fx-model/latest"));
    expect(latest?.version).toBe("2");
    const staged = await replay(108, () => modelVersionFor(store, parseModelUri("models:/fx-model/None"), "models:/fx-model/None"));
    expect(staged?.version).toBe("2");
    const noStage = await replay(108, () =>
      failure(modelVersionFor(store, parseModelUri("models:/fx-model/Production"), "models:/fx-model/Production")),
    );
    expect(noStage).toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST", message: expect.stringContaining('stage "Production"') });
    const byRun = await replay(65, () => client.resolveModelUri(`runs:/${id.RUN_A}/model`));
    expect(byRun).toEqual({
      uri: `runs:/${id.RUN_A}/model`,
      runId: id.RUN_A,
      path: "model",
      artifactUri: `mlflow-artifacts:/1/${id.RUN_A}/artifacts/model`,
    });
  });
});

describe("protocol (117-123)", () => {
  it("parses the server's answers to malformed requests", async () => {
    const noType = await sendRaw(117);
    expect(standin.received[0].headers["content-type"]).toBeUndefined();
    expect(noType.status).toBe(400);
    await replay(117, async () =>
      expect(await failure(jsonRaw(117))).toMatchObject({
        code: "INVALID_PARAMETER_VALUE",
        httpStatus: 400,
        message: "Bad Request. Content-Type header is missing.",
      }),
    );
    await replay(118, async () => expect(await failure(jsonRaw(118))).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 }));
    expect(await replay(119, () => jsonRaw(119))).toEqual({});
  });

  it("turns HTML 404/405 pages into clear error codes", async () => {
    const e404 = (await replay(120, () => failure(jsonRaw(120)))) as MlflowError;
    expect(e404).toMatchObject({ code: "ENDPOINT_NOT_FOUND", httpStatus: 404 });
    expect(e404.message).toContain("/api/2.0/mlflow/does-not-exist");
    expect(e404.message).toContain("tracking URI");
    const e405 = (await replay(121, () => failure(jsonRaw(121)))) as MlflowError;
    expect(e405).toMatchObject({ code: "METHOD_NOT_ALLOWED", httpStatus: 405 });
  });

  it("checks health and version", async () => {
    expect(await replay(122, () => store.health())).toBe(true);
    expect(await replay(123, () => store.serverVersion())).toBe("2.22.1.dev0");
  });
});

describe("MLflow 3.4's recordings (mlflow-3.4/rest)", () => {
  let s34: MlflowStandin;
  let store34: RestStore;
  beforeAll(async () => {
    s34 = await MlflowStandin.start({ version: "3.4" });
    store34 = new RestStore({ baseUrl: s34.url, maxRetries: 2, backoffMs: 5, maxBackoffMs: 20 });
  });
  afterAll(async () => {
    await store34?.close();
    await s34?.close();
  });

  /** Exactly these 3.4 exchanges, in order, and nothing else (but /version, answered by 123). */
  async function replay34<T>(nos: number[], fn: () => Promise<T>): Promise<T> {
    s34.reset();
    s34.clearRoutes();
    s34.expect(...nos.map(exchange34));
    const out = await fn();
    expect(s34.mismatches).toEqual([]);
    expect(s34.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(s34.pending.map((e) => e.file)).toEqual([]);
    return out;
  }
  const points = (ms: Metric[]) => ms.map((m) => [m.value, m.step]);
  const acc = [
    [0.5, 0],
    [0.7, 1],
    [0.9, 2],
  ];

  it("follows get-history's tokens page by page; the last page has none, even when full", async () => {
    // max_results=1: 067 (token offset 1), 126 (token offset 2), 127 (last, no token).
    expect(points(await replay34([67, 126, 127], () => store34.getMetricHistory(s34.ids.RUN_A, "acc", { maxResults: 1 })))).toEqual(acc);
    // max_results=2: a full page with a token, then a short last page.
    expect(points(await replay34([128, 129], () => store34.getMetricHistory(s34.ids.RUN_A, "acc", { maxResults: 2 })))).toEqual(acc);
    // max_results=3 for exactly 3 points: one request, no token, no empty page after it.
    expect(points(await replay34([130], () => store34.getMetricHistory(s34.ids.RUN_A, "acc", { maxResults: 3 })))).toEqual(acc);
    expect(s34.received).toHaveLength(1);
    // Without maxResults the client sends 25000, as MLflow 3's Python client does (131).
    expect(points(await replay34([131], () => store34.getMetricHistory(s34.ids.RUN_A, "train/loss")))).toEqual([
      [1.5, 0],
      [0.75, 1],
    ]);
    expect(await replay34([132], () => store34.getMetricHistory(s34.ids.RUN_A, "nope", { maxResults: 10 }))).toEqual([]);
    // The unknown key and run of 071/072 (recorded without max_results) answer `{}` either way.
    expect(await replay34([71], () => store34.getMetricHistory(s34.ids.RUN_A, "nope"))).toEqual([]);
  });

  it("stops at 3.4's answer to get-history without max_results instead of following its token", async () => {
    // Should any request go out without max_results, 3.4 answers 066: no points and a token
    // that it then refuses (124). The client must not trust that token.
    s34.reset();
    s34.clearRoutes();
    s34.route("GET", "/api/2.0/mlflow/metrics/get-history", exchange34(66));
    s34.route("GET", "/version", exchange34(123));
    const err = (await failure(store34.getMetricHistory(s34.ids.RUN_A, "acc"))) as MlflowError;
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.code).toBe("UNEXPECTED_RESPONSE");
    expect(err.message).toContain(`MLflow 3.4.1.dev0 at ${s34.url}`);
    expect(err.message).toContain("metrics/get-history");
    expect(s34.received.filter((r) => r.path.endsWith("get-history"))).toHaveLength(1);
    // What following it would have given, and a token that is not base64 (133).
    for (const no of [124, 133]) {
      const r = s34.requestOf(exchange34(no));
      s34.reset();
      s34.expect(exchange34(no));
      const e = await failure(store34.http.json({ method: "GET", path: r.url!, retry: "none" }));
      expect(e).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 });
      expect(s34.mismatches).toEqual([]);
    }
  });

  it("wraps a refused page token with the server's version and the call", async () => {
    s34.reset();
    s34.clearRoutes();
    s34.expect(exchange34(67));
    // The token of 067 (offset 1) answered as 3.4 answers a token it does not take (124).
    s34.route("GET", "/api/2.0/mlflow/metrics/get-history", exchange34(124));
    s34.route("GET", "/version", exchange34(123));
    const err = (await failure(store34.getMetricHistory(s34.ids.RUN_A, "acc", { maxResults: 1 }))) as MlflowError;
    expect(err).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 });
    expect(err.message).toMatch(
      /^MLflow 3\.4\.1\.dev0 at http:\/\/127\.0\.0\.1:\d+ refused its own page token for GET metrics\/get-history/,
    );
    expect(s34.received.filter((r) => r.path.endsWith("get-history"))).toHaveLength(2);
  });

  it("replays searches that now send max_results", async () => {
    const ids = (page: { items: { info: { runId: string } }[] }) => page.items.map((r) => r.info.runId);
    const runs = await replay34([73], () =>
      store34.searchRuns({ experimentIds: ["1"], filter: "metrics.acc > 0.5", orderBy: ["metrics.acc DESC"] }),
    );
    expect(ids(runs)).toEqual([s34.ids.RUN_A, s34.ids.RUN_C, s34.ids.RUN_B]);
    expect(s34.received[0].json).toMatchObject({ max_results: 1000 });
    const versions = await replay34([108], () => store34.searchModelVersions({ filter: "name = 'fx-model'" }));
    expect(versions.items.map((v) => v.version)).toEqual(["2", "1"]);
    expect(s34.received[0].query.max_results).toEqual(["10000"]);
    // A full page with a token, then the page after it (078-080 as in 2.22).
    const query = { experimentIds: ["1"], orderBy: ["attributes.start_time DESC"], maxResults: 2 };
    const p1 = await replay34([78], () => store34.searchRuns(query));
    expect(p1.nextPageToken).toBe("eyJvZmZzZXQiOiAyfQ==");
  });

  it("names the server's version and the call for an endpoint it lacks (180: HTML 404)", async () => {
    s34.reset();
    s34.clearRoutes();
    s34.expect(exchange34(180));
    s34.route("GET", "/version", exchange34(123));
    const body = s34.requestOf(exchange34(180)).body;
    const err = (await failure(store34.request({ method: "POST", path: "/api/2.0/mlflow/runs/log-outputs", json: body }))) as MlflowError;
    expect(s34.mismatches).toEqual([]);
    expect(err).toBeInstanceOf(MlflowError);
    expect(err).toMatchObject({ code: "ENDPOINT_NOT_FOUND", httpStatus: 404 });
    expect(err.message).toContain(`MLflow 3.4.1.dev0 at ${s34.url} has no endpoint for POST /api/2.0/mlflow/runs/log-outputs`);
  });
});

describe("coverage", () => {
  it("drove every recorded exchange", () => {
    const all = loadExchanges().map((e) => e.no);
    expect(all).toHaveLength(123);
    expect(all.filter((n) => !covered.has(n))).toEqual([]);
  });
});
