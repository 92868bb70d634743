// Models against real MLflow servers (2.22 and 3.4): a spawned kernel logs a model from code
// (a .ts file, a local module it imports, a weights artifact) with an input example and a
// registered model name, points Champion at it with %mlflow_alias, loads it back by alias
// and by the returned URI and predicts; a failed log registers nothing. Then MLflow's own
// Python client of the same version loads our MLmodel, sees our signature, finds the version
// and the alias, and on 3.4 finds the LoggedModel READY. `%mlflow_compare --model` labels the
// source run by the versions' aliases. On 3.4, a TensorFlow.js model built in a cell is logged,
// registered, loaded by alias and predicts, and MLflow's client reads its `tfjs` flavour.

import { randomBytes } from "node:crypto";
import { cpSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import { forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";
import { contentsOf, KernelClient, startKernelIn } from "../support/kernel.js";
import { REPO_ROOT, makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

forEachRealServer("models logged from a spawned kernel", (server: RealServer) => {
  const experiment = `models-e2e-${randomBytes(4).toString("hex")}`;
  const name = `logreg-${randomBytes(4).toString("hex")}`;
  let kernel: KernelClient;
  let work: string;
  let info: Content;

  const exec = async (code: string) => {
    const r = await kernel.execute(code, { timeout: 120_000 });
    return { status: (r.reply.content as Content).status as string, reply: r.reply.content as Content, outputs: r.outputs };
  };
  // Cells print their results as JSON on stdout (an execute_result shows strings quoted).
  const printed = (outs: Message[]) =>
    JSON.parse(
      contentsOf(outs, "stream")
        .filter((s) => s.name === "stdout")
        .map((s) => s.text)
        .join(""),
    );
  const python = <T = any>(script: string) => mlflowPython<T>(server.version, server.url, script);

  beforeAll(async () => {
    work = makeTempDir(`real-models-${server.version}`);
    cpSync(path.join(REPO_ROOT, "test", "models", "fixtures", "logreg"), work, { recursive: true });
    cpSync(path.join(REPO_ROOT, "test", "models", "fixtures", "linear", "no-predict.ts"), path.join(work, "no-predict.ts"));
    kernel = await startKernelIn(work, { MLFLOW_TRACKING_URI: server.url, XDG_CACHE_HOME: path.join(work, "cache") });
    expect((await exec(`%mlflow_experiment ${experiment}`)).status).toBe("ok");
  }, 120_000);
  afterAll(async () => {
    await kernel?.close();
    rmTempDir(work);
  });

  it("logModel registers, %mlflow_alias sets Champion, loadModel predicts by alias; a failed log registers nothing", async () => {
    const logged = await exec(
      [
        `%%mlflow_run train`,
        `mlflow.logMetric("accuracy", 0.9);`,
        `const info = await mlflow.logModel("model.ts", { name: "clf", inputExample: [{ x1: 0.5, x2: 1 }, { x1: -1, x2: 2 }], artifacts: { weights: "weights.json" }, registeredModelName: ${JSON.stringify(name)} });`,
        `console.log(JSON.stringify(info));`,
      ].join("\n"),
    );
    expect(logged.status, JSON.stringify(logged.reply)).toBe("ok");
    info = printed(logged.outputs);
    expect(info).toMatchObject({ artifactPath: "clf", registeredModelVersion: "1" });
    if (server.major >= 3) expect(info.modelUri).toBe(`models:/${info.modelId}`);
    else expect(info.modelUri).toBe(`runs:/${info.runId}/clf`);

    expect((await exec(`%mlflow_alias ${name} Champion 1`)).status).toBe("ok");
    const loaded = await exec(
      [
        `const byAlias = await mlflow.loadModel("models:/${name}@Champion");`,
        `const byUri = await mlflow.loadModel(${JSON.stringify(info.modelUri)});`,
        `const byRun = await mlflow.loadModel("runs:/${info.runId}/clf");`,
        `console.log(JSON.stringify([await byAlias.predict([{ x1: 1, x2: 2 }]), await byUri.predict([{ x1: 0, x2: 0 }]), await byRun.predict({ x1: [3], x2: [1] }), byAlias.metadata.runId, byAlias.metadata.flavor]));`,
      ].join("\n"),
    );
    expect(loaded.status, JSON.stringify(loaded.reply)).toBe("ok");
    const [p1, p2, p3, runId, flavor] = printed(loaded.outputs);
    expect(p1[0]).toBeCloseTo(sigmoid(2 * 1 - 1 * 2 + 0.5), 12);
    expect(p2[0]).toBeCloseTo(sigmoid(0.5), 12);
    expect(p3[0]).toBeCloseTo(sigmoid(6 - 1 + 0.5), 12);
    expect([runId, flavor]).toEqual([info.runId, "typescript_function"]);

    const bad = await exec(`await byAlias.predict([{ x1: 1, x2: "2" }])`);
    expect(bad.status).toBe("error");
    expect(bad.reply.evalue).toMatch(/column "x2" expects double but got string \("2"\) in record 0/);

    const failed = await exec(
      `%%mlflow_run broken\nawait mlflow.logModel("no-predict.ts", { name: "bad", registeredModelName: ${JSON.stringify(name)} });`,
    );
    expect(failed.status).toBe("error");
    expect(failed.reply.evalue).toMatch(/no-predict\.ts.*has no predict/);

    const table = await exec(`%mlflow_models ${name}`);
    const text = contentsOf(table.outputs, "display_data")[0]!.data["text/plain"] as string;
    expect(text).toMatch(new RegExp(`${name}: 1 version\\n`));
    expect(text).toMatch(/1\s+Champion\s+READY\s+train/);
    expect(text).toContain("0.9");
  }, 180_000);

  it("MLflow's Python client loads our MLmodel, sees the signature, the version and the alias", async () => {
    const seen = await python<Content>(`
import json, mlflow
from mlflow.models import Model, get_model_info
uri = "models:/${name}@Champion"
m = Model.load(uri)
info = get_model_info(uri)
c = mlflow.MlflowClient()
mv = c.get_model_version_by_alias("${name}", "Champion")
out = {
  "flavors": sorted(m.flavors), "inputs": info.signature.inputs.to_dict(), "outputs": info.signature.outputs.to_dict(),
  "example": m.saved_input_example_info, "version": mv.version, "run_id": mv.run_id, "source": mv.source,
  "versions": sorted(v.version for v in c.search_model_versions("name='${name}'")),
  "aliases": c.get_registered_model("${name}").aliases,
}
if ${server.major} >= 3:
  lm = c.get_logged_model(m.model_id)
  out["logged_model"] = {"status": str(lm.status), "name": lm.name, "source_run_id": lm.source_run_id}
print(json.dumps(out))
`);
    expect(seen).toMatchObject({
      flavors: ["typescript_function"],
      inputs: [
        { type: "double", name: "x1", required: true },
        { type: "double", name: "x2", required: true },
      ],
      outputs: [{ type: "double", required: true }],
      example: { artifact_path: "input_example.json", type: "dataframe", pandas_orient: "split" },
      version: "1",
      run_id: info.runId,
      versions: ["1"],
      aliases: { Champion: "1" },
    });
    if (server.major >= 3) {
      expect(seen.source).toBe(`models:/${info.modelId}`);
      expect(seen.logged_model).toEqual({ status: "READY", name: "clf", source_run_id: info.runId });
    } else expect(seen.source).toBe(`runs:/${info.runId}/clf`);
  }, 120_000);

  it("%mlflow_register adds a version with aliases, %mlflow_alias --delete removes one; MLflow's client agrees", async () => {
    const bad = await exec(`%mlflow_register ${info.modelUri} ${name} --alias v2`);
    expect(bad.status).toBe("error");
    expect(bad.reply.evalue).toMatch(/Bad --alias "v2"/);
    const reg = await exec(
      `%mlflow_register ${info.modelUri} ${name} --alias Challenger --alias Shadow --tag stage=canary --description "second look"`,
    );
    expect(reg.status, JSON.stringify(reg.reply)).toBe("ok");
    expect(contentsOf(reg.outputs, "display_data")[0]!.data["text/plain"]).toBe(
      `Registered ${name} version 2 from ${info.modelUri} (aliases: Challenger, Shadow).`,
    );
    expect((await exec(`%mlflow_alias ${name} Shadow --delete`)).status).toBe("ok");
    const seen = await python<Content>(`
import json, mlflow
from mlflow.models import get_model_info
c = mlflow.MlflowClient()
v2 = c.get_model_version("${name}", "2")
info = get_model_info("models:/${name}@Challenger")
print(json.dumps({"aliases": c.get_registered_model("${name}").aliases, "tags": v2.tags, "description": v2.description,
  "versions": sorted(v.version for v in c.search_model_versions("name='${name}'")), "inputs": info.signature.inputs.to_dict()}))
`);
    expect(seen).toMatchObject({
      aliases: { Champion: "1", Challenger: "2" },
      tags: { stage: "canary" },
      description: "second look",
      versions: ["1", "2"],
    });
    expect(seen.inputs).toEqual([
      { type: "double", name: "x1", required: true },
      { type: "double", name: "x2", required: true },
    ]);
  }, 120_000);

  it("%mlflow_compare --model charts the aliased versions' source run under their aliases", async () => {
    // Champion (v1) and Challenger (v2) both came from the `train` run (v2 through the
    // LoggedModel's source run on 3.4): one row, labelled by both.
    const r = await exec(`%mlflow_compare --model ${name} --kind bar`);
    expect(r.status, JSON.stringify(r.reply)).toBe("ok");
    const bundle = contentsOf(r.outputs, "display_data")[0]!.data;
    expect(JSON.stringify(bundle["application/vnd.vegalite.v5+json"])).toContain('"run":"Champion (v1) / Challenger (v2)"');
    expect(bundle["text/plain"]).toMatch(/^Champion \(v1\) \/ Challenger \(v2\)\s+train\s+\S+\s+0\.9$/m);
    const unknown = await exec(`%mlflow_compare --model ${name}-missing`);
    expect(unknown.status).toBe("error");
    expect(unknown.reply.evalue).toContain(`Unknown registered model "${name}-missing"`);
  }, 120_000);

  it.skipIf(server.major < 3)(
    "logs a TensorFlow.js model built in a cell, registers it, loads it by alias; MLflow reads its tfjs flavour",
    async () => {
      const tfName = `tfjs-${randomBytes(4).toString("hex")}`;
      const logged = await exec(
        [
          `%%mlflow_run tfjs-train`,
          `import * as tf from "@tensorflow/tfjs";`,
          `const net = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });`,
          `net.setWeights([tf.tensor2d([[2], [-1]]), tf.tensor1d([0.5])]);`,
          `const tfInfo = await mlflow.logModel(net, { name: "net", inputExample: [[1, 2], [0, 0]], registeredModelName: ${JSON.stringify(tfName)} });`,
          `console.log(JSON.stringify(tfInfo));`,
        ].join("\n"),
      );
      expect(logged.status, JSON.stringify(logged.reply)).toBe("ok");
      const tfInfo = printed(logged.outputs);
      expect(tfInfo).toMatchObject({ artifactPath: "net", registeredModelVersion: "1", modelUri: `models:/${tfInfo.modelId}` });
      expect((await exec(`%mlflow_alias ${tfName} Champion 1`)).status).toBe("ok");

      const loaded = await exec(
        [
          `const champ = await mlflow.loadModel("models:/${tfName}@Champion");`,
          `console.log(JSON.stringify([await champ.predict([[1, 2], [3, 1]]), champ.metadata.flavor, champ.metadata.runId]));`,
        ].join("\n"),
      );
      expect(loaded.status, JSON.stringify(loaded.reply)).toBe("ok");
      const [pred, flavor, runId] = printed(loaded.outputs);
      expect(pred[0][0]).toBeCloseTo(2 * 1 - 1 * 2 + 0.5, 5);
      expect(pred[1][0]).toBeCloseTo(2 * 3 - 1 * 1 + 0.5, 5);
      expect([flavor, runId]).toEqual(["tfjs", tfInfo.runId]);
      const bad = await exec(`await champ.predict([[1, 2, 3]])`);
      expect(bad.status).toBe("error");
      expect(bad.reply.evalue).toMatch(/expects shape \[-1, 2\]/);

      const seen = await python<Content>(`
import json, mlflow
from mlflow.models import Model, get_model_info
uri = "models:/${tfName}@Champion"
m = Model.load(uri)
info = get_model_info(uri)
c = mlflow.MlflowClient()
lm = c.get_logged_model(m.model_id)
print(json.dumps({"flavors": sorted(m.flavors), "tfjs": m.flavors["tfjs"], "inputs": info.signature.inputs.to_dict(),
  "run_id": c.get_model_version_by_alias("${tfName}", "Champion").run_id, "status": str(lm.status), "model_id": m.model_id}))
`);
      expect(seen).toMatchObject({
        flavors: ["tfjs"],
        tfjs: { model_format: "layers-model", model_json: "data/model.json" },
        inputs: [{ type: "tensor", "tensor-spec": { dtype: "float64", shape: [-1, 2] } }],
        run_id: tfInfo.runId,
        status: "READY",
        model_id: tfInfo.modelId,
      });
    },
    180_000,
  );
});
