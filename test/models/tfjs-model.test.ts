// The tfjs flavour: a LayersModel saved with its own save() into the model folder, in
// TensorFlow.js's file layout, and loaded back with tf.loadLayersModel; predictions match
// the original model, with records checked against the inferred signature first.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFromDir, saveModel, schemaToJson } from "../../models/index.js";

const root = mkdtempSync(join(tmpdir(), "models-tfjs-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("tfjs flavour", () => {
  it("saves and loads a LayersModel; predictions match", async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, inputShape: [2], activation: "relu" }), tf.layers.dense({ units: 1 })],
    });
    model.setWeights([
      tf.tensor2d([
        [1, -1, 0.5],
        [2, 0, -0.5],
      ]),
      tf.tensor1d([0.1, 0.2, 0.3]),
      tf.tensor2d([[1], [2], [3]]),
      tf.tensor1d([-1]),
    ]);
    const rows = [
      [1, 2],
      [0.5, -1],
      [3, 0],
    ];
    const expected = (model.predict(tf.tensor2d(rows)) as tf.Tensor).arraySync();

    const dir = join(root, "m");
    const m = await saveModel(model, dir, { inputExample: rows });
    expect(readdirSync(join(dir, "data")).sort()).toEqual(["model.json", "weights.bin"]);
    const manifest = JSON.parse(readFileSync(join(dir, "data", "model.json"), "utf8"));
    expect(manifest.weightsManifest[0].paths).toEqual(["weights.bin"]);
    expect(readFileSync(join(dir, "data", "weights.bin")).byteLength).toBe((2 * 3 + 3 + 3 + 1) * 4);
    expect(m.flavors.tfjs).toMatchObject({ model_format: "layers-model", model_json: "data/model.json", tfjs_version: tf.version.tfjs });
    expect(schemaToJson(m.signature!.inputs!)).toEqual([{ type: "tensor", "tensor-spec": { dtype: "float64", shape: [-1, 2] } }]);
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies).toEqual({ "@tensorflow/tfjs": tf.version.tfjs });

    const loaded = await loadModelFromDir(dir);
    expect(loaded.metadata.flavor).toBe("tfjs");
    const got = (await loaded.predict(rows)) as number[][];
    got.forEach((r, i) => expect(r[0]).toBeCloseTo((expected as number[][])[i]![0]!, 5));
    await expect(loaded.predict([[1, 2, 3]])).rejects.toThrow(/expects shape \[-1, 2\]/);
  });

  it("takes records in the signature's column order", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], useBias: false })] });
    model.setWeights([tf.tensor2d([[10], [1]])]);
    const dir = join(root, "records");
    await saveModel(model, dir, {
      signature: {
        inputs: [
          { type: "double", name: "a" },
          { type: "double", name: "b" },
        ],
      },
      inputExample: [{ a: 1, b: 2 }],
    });
    const loaded = await loadModelFromDir(dir);
    const out = (await loaded.predict([{ b: 2, a: 1 }])) as number[][];
    expect(out[0]![0]).toBeCloseTo(12, 5);
    await expect(loaded.predict([{ a: 1 }])).rejects.toThrow(/required column "b" \(double\) is missing/);
  });
});
