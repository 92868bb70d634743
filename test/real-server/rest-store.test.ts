// Every TrackingStore method of the REST store against real MLflow 2.22 and 3.4 servers (fresh
// databases, shared by the whole run: every name here carries a random suffix). Errors are
// checked by code, pages at and past their boundaries, and the few answers that differ
// between the versions are asserted per version: get-history pages on 3.x only, metrics'
// model_id/dataset fields are kept by 3.x and dropped by 2.x, runs/outputs is 3.x only.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { MAX_KEY_LENGTH, MlflowError, RestStore, type DatasetInput, type Metric, type Page } from "../../tracking/index.js";
import { forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as MlflowError,
  );
const codeOf = async (p: Promise<unknown>) => {
  const e = await failure(p);
  expect(e).toBeInstanceOf(MlflowError);
  return e.code;
};
const uniq = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;
const T0 = 1_700_000_000_000;

/** Every page of a search, following tokens as a caller would (at most 10 pages). */
async function walk<T>(fetch: (pageToken?: string) => Promise<Page<T>>): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    items.push(...page.items);
    sizes.push(page.items.length);
    token = page.nextPageToken;
  } while (token && sizes.length < 10);
  expect(token, "a search kept answering page tokens").toBeUndefined();
  return { items, sizes };
}

forEachRealServer("REST store", (server: RealServer) => {
  let store: RestStore;
  let experimentId: string;

  beforeAll(async () => {
    store = new RestStore({ baseUrl: server.url, maxRetries: 1, backoffMs: 50 });
    experimentId = await store.createExperiment(uniq("rest-store"));
  });
  afterAll(async () => {
    await store?.close();
  });

  const newRun = async (name = uniq("run"), startTime = Date.now()) =>
    (await store.createRun({ experimentId, runName: name, startTime })).info.runId;

  it("describes itself by version", async () => {
    expect(await store.health()).toBe(true);
    expect(await store.serverVersion()).toMatch(new RegExp(`^${server.version.replace(".", "\\.")}`));
    expect(await store.describeServer()).toMatch(new RegExp(`^MLflow ${server.version.replace(".", "\\.")}\\S* at ${server.url}$`));
  });

  it("experiments: create, duplicate, get, by name, tags, delete and restore", async () => {
    const name = uniq("exp");
    const id = await store.createExperiment(name, [{ key: "team", value: "ts" }]);
    expect(await codeOf(store.createExperiment(name))).toBe("RESOURCE_ALREADY_EXISTS");
    const got = await store.getExperiment(id);
    expect(got).toMatchObject({ experimentId: id, name, lifecycleStage: "active", tags: [{ key: "team", value: "ts" }] });
    expect(got.artifactLocation).toBe(`mlflow-artifacts:/${id}`);
    expect(await store.getExperimentByName(name)).toEqual(got);
    expect(await store.getExperimentByName(uniq("no-such-exp"))).toBeUndefined();
    expect(await codeOf(store.getExperiment("987654321"))).toBe("RESOURCE_DOES_NOT_EXIST");

    await store.setExperimentTag(id, { key: "stage", value: "dev" });
    expect((await store.getExperiment(id)).tags).toEqual(
      expect.arrayContaining([
        { key: "stage", value: "dev" },
        { key: "team", value: "ts" },
      ]),
    );

    await store.deleteExperiment(id);
    expect((await store.getExperiment(id)).lifecycleStage).toBe("deleted");
    const filter = `name = '${name}'`;
    expect((await store.searchExperiments({ filter })).items).toEqual([]);
    expect((await store.searchExperiments({ filter, viewType: "DELETED_ONLY" })).items.map((e) => e.experimentId)).toEqual([id]);
    // A deleted experiment's name stays taken.
    expect(await codeOf(store.createExperiment(name))).toBe("RESOURCE_ALREADY_EXISTS");
    await store.restoreExperiment(id);
    expect((await store.getExperiment(id)).lifecycleStage).toBe("active");
    expect(await codeOf(store.deleteExperiment("987654321"))).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("experiments: search pages at and past the boundary", async () => {
    const prefix = uniq("page");
    const names = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
    for (const n of names) await store.createExperiment(n, [{ key: "group", value: prefix }]);
    const q = (filter: string) => (pageToken?: string) =>
      store.searchExperiments({ filter, maxResults: 2, orderBy: ["name ASC"], pageToken });
    // Five: two full pages and a short one.
    const five = await walk(q(`name LIKE '${prefix}-%'`));
    expect(five.items.map((e) => e.name)).toEqual(names);
    expect(five.sizes).toEqual([2, 2, 1]);
    // Four: the last page is full and, on experiments/search, carries no token.
    const four = await walk(q(`name LIKE '${prefix}-%' AND name != '${prefix}-4'`));
    expect(four.items.map((e) => e.name)).toEqual(names.slice(0, 4));
    expect(four.sizes).toEqual([2, 2]);
    // By tag, and a page larger than what exists.
    const tagged = await store.searchExperiments({ filter: `tags.group = '${prefix}'`, maxResults: 50 });
    expect(tagged.items).toHaveLength(5);
    expect(tagged.nextPageToken).toBeUndefined();
    expect(await codeOf(store.searchExperiments({ filter: "name ~~ 'x'" }))).toBe("INVALID_PARAMETER_VALUE");
    expect(await codeOf(store.searchExperiments({ maxResults: 50_001 }))).toBe("INVALID_PARAMETER_VALUE");
  });

  it("runs: create, get, update to each final status, delete and restore", async () => {
    const name = uniq("run");
    const run = await store.createRun({
      experimentId,
      runName: name,
      startTime: T0 + 1,
      tags: [{ key: "owner", value: "alice" }],
      userId: "bob",
    });
    expect(run.info).toMatchObject({
      experimentId,
      runName: name,
      userId: "bob",
      status: "RUNNING",
      startTime: T0 + 1,
      lifecycleStage: "active",
    });
    expect(run.info.artifactUri).toBe(`mlflow-artifacts:/${experimentId}/${run.info.runId}/artifacts`);
    expect(run.data.tags).toEqual(
      expect.arrayContaining([
        { key: "owner", value: "alice" },
        { key: "mlflow.runName", value: name },
      ]),
    );
    expect((await store.getRun(run.info.runId)).info).toEqual(run.info);
    expect(await codeOf(store.getRun("0123456789abcdef0123456789abcdef"))).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(await codeOf(store.createRun({ experimentId: "987654321", startTime: T0 }))).toBe("RESOURCE_DOES_NOT_EXIST");

    const finished = await store.updateRun(run.info.runId, { status: "FINISHED", endTime: T0 + 5 });
    expect(finished).toMatchObject({ status: "FINISHED", endTime: T0 + 5 });
    const b = await newRun();
    expect(await store.updateRun(b, { status: "FAILED" })).toMatchObject({ status: "FAILED" });
    const c = await newRun();
    const killed = await store.updateRun(c, { status: "KILLED", endTime: T0 + 6, runName: `${name}-renamed` });
    expect(killed).toMatchObject({ status: "KILLED", endTime: T0 + 6, runName: `${name}-renamed` });
    expect((await store.getRun(c)).data.tags).toContainEqual({ key: "mlflow.runName", value: `${name}-renamed` });

    await store.deleteRun(b);
    expect((await store.getRun(b)).info.lifecycleStage).toBe("deleted");
    await store.restoreRun(b);
    expect((await store.getRun(b)).info).toMatchObject({ lifecycleStage: "active", status: "FAILED" });
    expect(await codeOf(store.deleteRun("0123456789abcdef0123456789abcdef"))).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("runs: search with filters, order, view types and pages at and past the boundary", async () => {
    const exp = await store.createExperiment(uniq("search"));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await store.createRun({ experimentId: exp, runName: `r${i}`, startTime: T0 + i * 1000 });
      await store.logBatch(r.info.runId, {
        metrics: [{ key: "acc", value: i / 10, timestamp: T0, step: 0 }],
        params: [{ key: "parity", value: i % 2 ? "odd" : "even" }],
        tags: [{ key: "stage", value: i < 3 ? "train" : "eval" }],
      });
      ids.push(r.info.runId);
    }
    const search = (q: {
      filter?: string;
      orderBy?: string[];
      maxResults?: number;
      runViewType?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
    }) => store.searchRuns({ experimentIds: [exp], ...q }).then((p) => p.items.map((r) => r.info.runId));
    expect(await search({ filter: "metrics.acc > 0.15", orderBy: ["metrics.acc DESC"] })).toEqual([ids[4], ids[3], ids[2]]);
    expect(await search({ filter: "params.parity = 'odd'", orderBy: ["attributes.start_time ASC"] })).toEqual([ids[1], ids[3]]);
    expect(await search({ filter: "tags.stage LIKE 'ev%'", orderBy: ["attributes.start_time ASC"] })).toEqual([ids[3], ids[4]]);
    expect(await search({ filter: "attributes.run_name = 'r2'" })).toEqual([ids[2]]);
    expect(await search({ filter: `attributes.start_time >= ${T0 + 3000}`, orderBy: ["attributes.start_time DESC"] })).toEqual([
      ids[4],
      ids[3],
    ]);
    expect(await codeOf(search({ filter: "metrics.acc >>> 1" }))).toBe("INVALID_PARAMETER_VALUE");
    expect(await codeOf(search({ maxResults: 50_001 }))).toBe("INVALID_PARAMETER_VALUE");
    // Runs come back with their data.
    const [top] = (await store.searchRuns({ experimentIds: [exp], orderBy: ["metrics.acc DESC"], maxResults: 1 })).items;
    expect(top.data).toMatchObject({ metrics: [{ key: "acc", value: 0.4 }], params: [{ key: "parity", value: "even" }] });

    const pages = (filter?: string) =>
      walk((pageToken) =>
        store.searchRuns({ experimentIds: [exp], filter, orderBy: ["attributes.start_time DESC"], maxResults: 2, pageToken }),
      );
    const five = await pages();
    expect(five.items.map((r) => r.info.runId)).toEqual([...ids].reverse());
    expect(five.sizes).toEqual([2, 2, 1]);
    // Four: runs/search gives a token after every full page, so the walk ends on an empty page.
    const four = await pages("attributes.run_name != 'r0'");
    expect(four.items.map((r) => r.info.runId)).toEqual(ids.slice(1).reverse());
    expect(four.sizes).toEqual([2, 2, 0]);

    await store.deleteRun(ids[0]);
    expect(await search({ orderBy: ["attributes.start_time ASC"] })).toEqual(ids.slice(1));
    expect(await search({ runViewType: "DELETED_ONLY" })).toEqual([ids[0]]);
    expect(await search({ runViewType: "ALL" })).toHaveLength(5);
  });

  it("logBatch at and over MLflow's limits", async () => {
    const run = await newRun();
    const metrics = (n: number, key = "m"): Metric[] =>
      Array.from({ length: n }, (_, i) => ({ key, value: i, timestamp: T0 + i, step: i }));
    await store.logBatch(run, { metrics: metrics(1000) });
    expect(await codeOf(store.logBatch(run, { metrics: metrics(1001, "over") }))).toBe("INVALID_PARAMETER_VALUE");
    const params = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: String(i) }));
    await store.logBatch(run, { params: params(100, "p") });
    expect(await codeOf(store.logBatch(run, { params: params(101, "q") }))).toBe("INVALID_PARAMETER_VALUE");
    expect(await codeOf(store.logBatch(run, { tags: params(101, "t") }))).toBe("INVALID_PARAMETER_VALUE");
    // The same value again is fine; another value for a logged param is refused.
    await store.logBatch(run, { params: [{ key: "p0", value: "0" }] });
    expect(await codeOf(store.logBatch(run, { params: [{ key: "p0", value: "changed" }] }))).toBe("INVALID_PARAMETER_VALUE");
    expect(await codeOf(store.logParam(run, { key: "p1", value: "changed" }))).toBe("INVALID_PARAMETER_VALUE");
    const long = "k".repeat(MAX_KEY_LENGTH + 1);
    await store.logBatch(run, { metrics: [{ key: "k".repeat(MAX_KEY_LENGTH), value: 1, timestamp: T0, step: 0 }] });
    expect(await codeOf(store.logBatch(run, { metrics: [{ key: long, value: 1, timestamp: T0, step: 0 }] }))).toBe(
      "INVALID_PARAMETER_VALUE",
    );
    expect(await codeOf(store.logBatch(run, { params: [{ key: long, value: "1" }] }))).toBe("INVALID_PARAMETER_VALUE");
    expect(await codeOf(store.setTag(run, { key: long, value: "1" }))).toBe("INVALID_PARAMETER_VALUE");
    expect(await codeOf(store.logBatch(run, { metrics: [{ key: "../x", value: 1, timestamp: T0, step: 0 }] }))).toBe(
      "INVALID_PARAMETER_VALUE",
    );

    const got = await store.getRun(run);
    expect(got.data.params).toHaveLength(100);
    expect(got.data.metrics.find((m) => m.key === "m")).toMatchObject({ value: 999, step: 999 });
    expect(got.data.metrics.some((m) => m.key === "over")).toBe(false);
    expect(await store.getMetricHistory(run, "m")).toHaveLength(1000);
  });

  it("single writes, tags and non-finite values", async () => {
    const run = await newRun();
    await store.logMetric(run, { key: "acc", value: 0.5, timestamp: T0 + 1, step: 0 });
    await store.logMetric(run, { key: "nan", value: NaN, timestamp: T0 + 2, step: 0 });
    await store.logMetric(run, { key: "inf", value: Infinity, timestamp: T0 + 3, step: 0 });
    await store.logMetric(run, { key: "ninf", value: -Infinity, timestamp: T0 + 4, step: 0 });
    await store.logBatch(run, { metrics: [{ key: "nan", value: NaN, timestamp: T0 + 5, step: 1 }] });
    await store.logParam(run, { key: "lr", value: "0.01" });
    await store.logParam(run, { key: "lr", value: "0.01" });
    await store.setTag(run, { key: "temp", value: "x" });
    await store.setTag(run, { key: "kept", value: "y" });
    await store.deleteTag(run, "temp");
    expect(await codeOf(store.deleteTag(run, "temp"))).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(await codeOf(store.logMetric("0123456789abcdef0123456789abcdef", { key: "a", value: 1, timestamp: T0, step: 0 }))).toBe(
      "RESOURCE_DOES_NOT_EXIST",
    );

    const got = await store.getRun(run);
    const byKey = Object.fromEntries(got.data.metrics.map((m) => [m.key, m.value]));
    expect(byKey.acc).toBe(0.5);
    expect(byKey.nan).toBeNaN();
    // The SQL store keeps ±Infinity as the largest finite double.
    expect(byKey.inf).toBe(Number.MAX_VALUE);
    expect(byKey.ninf).toBe(-Number.MAX_VALUE);
    expect(got.data.params).toEqual([{ key: "lr", value: "0.01" }]);
    const tags = got.data.tags.map((t) => t.key);
    expect(tags).toContain("kept");
    expect(tags).not.toContain("temp");
    const nan = await store.getMetricHistory(run, "nan");
    expect(nan.map((m) => m.step)).toEqual([0, 1]);
    nan.forEach((m) => expect(m.value).toBeNaN());
  });

  it("getMetricHistory pages past one page: 7 points by 3, exactly 6 by 3, unknown key and run", async () => {
    const run = await newRun();
    const points = (key: string, n: number): Metric[] =>
      Array.from({ length: n }, (_, i) => ({ key, value: i * 1.5, timestamp: T0 + i, step: i }));
    await store.logBatch(run, { metrics: [...points("seven", 7), ...points("six", 6)] });
    const calls = vi.spyOn(store.http, "json");
    try {
      const seven = await store.getMetricHistory(run, "seven", { maxResults: 3 });
      expect(seven.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(seven[6]).toEqual({ key: "seven", value: 9, timestamp: T0 + 6, step: 6 });
      const sevenCalls = calls.mock.calls.length;
      calls.mockClear();
      const six = await store.getMetricHistory(run, "six", { maxResults: 3 });
      expect(six.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
      const sixCalls = calls.mock.calls.length;
      // 3.x pages (3 + 3 + 1, then 3 + 3 with no token on the full last page); 2.x sends all at once.
      expect([sevenCalls, sixCalls]).toEqual(server.major >= 3 ? [3, 2] : [1, 1]);
      calls.mockClear();
      expect(await store.getMetricHistory(run, "seven")).toHaveLength(7);
      expect(calls.mock.calls[0][0].query).toMatchObject({ max_results: 25000 });
    } finally {
      calls.mockRestore();
    }
    expect(await store.getMetricHistory(run, "nope", { maxResults: 3 })).toEqual([]);
    expect(await store.getMetricHistory("0123456789abcdef0123456789abcdef", "seven")).toEqual([]);
  });

  it("logInputs: a dataset with schema and profile, read back once in getRun and searchRuns", async () => {
    const run = await newRun();
    const input: DatasetInput = {
      dataset: {
        name: "iris",
        digest: "d1g3st",
        sourceType: "local",
        source: JSON.stringify({ uri: "file:///tmp/iris.csv" }),
        schema: JSON.stringify({ mlflow_colspec: [{ type: "double", name: "x" }] }),
        profile: JSON.stringify({ num_rows: 3 }),
      },
      tags: [{ key: "mlflow.data.context", value: "training" }],
    };
    await store.logInputs(run, [input]);
    await store.logInputs(run, [input]);
    expect((await store.getRun(run)).inputs).toEqual({ datasetInputs: [input] });
    const [found] = (await store.searchRuns({ experimentIds: [experimentId], filter: `attributes.run_id = '${run}'` })).items;
    expect(found.inputs).toEqual({ datasetInputs: [input] });
    expect(await codeOf(store.logInputs("0123456789abcdef0123456789abcdef", [input]))).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("metrics with model_id and dataset fields: 3.x links them to the model, 2.x ignores them, both keep the point", async () => {
    const run = await newRun();
    // On 3.x a real LoggedModel, so the link can be read back; 2.x has no such thing and
    // takes any id (it ignores the fields), as 3.x also does for an id it does not know.
    const modelId =
      server.major >= 3
        ? (
            await store.request<{ model: { info: { model_id: string } } }>({
              method: "POST",
              path: "/api/2.0/mlflow/logged-models",
              json: { experiment_id: experimentId, name: uniq("lm"), source_run_id: run },
            })
          ).model.info.model_id
        : "m-" + "0".repeat(32);
    const linked = { key: "eval_acc", value: 0.8, timestamp: T0, step: 1, modelId, datasetName: "iris", datasetDigest: "d1g3st" };
    await store.logBatch(run, { metrics: [linked] });
    await store.logMetric(run, { ...linked, step: 2, value: 0.9, timestamp: T0 + 1 });
    // Neither version echoes the fields on runs or get-history (3.4 fixtures 162, 181).
    expect((await store.getRun(run)).data.metrics).toEqual([{ key: "eval_acc", value: 0.9, timestamp: T0 + 1, step: 2 }]);
    expect((await store.getMetricHistory(run, "eval_acc")).map((m) => m.step)).toEqual([1, 2]);
    if (server.major >= 3) {
      const lm = await store.request<{ model: { data: { metrics?: any[] } } }>({
        method: "GET",
        path: `/api/2.0/mlflow/logged-models/${modelId}`,
      });
      expect(lm.model.data.metrics?.map((m) => [m.step, m.value, m.model_id, m.dataset_name, m.dataset_digest, m.run_id])).toEqual([
        [1, 0.8, modelId, "iris", "d1g3st", run],
        [2, 0.9, modelId, "iris", "d1g3st", run],
      ]);
    }
  });

  it("names with spaces, slashes, quotes and non-ASCII: kept by every call, or refused saying why", async () => {
    const odd = `a b/ü é'x ${randomBytes(2).toString("hex")}`;
    const exp = await store.createExperiment(`exp ${odd}`);
    expect((await store.getExperimentByName(`exp ${odd}`))?.experimentId).toBe(exp);
    const run = (await store.createRun({ experimentId: exp, runName: `run ${odd}`, startTime: T0 })).info.runId;
    // Keys may hold letters, digits, `_-. :/` only (the server refuses others).
    const key = "train/loss x:1.y-z_w";
    await store.logBatch(run, { metrics: [{ key, value: 1, timestamp: T0, step: 0 }], params: [{ key: "p q", value: odd }] });
    expect(await store.getMetricHistory(run, key)).toEqual([{ key, value: 1, timestamp: T0, step: 0 }]);
    expect((await store.getRun(run)).data.params).toEqual([{ key: "p q", value: odd }]);
    // (MLflow's filter language has no escape for a quote inside a value: match the suffix.)
    const found = await store.searchRuns({ experimentIds: [exp], filter: `params."p q" LIKE '%${odd.slice(-4)}'` });
    expect(found.items.map((r) => r.info.runName)).toEqual([`run ${odd}`]);
    const file = "dir with space/ü 100% & (1)+'x'.txt";
    await store.logArtifact(run, file, "odd\n");
    expect(await store.listArtifacts(run, "dir with space")).toEqual([{ path: file, isDir: false, fileSize: 4 }]);
    if (server.major >= 3) {
      // 3.4 under uvicorn fails on the download's header naming a non-ASCII file: said so.
      const e = await failure(store.downloadArtifact(run, file));
      expect(e).toMatchObject({ code: "INTERNAL_ERROR", httpStatus: 500 });
      expect(e.message).toContain(`MLflow ${server.version}`);
      expect(e.message).toContain("not ASCII");
      const ascii = "dir with space/100% & (1)+'x'.txt";
      await store.logArtifact(run, ascii, "odd\n");
      expect(Buffer.from(await store.downloadArtifact(run, ascii)).toString()).toBe("odd\n");
    } else {
      expect(Buffer.from(await store.downloadArtifact(run, file)).toString()).toBe("odd\n");
    }
    // The artifact proxy refuses '#' with a bare "Invalid path": refused here, saying why.
    const hash = await failure(store.logArtifact(run, "notes #1.txt", "x"));
    expect(hash).toMatchObject({ code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining(`"notes #1.txt"`) });
    expect(hash.message).toContain("'#'");
    // It would also store a literal "%20" as a space: refused here too.
    expect(await failure(store.logArtifact(run, "a%20b.txt", "x"))).toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining(`"%20"`),
    });
    const model = `model ${odd}`.replace(/\//g, "-");
    await store.createRegisteredModel(model);
    await store.createModelVersion({ name: model, source: `runs:/${run}/model`, runId: run });
    await store.setRegisteredModelAlias(model, "best", "1");
    expect((await store.getModelVersionByAlias(model, "best")).name).toBe(model);
    expect((await store.getRegisteredModel(model)).name).toBe(model);
    await store.deleteRegisteredModelAlias(model, "best");
    expect((await store.getRegisteredModel(model)).aliases).toEqual([]);
  });

  it("artifacts up, down and listed: text, nested and binary", async () => {
    const run = await newRun();
    const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
    await store.logArtifact(run, "hello.txt", "hello artifact\n");
    await store.logArtifact(run, "plots/deep/bytes.bin", binary);
    await store.logArtifact(run, "plots/note.md", "# note\n");
    expect(await store.listArtifacts(run)).toEqual([
      { path: "hello.txt", isDir: false, fileSize: 15 },
      { path: "plots", isDir: true },
    ]);
    expect(await store.listArtifacts(run, "plots")).toEqual([
      { path: "plots/deep", isDir: true },
      { path: "plots/note.md", isDir: false, fileSize: 7 },
    ]);
    expect(await store.listArtifacts(run, "plots/deep")).toEqual([{ path: "plots/deep/bytes.bin", isDir: false, fileSize: 256 }]);
    expect(await store.listArtifacts(run, "nope")).toEqual([]);
    expect(Buffer.from(await store.downloadArtifact(run, "hello.txt")).toString()).toBe("hello artifact\n");
    expect(Buffer.from(await store.downloadArtifact(run, "plots/deep/bytes.bin")).equals(Buffer.from(binary))).toBe(true);
    // A missing file is the proxy's 500, reported at once (not retried into a timeout).
    expect(await codeOf(store.downloadArtifact(run, "nope.txt"))).toBe("INTERNAL_ERROR");
    expect(await codeOf(store.logArtifact(run, "../escape.txt", "x"))).toBe("INVALID_PARAMETER_VALUE");
    // A second store (no remembered artifact root) finds the run's root through runs/get.
    const other = new RestStore({ baseUrl: server.url });
    try {
      expect(Buffer.from(await other.downloadArtifact(run, "plots/note.md")).toString()).toBe("# note\n");
    } finally {
      await other.close();
    }
  });

  it("registry: models, versions, tags, search pages and aliases", async () => {
    const prefix = uniq("model");
    const name = `${prefix}-a`;
    const run = await newRun();
    const rm = await store.createRegisteredModel(name, { description: "first", tags: [{ key: "domain", value: "vision" }] });
    expect(rm).toMatchObject({ name, description: "first", tags: [{ key: "domain", value: "vision" }], latestVersions: [], aliases: [] });
    expect(await codeOf(store.createRegisteredModel(name))).toBe("RESOURCE_ALREADY_EXISTS");
    expect(await codeOf(store.getRegisteredModel(`${prefix}-none`))).toBe("RESOURCE_DOES_NOT_EXIST");
    expect((await store.updateRegisteredModel(name, "second")).description).toBe("second");
    await store.setRegisteredModelTag(name, { key: "owner", value: "ts" });
    expect((await store.getRegisteredModel(name)).tags).toEqual(
      expect.arrayContaining([
        { key: "owner", value: "ts" },
        { key: "domain", value: "vision" },
      ]),
    );
    await store.createRegisteredModel(`${prefix}-b`);
    await store.createRegisteredModel(`${prefix}-c`);

    for (let i = 1; i <= 3; i++) {
      const v = await store.createModelVersion({
        name,
        source: `runs:/${run}/model`,
        runId: run,
        description: `v${i}`,
        tags: [{ key: "i", value: String(i) }],
      });
      expect(v).toMatchObject({ name, version: String(i), runId: run, description: `v${i}`, source: `runs:/${run}/model` });
    }
    expect(await codeOf(store.createModelVersion({ name: `${prefix}-none`, source: `runs:/${run}/model` }))).toBe(
      "RESOURCE_DOES_NOT_EXIST",
    );
    expect((await store.getModelVersion(name, "2")).tags).toEqual([{ key: "i", value: "2" }]);
    expect(await codeOf(store.getModelVersion(name, "99"))).toBe("RESOURCE_DOES_NOT_EXIST");
    await store.setModelVersionTag(name, "2", { key: "q", value: "ok" });
    expect((await store.getModelVersion(name, "2")).tags).toEqual(expect.arrayContaining([{ key: "q", value: "ok" }]));
    expect((await store.getRegisteredModel(name)).latestVersions.map((v) => v.version)).toEqual(["3"]);

    // Pages: three models by two, three versions by two, and by one.
    const models = await walk((pageToken) =>
      store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%'`, maxResults: 2, orderBy: ["name ASC"], pageToken }),
    );
    expect(models.items.map((m) => m.name)).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
    expect(models.sizes).toEqual([2, 1]);
    const twoModels = await walk((pageToken) =>
      store.searchRegisteredModels({ filter: `name LIKE '${prefix}-%' AND name != '${prefix}-c'`, maxResults: 2, pageToken }),
    );
    expect(twoModels.items).toHaveLength(2);
    expect(twoModels.sizes).toEqual([2]);
    const versions = await walk((pageToken) =>
      store.searchModelVersions({ filter: `name = '${name}'`, maxResults: 2, orderBy: ["version_number DESC"], pageToken }),
    );
    expect(versions.items.map((v) => v.version)).toEqual(["3", "2", "1"]);
    expect(versions.sizes).toEqual([2, 1]);
    const byOne = await walk((pageToken) =>
      store.searchModelVersions({ filter: `name = '${name}'`, maxResults: 1, orderBy: ["version_number ASC"], pageToken }),
    );
    expect(byOne.items.map((v) => v.version)).toEqual(["1", "2", "3"]);
    expect((await store.searchModelVersions({ filter: `name = '${name}'` })).items).toHaveLength(3);
    expect(await codeOf(store.searchRegisteredModels({ maxResults: 1001 }))).toBe("INVALID_PARAMETER_VALUE");

    // Aliases.
    await store.setRegisteredModelAlias(name, "champion", "1");
    await store.setRegisteredModelAlias(name, "challenger", "2");
    expect(await store.getModelVersionByAlias(name, "champion")).toMatchObject({ version: "1", aliases: ["champion"] });
    expect((await store.getRegisteredModel(name)).aliases).toEqual(
      expect.arrayContaining([
        { alias: "champion", version: "1" },
        { alias: "challenger", version: "2" },
      ]),
    );
    // Moving an alias to another version.
    await store.setRegisteredModelAlias(name, "champion", "3");
    expect((await store.getModelVersionByAlias(name, "champion")).version).toBe("3");
    await store.deleteRegisteredModelAlias(name, "challenger");
    expect(await codeOf(store.getModelVersionByAlias(name, "challenger"))).toBe("INVALID_PARAMETER_VALUE");
    expect((await store.getRegisteredModel(name)).aliases).toEqual([{ alias: "champion", version: "3" }]);
    expect(await codeOf(store.setRegisteredModelAlias(name, "ghost", "99"))).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("an endpoint the server lacks names its version and the call", async () => {
    const run = await newRun();
    const call = store.request({
      method: "POST",
      path: "/api/2.0/mlflow/runs/outputs",
      json: { run_id: run, models: [{ model_id: "m-" + "0".repeat(32), step: 1 }] },
    });
    if (server.major >= 3) {
      // 3.x has runs/outputs; runs/log-outputs is no endpoint there (3.4 fixture 180).
      expect(await call).toEqual({});
      const err = await failure(store.request({ method: "POST", path: "/api/2.0/mlflow/runs/log-outputs", json: { run_id: run } }));
      expect(err).toMatchObject({ code: "ENDPOINT_NOT_FOUND", httpStatus: 404 });
      expect(err.message).toMatch(
        new RegExp(`^MLflow 3\\.4\\S* at ${server.url} has no endpoint for POST /api/2\\.0/mlflow/runs/log-outputs`),
      );
    } else {
      const err = await failure(call);
      expect(err).toMatchObject({ code: "ENDPOINT_NOT_FOUND", httpStatus: 404 });
      expect(err.message).toMatch(
        new RegExp(`^MLflow 2\\.22\\S* at ${server.url} has no endpoint for POST /api/2\\.0/mlflow/runs/outputs`),
      );
      const lm = await failure(store.request({ method: "GET", path: "/api/2.0/mlflow/logged-models/m-0" }));
      expect(lm.code).toBe("ENDPOINT_NOT_FOUND");
      expect(lm.message).toContain("GET /api/2.0/mlflow/logged-models/m-0");
    }
  });

  it("MLflow's own Python client reads back what the store wrote", async () => {
    if (!server.python) return;
    const run = await newRun();
    await store.logBatch(run, {
      metrics: Array.from({ length: 7 }, (_, i) => ({ key: "loss", value: 1 / (i + 1), timestamp: T0 + i, step: i })),
      params: [{ key: "lr", value: "0.01" }],
      tags: [{ key: "stage", value: "train" }],
    });
    await store.logInputs(run, [
      {
        dataset: { name: "iris", digest: "abc", sourceType: "local", source: "{}" },
        tags: [{ key: "mlflow.data.context", value: "eval" }],
      },
    ]);
    await store.updateRun(run, { status: "FINISHED", endTime: T0 + 10 });
    const seen = await mlflowPython(
      server.version,
      server.url,
      `
import json
from mlflow import MlflowClient
c = MlflowClient()
r = c.get_run("${run}")
h = c.get_metric_history("${run}", "loss")
print(json.dumps({"status": r.info.status, "end": r.info.end_time, "params": r.data.params, "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
  "history": [[m.step, m.value] for m in h], "datasets": [[d.dataset.name, d.dataset.digest, [t.value for t in d.tags]] for d in r.inputs.dataset_inputs]}))
`,
    );
    expect(seen).toEqual({
      status: "FINISHED",
      end: T0 + 10,
      params: { lr: "0.01" },
      tags: { stage: "train" },
      history: Array.from({ length: 7 }, (_, i) => [i, 1 / (i + 1)]),
      datasets: [["iris", "abc", ["eval"]]],
    });
  });
});
