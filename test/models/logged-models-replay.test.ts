// The LoggedModel calls (tracking/rest/logged-models.ts) replayed against MLflow 3.4's recorded
// exchanges: each request must have the recorded method, path, query and body, and each
// answer is read as MLflow's client reads it. Against a 2.22 stand-in, the same calls fail
// naming the server's version and the call (they go through RestStore.request).
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  RestStore,
  createLoggedModel,
  createModelVersionFromLoggedModel,
  deleteLoggedModel,
  finalizeLoggedModel,
  getLoggedModel,
  listLoggedModelArtifacts,
  logModelOutputs,
  loggedModelArtifacts,
  modelVersionDownloadUri,
  runModelOutputs,
  serverMajorVersion,
} from "../../tracking/index.js";
import { MlflowStandin, exchange34 } from "../support/mlflow-standin.js";

let s: MlflowStandin;
let store: RestStore;
beforeAll(async () => {
  s = await MlflowStandin.start({ version: "3.4" });
  store = new RestStore({ baseUrl: s.url, maxRetries: 0 });
});
afterAll(async () => {
  await store?.close();
  await s?.close();
});

async function replay<T>(nos: number[], fn: () => Promise<T>): Promise<T> {
  s.reset();
  s.expect(...nos.map(exchange34));
  const out = await fn();
  expect(s.mismatches).toEqual([]);
  expect(s.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  expect(s.pending.map((e) => e.file)).toEqual([]);
  return out;
}

it("creates, uploads into, lists, finalizes, links and registers a LoggedModel as MLflow 3.4's client does", async () => {
  const run = s.substitute("<RUN_E>");
  const modelId = s.substitute("<MODEL_A>");
  const created = await replay([140], () =>
    createLoggedModel(store, {
      experimentId: "1",
      name: "fx-lm",
      modelType: "classifier",
      sourceRunId: run,
      params: [{ key: "alpha", value: "0.5" }],
      tags: [{ key: "team", value: "ts" }],
    }),
  );
  expect(created).toMatchObject({
    modelId,
    name: "fx-lm",
    status: "LOGGED_MODEL_PENDING",
    sourceRunId: run,
    artifactUri: `mlflow-artifacts:/1/models/${modelId}/artifacts`,
  });
  expect((await replay([144], () => getLoggedModel(store, modelId))).params).toEqual([{ key: "alpha", value: "0.5" }]);
  await replay([151], () => loggedModelArtifacts(store, created).put("MLmodel", "artifact_path: model\nflavors: {}\n"));
  expect(await replay([153], () => listLoggedModelArtifacts(store, modelId))).toEqual([
    { path: "MLmodel", isDir: false, fileSize: 33 },
    { path: "data", isDir: true },
  ]);
  expect((await replay([158], () => finalizeLoggedModel(store, modelId, "LOGGED_MODEL_READY"))).status).toBe("LOGGED_MODEL_READY");
  await replay([178], () => logModelOutputs(store, run, [{ modelId, step: 1 }]));
  expect(await replay([181], () => runModelOutputs(store, run))).toEqual([modelId]);
  const mv = await replay([183], () => createModelVersionFromLoggedModel(store, { name: "fx-model", modelId }));
  expect(mv).toMatchObject({ name: "fx-model", version: "3", source: `models:/${modelId}`, runId: run, status: "READY" });
  expect(await replay([188], () => modelVersionDownloadUri(store, "fx-model", "3"))).toBe(
    `mlflow-artifacts:/1/models/${modelId}/artifacts`,
  );
  const deleted = s.requestOf(exchange34(197)).path.split("/").pop()!;
  await replay([197], () => deleteLoggedModel(store, deleted));
});

it("reads the server's major version from /version, and refuses a malformed model id before sending", async () => {
  expect(await replay([202], () => serverMajorVersion(store))).toBe(3);
  await expect(getLoggedModel(store, "model-1")).rejects.toThrow(/Invalid LoggedModel id "model-1": expected "m-" and 32 hex digits/);
});

it("on an MLflow 2.22 stand-in, a LoggedModel call fails naming the server's version, its URL and the call", async () => {
  const s22 = await MlflowStandin.start({ version: "2.22" });
  const store22 = new RestStore({ baseUrl: s22.url, maxRetries: 0 });
  try {
    s22.route("GET", "/version", 123);
    const modelId = `m-${"0".repeat(32)}`;
    const where = `MLflow 2\\.22\\.1\\.dev0 at ${s22.url.replace(/\./g, "\\.")}`;
    await expect(getLoggedModel(store22, modelId)).rejects.toThrow(
      new RegExp(`^${where} has no endpoint for GET /api/2\\.0/mlflow/logged-models/${modelId} \\(HTTP 404\\)`),
    );
    await expect(createLoggedModel(store22, { experimentId: "0", name: "m" })).rejects.toMatchObject({
      code: "ENDPOINT_NOT_FOUND",
      message: expect.stringMatching(new RegExp(`^${where} has no endpoint for POST /api/2\\.0/mlflow/logged-models `)),
    });
    // Routed, not stray: every request was answered as 2.22 answers a path it lacks.
    expect(s22.unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /api/2.0/mlflow/logged-models/${modelId}`,
      "POST /api/2.0/mlflow/logged-models",
    ]);
    expect(await serverMajorVersion(store22)).toBe(2);
  } finally {
    await store22.close();
    await s22.close();
  }
});
