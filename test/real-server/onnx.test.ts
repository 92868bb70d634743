// An onnx model from a Python team, against real MLflow servers (2.22 and 3.4): MLflow's own
// Python client builds a linear model with python3-onnx, writes its MLmodel with MLflow's
// `Model` class as mlflow.onnx.save_model does (run_id, artifact_path, model_uuid,
// utc_time_created, mlflow_version, the onnx and python_function flavours, a signature),
// logs the folder to a run, registers it (a version whose source is runs:/<run>/model),
// points the alias Champion at it, and computes the expected predictions with numpy. We load
// `models:/NAME@Champion`, predict, and serve it: a dataframe_split POST answers
// {"predictions": [{"y": ...}, ...]} with numpy's numbers.

import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadModel, startScoringServer, type LoadedModel } from "../../models/index.js";
import { MlflowClient } from "../../tracking/index.js";
import { forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";
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
