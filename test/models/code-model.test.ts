// Models from code against a real file store: the .ts file, its local module and an npm import
// are bundled into the model folder; logModel writes MLflow's files into the run, registers
// the model, and loadModel loads it back by run, version and alias (from the cache the
// second time), with the logged artifact reaching loadContext and the signature enforced.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MlflowClient } from "../../tracking/index.js";
import { fetchModel, loadModel, loadModelFromDir, logModel, saveModel } from "../../models/index.js";

const here = join(import.meta.dirname, "fixtures", "linear");
const root = mkdtempSync(join(tmpdir(), "models-code-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const example = [
  { x: 1, y: 2 },
  { x: 0.5, y: -1 },
];

describe("model from code", () => {
  it("saves a folder that loads with nothing but itself and its npm packages", async () => {
    const dir = join(root, "saved");
    const m = await saveModel(join(here, "model.ts"), dir, { inputExample: example, artifacts: { weights: join(here, "weights.yaml") } });
    expect(readdirSync(dir).sort()).toEqual([
      "MLmodel",
      "artifacts",
      "code",
      "input_example.json",
      "package.json",
      "serving_input_example.json",
    ]);
    const env = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(env.dependencies).toEqual({ yaml: JSON.parse(readFileSync("node_modules/yaml/package.json", "utf8")).version });
    expect(env.engines.node).toBe(process.versions.node);
    // The local module is inside the bundle, the npm package is not.
    const bundle = readFileSync(join(dir, "code", "model.cjs"), "utf8");
    expect(bundle).toContain("reduce((s, wi, i)");
    expect(bundle).toMatch(/require\("yaml"\)/);
    expect(JSON.parse(readFileSync(join(dir, "input_example.json"), "utf8"))).toEqual({
      columns: ["x", "y"],
      data: [
        [1, 2],
        [0.5, -1],
      ],
    });
    const mlmodel = readFileSync(join(dir, "MLmodel"), "utf8");
    expect(mlmodel).toContain("pandas_orient: split");
    // Python's json.dumps separators, as MLflow writes the signature strings.
    expect(mlmodel).toContain(
      `inputs: '[{"type": "double", "name": "x", "required": true}, {"type": "double", "name": "y", "required": true}]'`,
    );
    expect(mlmodel).toContain(`outputs: '[{"type": "double", "required": true}]'`);
    expect(m.signature?.outputs).toEqual({ kind: "columns", columns: [{ type: "double", required: true }] });

    const loaded = await loadModelFromDir(dir, { fromDirs: [process.cwd()] });
    expect(await loaded.predict(example)).toEqual([9, -1]);
    expect(await loaded.predict([{ x: 1, y: 1 }], { scale: 2 })).toEqual([12]);
    // A column object and one record reach the model as records, as MLflow hands pyfunc a DataFrame.
    expect(await loaded.predict({ x: [1, 0.5], y: Float64Array.of(2, -1) })).toEqual([9, -1]);
    expect(await loaded.predict({ x: 1, y: 2 })).toEqual([9]);
    expect(loaded.metadata.flavor).toBe("typescript_function");
    expect(await loaded.metadata.inputExample()).toEqual(example);
    await expect(loaded.predict([{ x: "1", y: 1 }])).rejects.toThrow(/column "x" expects double but got string \("1"\) in record 0/);
    await expect(loaded.predict([{ x: 1 }])).rejects.toThrow(/required column "y" \(double\) is missing in record 0/);
  });

  it("refuses a file without predict, a missing file and an unknown model kind, naming each", async () => {
    await expect(saveModel(join(here, "no-predict.ts"), join(root, "np"))).rejects.toThrow(/no-predict\.ts.*has no predict/);
    await expect(saveModel(join(here, "missing.ts"), join(root, "missing"))).rejects.toThrow(/No model file at ".*missing\.ts"/);
    await expect(saveModel({ weights: [1] } as never, join(root, "obj"))).rejects.toThrow(
      /Cannot log an object of class Object as a model/,
    );
    await expect(loadModelFromDir(join(root, "nowhere"))).rejects.toThrow(/No model folder at ".*nowhere"/);
    const other = join(root, "sklearn");
    mkdirSync(other);
    writeFileSync(
      join(other, "MLmodel"),
      "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n  sklearn: {pickled_model: model.pkl}\n",
    );
    await expect(loadModelFromDir(other)).rejects.toThrow(
      /its flavours are "python_function", "sklearn"; this client loads typescript_function and tfjs/,
    );
    writeFileSync(join(other, "MLmodel"), "flavors: [1, 2]\n");
    await expect(loadModelFromDir(other)).rejects.toThrow(
      /Cannot read the MLmodel file at .*sklearn\/MLmodel: it has no "flavors" mapping/,
    );
    await expect(loadModelFromDir(root)).rejects.toThrow(/No MLflow model at ".*": it has no MLmodel file/);
  });

  it("logs into a file store run, registers, and loads by run, version and alias; a failed log registers nothing", async () => {
    const client = new MlflowClient(`file://${join(root, "mlruns")}`, {});
    const exp = await client.createExperiment("models-code");
    const run = await client.createRun(exp);
    const runId = run.info.runId;
    const info = await logModel(client, runId, join(here, "model.ts"), {
      name: "linear",
      inputExample: example,
      artifacts: { weights: join(here, "weights.yaml") },
      registeredModelName: "linear-reg",
    });
    expect(info).toMatchObject({ modelUri: `runs:/${runId}/linear`, runId, artifactPath: "linear", registeredModelVersion: "1" });
    const files = (await client.listArtifacts(runId, "linear")).map((f) => f.path).sort();
    expect(files).toEqual([
      "linear/MLmodel",
      "linear/artifacts",
      "linear/code",
      "linear/input_example.json",
      "linear/package.json",
      "linear/serving_input_example.json",
    ]);
    await client.setRegisteredModelAlias("linear-reg", "Champion", "1");

    const cacheDir = join(root, "cache");
    for (const uri of [info.modelUri, "models:/linear-reg/1", "models:/linear-reg@Champion"]) {
      const m = await loadModel(client, uri, { cacheDir });
      expect(await m.predict([{ x: 1, y: 2 }])).toEqual([9]);
      expect(m.metadata.runId).toBe(runId);
    }
    // Three URIs, one resolved location: one download, then the cache.
    expect(readdirSync(cacheDir)).toHaveLength(1);
    expect((await fetchModel(client, "models:/linear-reg@Champion", cacheDir)).cached).toBe(true);

    await expect(logModel(client, runId, join(here, "no-predict.ts"), { name: "bad", registeredModelName: "linear-reg" })).rejects.toThrow(
      /has no predict/,
    );
    const versions = await client.searchModelVersions({ filter: "name = 'linear-reg'" });
    expect(versions.items.map((v) => v.version)).toEqual(["1"]);
    expect(existsSync(join(root, "mlruns", exp, runId, "artifacts", "bad"))).toBe(false);
  });
});
