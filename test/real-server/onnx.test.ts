// An onnx model from a Python team, against real MLflow servers (2.22 and 3.4): MLflow's own
// Python client builds a linear model with python3-onnx, writes its MLmodel with MLflow's
// `Model` class as mlflow.onnx.save_model does (run_id, artifact_path, model_uuid,
// utc_time_created, mlflow_version, the onnx and python_function flavours, a signature),
// logs the folder to a run, registers it (a version whose source is runs:/<run>/model),
// points the alias Champion at it, and computes the expected predictions with numpy. We load
// `models:/NAME@Champion`, predict, and serve it: a dataframe_split POST answers
// {"predictions": [{"y": ...}, ...]} with numpy's numbers.
// Then the routes Python teams register by, each under its own alias: `mlflow.register_model`
// (a source resolved to the run's artifact location, `mlflow-artifacts:/<exp>/<run>/artifacts/model`),
// `create_model_version` of that location with no run (read through the artifact proxy),
// `Model.log(..., registered_model_name=...)` as `mlflow.onnx.log_model` calls it (on 3.4 a
// LoggedModel, source `models:/m-<id>`), and a source no client here can read (`s3://`,
// refused naming it). The same `register_model` route on a file store MLflow's client writes
// (`file:///…/mlruns/…`) loads through our file store.

import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, resolveModelSource, startScoringServer, type LoadedModel } from "../../models/index.js";
import { MlflowClient } from "../../tracking/index.js";
import { forEachRealServer, mlflowPython, pythonClientAvailable, type RealServer } from "../support/mlflow-servers.js";
import { REPO_ROOT, makeTempDir, rmTempDir } from "../support/paths.js";

const FIXTURES = path.join(REPO_ROOT, "test", "models", "fixtures");

interface Logged {
  runId: string;
  version: string;
  source: string;
  columns: string[];
  rows: number[][];
  y: number[];
  mlmodel: Record<string, unknown>;
}

const LOG_ONNX = `
import json, os, sys, tempfile
import numpy as np
import yaml
import mlflow
from mlflow import MlflowClient
sys.path.insert(0, os.environ["FIXTURES"])
import onnx_models as om

mlflow.set_experiment(os.environ["EXP_NAME"])
name = os.environ["MODEL_NAME"]
with mlflow.start_run() as run:
    d = tempfile.mkdtemp()
    om.save_onnx(om.linear_model(), d)
    om.write_mlmodel(d, om.columns("x1", "x2", "x3"), om.columns("y", type_="float"),
                     run_id=run.info.run_id, artifact_path="model", use_mlflow=True)
    mlflow.log_artifacts(d, "model")
    with open(os.path.join(d, "MLmodel")) as f:
        mlmodel = yaml.safe_load(f)
client = MlflowClient()
client.create_registered_model(name)
mv = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
client.set_registered_model_alias(name, "Champion", mv.version)
rows = [[1.5, -2.0, 0.25], [3.0, 4.0, -1.0], [0.0, 0.0, 0.0], [-7.5, 2.5, 10.0]]
y = (np.array(rows, dtype=np.float32) @ om.LINEAR_W + om.LINEAR_B).reshape(-1)
print(json.dumps({"runId": run.info.run_id, "version": str(mv.version), "source": mv.source, "columns": ["x1", "x2", "x3"],
                  "rows": rows, "y": [float(v) for v in y], "mlmodel": mlmodel}))
`;

forEachRealServer("an onnx model logged and registered by MLflow's Python client", (server: RealServer) => {
  const name = `onnx-linear-${randomBytes(4).toString("hex")}`;
  let work: string;
  let logged: Logged;
  let model: LoadedModel;

  beforeAll(async () => {
    work = makeTempDir(`real-onnx-${server.version}`);
    logged = await mlflowPython<Logged>(server.version, server.url, LOG_ONNX, {
      FIXTURES,
      EXP_NAME: `onnx-${randomBytes(4).toString("hex")}`,
      MODEL_NAME: name,
    });
    model = await loadModel(new MlflowClient(server.url, {}), `models:/${name}@Champion`, { cacheDir: path.join(work, "cache") });
  }, 180_000);
  afterAll(() => rmTempDir(work));

  it("loads models:/NAME@Champion as onnx, with the MLmodel MLflow wrote", () => {
    expect(logged.mlmodel).toMatchObject({
      run_id: logged.runId,
      artifact_path: "model",
      mlflow_version: expect.stringMatching(new RegExp(`^${server.version.replace(".", "\\.")}`)),
      flavors: { onnx: { data: "model.onnx" }, python_function: { loader_module: "mlflow.onnx" } },
    });
    expect(logged.source).toBe(`runs:/${logged.runId}/model`);
    expect(model.metadata.flavor).toBe("onnx");
    expect(model.metadata.runId).toBe(logged.runId);
    expect(model.metadata.modelUuid).toBe(logged.mlmodel.model_uuid);
    expect(model.metadata.signature?.inputs).toMatchObject({ kind: "columns", columns: [{ name: "x1" }, { name: "x2" }, { name: "x3" }] });
  });

  it("predicts numpy's numbers from records", async () => {
    const records = logged.rows.map((r) => Object.fromEntries(logged.columns.map((c, j) => [c, r[j]])));
    const out = (await model.predict(records)) as { y: number }[];
    expect(out).toHaveLength(logged.y.length);
    out.forEach((r, i) => expect(r.y).toBeCloseTo(logged.y[i]!, 5));
  });

  it("serves it: a dataframe_split POST answers {predictions: records} with numpy's numbers", async () => {
    const serving = await startScoringServer({ model });
    try {
      const res = await fetch(`${serving.url}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ dataframe_split: { columns: logged.columns, data: logged.rows } }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: { y: number }[] };
      expect(body.predictions.map((r) => Object.keys(r))).toEqual(logged.y.map(() => ["y"]));
      body.predictions.forEach((r, i) => expect(r.y).toBeCloseTo(logged.y[i]!, 5));
    } finally {
      await serving.close();
    }
  });
});

interface Version {
  version: string;
  source: string;
  run_id: string;
}
interface Registered {
  artifactUri: string;
  runId: string;
  registered: Version;
  located: Version;
  elsewhere?: Version;
  logged?: Version & { model_uri: string; runId: string };
  rows: number[][];
  y: number[];
}

// ROUTES: "all" on a server; "register" on a file store (its LoggedModels are not read here).
const REGISTER_ONNX = String.raw`
import json, os, sys, tempfile, types
import mlflow
from mlflow import MlflowClient, pyfunc
from mlflow.models import Model, ModelSignature
sys.path.insert(0, os.environ["FIXTURES"])
import onnx_models as om

INPUTS, OUTPUTS = om.columns("x1", "x2", "x3"), om.columns("y", type_="float")

def save_model(path, mlflow_model=None, **kwargs):
    # What mlflow.onnx.save_model does (it imports onnxruntime, which Debian lacks).
    om.save_onnx(om.linear_model(), path)
    mlflow_model = mlflow_model or Model()
    mlflow_model.signature = ModelSignature.from_dict({"inputs": json.dumps(INPUTS), "outputs": json.dumps(OUTPUTS)})
    pyfunc.add_to_model(mlflow_model, loader_module="mlflow.onnx", data="model.onnx", conda_env="conda.yaml", python_env="python_env.yaml", code=None)
    mlflow_model.add_flavor("onnx", onnx_version=om.onnx.__version__, data="model.onnx", providers=om.ONNX_EXECUTION_PROVIDERS, onnx_session_options=None, code=None)
    mlflow_model.save(os.path.join(path, "MLmodel"))

mlflow.set_experiment(os.environ["EXP_NAME"])
name = os.environ["MODEL_NAME"]
c = MlflowClient()
out = {}
def version(mv, alias):
    c.set_registered_model_alias(name, alias, mv.version)
    return {"version": mv.version, "source": mv.source, "run_id": mv.run_id or ""}

with mlflow.start_run() as run:
    d = tempfile.mkdtemp()
    save_model(d)
    mlflow.log_artifacts(d, "model")
out["artifactUri"], out["runId"] = run.info.artifact_uri, run.info.run_id
# The common Python route: MLflow stores the source resolved to the run's artifact location.
out["registered"] = version(mlflow.register_model(f"runs:/{run.info.run_id}/model", name), "Registered")
# That location with no run.
out["located"] = version(c.create_model_version(name, out["registered"]["source"]), "Located")
if os.environ["ROUTES"] == "all":
    out["elsewhere"] = version(c.create_model_version(name, "s3://models-bucket/onnx/model", run_id=run.info.run_id), "Elsewhere")
    # mlflow.onnx.log_model is Model.log with the onnx flavour module.
    flavor = types.SimpleNamespace(__name__="mlflow.onnx", save_model=save_model)
    with mlflow.start_run() as run2:
        if mlflow.__version__.startswith("2"):
            info = Model.log("logged", flavor, registered_model_name=name)
        else:
            info = Model.log(None, flavor, registered_model_name=name, name="logged")
    out["logged"] = {**version(c.get_model_version(name, info.registered_model_version), "Logged"), "model_uri": info.model_uri, "runId": run2.info.run_id}
out["rows"] = [[1.5, -2.0, 0.25], [3.0, 4.0, -1.0], [0.0, 0.0, 0.0], [-7.5, 2.5, 10.0]]
out["y"] = om.linear_expected(out["rows"])
print(json.dumps(out))
`;

/** Loads `models:/NAME@alias` and checks its predictions against numpy's. */
async function expectPredicts(client: MlflowClient, uri: string, cacheDir: string, reg: Registered): Promise<LoadedModel> {
  const model = await loadModel(client, uri, { cacheDir });
  expect(model.metadata.flavor).toBe("onnx");
  const out = (await model.predict(reg.rows.map(([x1, x2, x3]) => ({ x1, x2, x3 })))) as { y: number }[];
  expect(out.map((r) => r.y)).toHaveLength(reg.y.length);
  out.forEach((r, i) => expect(r.y).toBeCloseTo(reg.y[i]!, 5));
  return model;
}

forEachRealServer("onnx versions registered the common Python ways", (server: RealServer) => {
  const name = `onnx-routes-${randomBytes(4).toString("hex")}`;
  const client = new MlflowClient(server.url, {});
  let work: string;
  let reg: Registered;

  beforeAll(async () => {
    work = makeTempDir(`real-onnx-routes-${server.version}`);
    reg = await mlflowPython<Registered>(server.version, server.url, REGISTER_ONNX, {
      FIXTURES,
      EXP_NAME: `onnx-routes-${randomBytes(4).toString("hex")}`,
      MODEL_NAME: name,
      ROUTES: "all",
    });
  }, 180_000);
  afterAll(() => rmTempDir(work));

  it("mlflow.register_model: a source resolved under the run's artifact URI loads as that run's artifacts", async () => {
    expect(reg.registered).toEqual({ version: "1", source: `${reg.artifactUri}/model`, run_id: reg.runId });
    expect(reg.artifactUri).toMatch(/^mlflow-artifacts:\//);
    const uri = `models:/${name}@Registered`;
    expect(await resolveModelSource(client, uri)).toEqual({
      kind: "run",
      runId: reg.runId,
      path: "model",
      location: reg.registered.source,
    });
    await expectPredicts(client, uri, path.join(work, "cache"), reg);
  });

  it("create_model_version of that location with no run: read as it is through the artifact proxy", async () => {
    expect(reg.located).toEqual({ version: "2", source: reg.registered.source, run_id: "" });
    const uri = `models:/${name}@Located`;
    expect(await resolveModelSource(client, uri)).toEqual({ kind: "artifacts", location: reg.located.source });
    // A cache of its own: the run's download above must not stand in for this one.
    await expectPredicts(client, uri, path.join(work, "cache-located"), reg);
  });

  it("log_model(registered_model_name=...) loads by alias (a LoggedModel on MLflow 3)", async () => {
    const logged = reg.logged!;
    if (server.major >= 3) {
      expect(logged.source).toMatch(/^models:\/m-[0-9a-f]{32}$/);
      expect(logged.model_uri).toBe(logged.source);
      expect(await resolveModelSource(client, `models:/${name}@Logged`)).toMatchObject({
        kind: "logged-model",
        modelId: logged.source.slice(8),
      });
    } else {
      expect(logged.source).toMatch(new RegExp(`^mlflow-artifacts:/.*/${logged.runId}/artifacts/logged$`));
      expect(await resolveModelSource(client, `models:/${name}@Logged`)).toMatchObject({
        kind: "run",
        runId: logged.runId,
        path: "logged",
      });
    }
    expect(logged.run_id).toBe(logged.runId);
    const model = await expectPredicts(client, `models:/${name}@Logged`, path.join(work, "cache"), reg);
    expect(model.metadata.runId).toBe(logged.runId);
  });

  it("a source outside the run's artifacts that no client here reads is refused naming it and what is accepted", async () => {
    expect(reg.elsewhere).toMatchObject({ source: "s3://models-bucket/onnx/model", run_id: reg.runId });
    const err = await loadModel(client, `models:/${name}@Elsewhere`, { cacheDir: path.join(work, "cache") }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "UNSUPPORTED_URI" });
    expect((err as Error).message).toContain(
      `Cannot download the model "models:/${name}@Elsewhere": its source "s3://models-bucket/onnx/model" cannot be read by this client (it does not lie under the artifact URI of its run ${reg.runId}). Accepted sources: runs:/<run_id>/<path>;`,
    );
    expect((err as Error).message).toMatch(
      /mlflow-artifacts:\/<path> \(through the tracking server's artifact proxy\); file:\/\/\/<path> or a local path\.$/,
    );
  });
});

for (const version of ["2.22", "3.4"]) {
  describe(`an onnx version registered by mlflow.register_model on MLflow ${version}'s file store`, () => {
    it.skipIf(!pythonClientAvailable(version))(
      "its file: source under the run's artifact URI loads by alias through our file store",
      async () => {
        const work = makeTempDir(`real-onnx-filestore-${version}`);
        try {
          const store = pathToFileURL(path.join(work, "mlruns")).href;
          const name = `onnx-fs-${randomBytes(4).toString("hex")}`;
          const reg = await mlflowPython<Registered>(version, store, REGISTER_ONNX, {
            FIXTURES,
            EXP_NAME: "onnx-fs",
            MODEL_NAME: name,
            ROUTES: "register",
          });
          expect(reg.registered.source).toBe(`${reg.artifactUri}/model`);
          expect(reg.registered.source).toMatch(/^file:\/\/\//);
          const client = new MlflowClient(store, {});
          expect(await resolveModelSource(client, `models:/${name}@Registered`)).toMatchObject({
            kind: "run",
            runId: reg.runId,
            path: "model",
          });
          await expectPredicts(client, `models:/${name}@Registered`, path.join(work, "cache"), reg);
          // With no run, a file: source is the folder itself.
          expect(await resolveModelSource(client, `models:/${name}@Located`)).toEqual({
            kind: "local",
            dir: path.join(fileURLToPath(reg.artifactUri), "model"),
          });
          await expectPredicts(client, `models:/${name}@Located`, path.join(work, "cache"), reg);
        } finally {
          rmTempDir(work);
        }
      },
      120_000,
    );
  });
}
