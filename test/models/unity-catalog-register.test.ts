// Registering a logged model into Unity Catalog (registry URI `databricks-uc`, three-level
// names `catalog.schema.model`): every registry call, whether the version comes from a run's
// artifacts (a workspace without LoggedModels) or from an MLflow 3 LoggedModel, is sent under
// Unity Catalog's prefix, while tracking and LoggedModel calls keep the workspace's paths.
// A stand-in on 127.0.0.1 answers just enough of each call and records every path requested.
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { logModel } from "../../models/index.js";
import { MlflowClient, UNITY_CATALOG_REGISTRY_API, openStore } from "../../tracking/index.js";
import { MlflowStandin, type ReceivedRequest, type StandinAnswer } from "../support/mlflow-standin.js";

const here = join(import.meta.dirname, "fixtures", "linear");
const NAME = "main.ml.fx_model";
const RUN = "0123456789abcdef0123456789abcdef";
const MODEL_ID = `m-${"ab".repeat(16)}`;

const json = (body: unknown): StandinAnswer => ({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
const run = {
  info: {
    run_id: RUN,
    run_uuid: RUN,
    experiment_id: "7",
    status: "RUNNING",
    artifact_uri: `mlflow-artifacts:/7/${RUN}/artifacts`,
    lifecycle_stage: "active",
  },
  data: {},
};
const versionOf = (req: ReceivedRequest) => {
  const b = req.json as { name: string; source: string; run_id?: string };
  return json({ model_version: { name: b.name, version: "1", source: b.source, run_id: b.run_id ?? RUN, status: "READY" } });
};

let s: MlflowStandin;
let client: MlflowClient;
const home = mkdtempSync(join(tmpdir(), "models-uc-"));
beforeAll(async () => {
  s = await MlflowStandin.start({ version: "3.4" });
  const env = { DATABRICKS_HOST: s.url, DATABRICKS_TOKEN: "dapi-uc", MLFLOW_REGISTRY_URI: "databricks-uc", HOME: home };
  client = new MlflowClient(openStore("databricks", env, { maxRetries: 0 }), env);
});
afterEach(() => {
  s.reset();
  s.clearRoutes();
});
afterAll(async () => {
  await client?.close();
  await s?.close();
  await rm(home, { recursive: true, force: true });
});

/** Routes every call either register path makes; `version` is what `/version` answers (none: a 404). */
function routeWorkspace(version: string | undefined): void {
  if (version) s.route("GET", "/version", () => ({ status: 200, contentType: "text/plain", body: version }));
  s.route("GET", "/api/2.0/mlflow/runs/get", () => json({ run }));
  s.route("PUT", /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//, () => json({}));
  s.route("POST", `${UNITY_CATALOG_REGISTRY_API}/registered-models/create`, (req) =>
    json({ registered_model: { name: (req.json as { name: string }).name } }),
  );
  s.route("POST", `${UNITY_CATALOG_REGISTRY_API}/model-versions/create`, versionOf);
  s.route("POST", "/api/2.0/mlflow/logged-models", () =>
    json({
      model: {
        info: {
          model_id: MODEL_ID,
          experiment_id: "7",
          name: "model",
          artifact_uri: `mlflow-artifacts:/7/models/${MODEL_ID}/artifacts`,
          status: "LOGGED_MODEL_PENDING",
          source_run_id: RUN,
        },
      },
    }),
  );
  s.route("PATCH", `/api/2.0/mlflow/logged-models/${MODEL_ID}`, (req) =>
    json({ model: { info: { model_id: MODEL_ID, status: (req.json as { status: string }).status } } }),
  );
  s.route("POST", "/api/2.0/mlflow/runs/outputs", () => json({}));
}

const paths = () => s.received.map((r) => `${r.method} ${r.path}`);
const registryCalls = () => paths().filter((p) => /\/(registered-models|model-versions)\//.test(p));

it("registers a model logged into a run's artifacts under the Unity Catalog prefix", async () => {
  routeWorkspace(undefined); // no /version: no LoggedModels, the model goes into the run
  const info = await logModel(client, RUN, join(here, "model.ts"), {
    inputExample: [{ x: 1, y: 2 }],
    artifacts: { weights: join(here, "weights.yaml") },
    registeredModelName: NAME,
  });
  expect(info).toMatchObject({ modelUri: `runs:/${RUN}/model`, registeredModelVersion: "1" });
  // %mlflow_register's way, too: the client's registerModel.
  expect((await client.registerModel(info.modelUri, NAME)).version).toBe("1");

  expect(s.unexpected.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /version"]);
  expect(registryCalls()).toEqual([
    `POST ${UNITY_CATALOG_REGISTRY_API}/registered-models/create`,
    `POST ${UNITY_CATALOG_REGISTRY_API}/model-versions/create`,
    `POST ${UNITY_CATALOG_REGISTRY_API}/registered-models/create`,
    `POST ${UNITY_CATALOG_REGISTRY_API}/model-versions/create`,
  ]);
  const created = s.received.filter((r) => r.path.endsWith("/model-versions/create")).map((r) => r.json);
  expect(created).toEqual([
    { name: NAME, source: `runs:/${RUN}/model`, run_id: RUN },
    { name: NAME, source: `runs:/${RUN}/model`, run_id: RUN },
  ]);
  expect(paths()).toContain(`PUT /api/2.0/mlflow-artifacts/artifacts/7/${RUN}/artifacts/model/MLmodel`);
});

it("registers a LoggedModel under the Unity Catalog prefix; the LoggedModel calls keep the workspace's paths", async () => {
  routeWorkspace("3.4.0");
  const info = await logModel(client, RUN, join(here, "model.ts"), {
    inputExample: [{ x: 1, y: 2 }],
    artifacts: { weights: join(here, "weights.yaml") },
    registeredModelName: NAME,
  });
  expect(info).toMatchObject({ modelUri: `models:/${MODEL_ID}`, modelId: MODEL_ID, registeredModelVersion: "1" });

  expect(s.unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  expect(registryCalls()).toEqual([
    `POST ${UNITY_CATALOG_REGISTRY_API}/registered-models/create`,
    `POST ${UNITY_CATALOG_REGISTRY_API}/model-versions/create`,
  ]);
  expect(s.received.find((r) => r.path.endsWith("/model-versions/create"))!.json).toEqual({
    name: NAME,
    source: `models:/${MODEL_ID}`,
    model_id: MODEL_ID,
  });
  expect(paths()).toEqual(
    expect.arrayContaining([
      "POST /api/2.0/mlflow/logged-models",
      `PATCH /api/2.0/mlflow/logged-models/${MODEL_ID}`,
      "POST /api/2.0/mlflow/runs/outputs",
      `PUT /api/2.0/mlflow-artifacts/artifacts/7/models/${MODEL_ID}/artifacts/MLmodel`,
    ]),
  );
  expect(s.received.every((r) => r.headers.authorization === "Bearer dapi-uc")).toBe(true);
});
