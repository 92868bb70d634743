// The `tfjs` flavour: a TensorFlow.js LayersModel saved with its own `save` into the model
// folder (`data/model.json` + `data/weights.bin`, TensorFlow.js's file layout, through a
// handler that writes files as the file:// handler of tfjs-node does), and loaded back with
// `tf.loadLayersModel`. TensorFlow.js itself is imported only when a tfjs model is loaded.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MlflowError, notFound } from "../../tracking/index.js";
import { installedVersion } from "../environment.js";
import { isPlainObject, type Schema } from "../signature.js";

export const TFJS_FLAVOR = "tfjs";
const MODEL_JSON = "data/model.json";
const WEIGHTS = "weights.bin";

/** The parts of a LayersModel we use; the real class comes from the user's @tensorflow/tfjs. */
export interface LayersModelLike {
  save(handler: unknown): Promise<unknown>;
  predict(x: unknown): unknown;
  layers: unknown[];
  inputs?: { shape: (number | null)[] }[];
}

export const isLayersModel = (m: unknown): m is LayersModelLike =>
  !!m &&
  typeof m === "object" &&
  typeof (m as any).save === "function" &&
  typeof (m as any).predict === "function" &&
  Array.isArray((m as any).layers);

const concat = (data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array => {
  const parts = data === undefined ? [] : Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((b) => new Uint8Array(b)));
};

/** Saves the model with its own `save` into `<dir>/data`; returns the flavour's MLmodel entry. */
export async function saveTfjsModel(model: LayersModelLike, dir: string, fromDir = process.cwd()): Promise<Record<string, unknown>> {
  await mkdir(join(dir, "data"), { recursive: true });
  await model.save({
    save: async (a: any) => {
      const manifest = {
        modelTopology: a.modelTopology,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
        weightsManifest: [{ paths: [WEIGHTS], weights: a.weightSpecs ?? [] }],
      };
      const weights = concat(a.weightData);
      await writeFile(join(dir, MODEL_JSON), JSON.stringify(manifest));
      await writeFile(join(dir, "data", WEIGHTS), weights);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON", weightDataBytes: weights.byteLength } };
    },
  });
  return { model_format: "layers-model", model_json: MODEL_JSON, tfjs_version: installedVersion("@tensorflow/tfjs", fromDir) ?? "unknown" };
}

/** The user's TensorFlow.js when installed where the model is loaded, else ours. */
async function importTfjs(fromDirs: string[]): Promise<any> {
  for (const d of fromDirs) {
    try {
      const path = createRequire(join(d, "noop.js")).resolve("@tensorflow/tfjs");
      return await import(pathToFileURL(path).href);
    } catch {
      /* next */
    }
  }
  try {
    return await import("@tensorflow/tfjs");
  } catch (err) {
    throw new MlflowError("RESOURCE_DOES_NOT_EXIST", "Loading a tfjs model needs @tensorflow/tfjs: npm install @tensorflow/tfjs.", 404, {
      cause: err,
    });
  }
}

export interface TfjsPredictor {
  predict(input: unknown): unknown;
}

/** Loads `data/model.json` and its weights; `predict` takes records (by the signature's column order), rows or a typed array. */
export async function loadTfjsModel(
  dir: string,
  config: Record<string, any>,
  inputs: Schema | undefined,
  fromDirs = [process.cwd()],
): Promise<TfjsPredictor> {
  const file = join(dir, String(config.model_json ?? MODEL_JSON));
  const manifest = JSON.parse(
    await readFile(file, "utf8").catch(() => {
      throw notFound(`The tfjs model at ${JSON.stringify(dir)} has no ${config.model_json ?? MODEL_JSON}.`);
    }),
  );
  const group = manifest.weightsManifest?.[0] ?? { paths: [], weights: [] };
  const weights = await Promise.all((group.paths as string[]).map((p) => readFile(join(dir, "data", p))));
  const buf = Buffer.concat(weights);
  const tf = await importTfjs(fromDirs);
  const model = await tf.loadLayersModel({
    load: async () => ({
      modelTopology: manifest.modelTopology,
      format: manifest.format,
      generatedBy: manifest.generatedBy,
      convertedBy: manifest.convertedBy,
      trainingConfig: manifest.trainingConfig,
      weightSpecs: group.weights,
      weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
    }),
  });
  const columns = inputs?.kind === "columns" && inputs.columns.every((c) => c.name) ? inputs.columns.map((c) => c.name!) : undefined;
  const inputShape: (number | null)[] = model.inputs?.[0]?.shape ?? [null];
  return {
    predict(input: unknown) {
      return tf.tidy(() => {
        let x;
        if (Array.isArray(input) && input.every(isPlainObject) && columns)
          x = tf.tensor2d(input.map((r) => columns.map((c) => Number(r[c]))));
        else if (isPlainObject(input) && columns) {
          const cols = columns.map((c) => Array.from(input[c] as ArrayLike<number>));
          x = tf.tensor2d(cols[0]!.map((_, i) => cols.map((col) => col[i]!)));
        } else if (ArrayBuffer.isView(input)) x = tf.tensor(input as any).reshape([-1, ...inputShape.slice(1).map((d) => d ?? -1)]);
        else x = tf.tensor(input as any);
        return (model.predict(x) as any).arraySync();
      });
    },
  };
}
