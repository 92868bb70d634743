// The LoggedModel calls (tracking/rest/logged-models.ts) replayed against MLflow 3.4's recorded
// exchanges: each request must have the recorded method, path, query and body, and each
// answer is read as MLflow's client reads it.
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  RestStore, createLoggedModel, createModelVersionFromLoggedModel, deleteLoggedModel, finalizeLoggedModel, getLoggedModel,
  listLoggedModelArtifacts, logModelOutputs, loggedModelArtifacts, modelVersionDownloadUri, runModelOutputs, serverMajorVersion,
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
  const http = store.http;
  const run = s.substitute("<RUN_E>");
  const modelId = s.substitute("<MODEL_A>");
  const created = await replay([140], () => createLoggedModel(http, {
    experimentId: "1", name: "fx-lm", modelType: "classifier", sourceRunId: run, params: [{ key: "alpha", value: "0.5" }], tags: [{ key: "team", value: "ts" }],
  }));
  expect(created).toMatchObject({ modelId, name: "fx-lm", status: "LOGGED_MODEL_PENDING", sourceRunId: run, artifactUri: `mlflow-artifacts:/1/models/${modelId}/artifacts` });
  expect((await replay([144], () => getLoggedModel(http, modelId))).params).toEqual([{ key: "alpha", value: "0.5" }]);
  await replay([151], () => loggedModelArtifacts(http, created).put("MLmodel", "artifact_path: model\nflavors: {}\n"));
  expect(await replay([153], () => listLoggedModelArtifacts(http, modelId))).toEqual([
    { path: "MLmodel", isDir: false, fileSize: 33 }, { path: "data", isDir: true },
  ]);
  expect((await replay([158], () => finalizeLoggedModel(http, modelId, "LOGGED_MODEL_READY"))).status).toBe("LOGGED_MODEL_READY");
  await replay([178], () => logModelOutputs(http, run, [{ modelId, step: 1 }]));
  expect(await replay([181], () => runModelOutputs(http, run))).toEqual([modelId]);
  const mv = await replay([183], () => createModelVersionFromLoggedModel(http, { name: "fx-model", modelId }));
  expect(mv).toMatchObject({ name: "fx-model", version: "3", source: `models:/${modelId}`, runId: run, status: "READY" });
  expect(await replay([188], () => modelVersionDownloadUri(http, "fx-model", "3"))).toBe(`mlflow-artifacts:/1/models/${modelId}/artifacts`);
  const deleted = s.requestOf(exchange34(197)).path.split("/").pop()!;
  await replay([197], () => deleteLoggedModel(http, deleted));
});

it("reads the server's major version from /version, and refuses a malformed model id before sending", async () => {
  expect(await replay([202], () => serverMajorVersion(store.http))).toBe(3);
  await expect(getLoggedModel(store.http, "model-1")).rejects.toThrow(/Invalid LoggedModel id "model-1": expected "m-" and 32 hex digits/);
});
