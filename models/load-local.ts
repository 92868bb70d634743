// Loads a model folder on this machine: reads MLmodel, picks the flavour we can run, and
// wraps it in one `predict` that checks the input against the signature first (MLflow's
// schema enforcement), so every flavour refuses bad input the same way.

import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { MlflowError, notFound } from "../tracking/index.js";
import { asRecords, enforceSchema } from "./enforce.js";
import { CODE_FLAVOR, loadCodeModel } from "./flavors/code.js";
import { ONNX_FLAVOR, loadOnnxModel } from "./flavors/onnx.js";
import { TFJS_FLAVOR, loadTfjsModel } from "./flavors/tfjs.js";
import { readInputExample } from "./input-example.js";
import { readMlmodel, type MlModel } from "./mlmodel.js";
import type { ModelSignature } from "./signature.js";

export const SUPPORTED_FLAVORS = [CODE_FLAVOR, TFJS_FLAVOR, ONNX_FLAVOR] as const;

export interface ModelMetadata {
  /** Local folder the model was loaded from. */
  path: string;
  flavor: (typeof SUPPORTED_FLAVORS)[number];
  signature?: ModelSignature;
  runId?: string;
  modelId?: string;
  modelUuid: string;
  artifactPath?: string;
  mlmodel: MlModel;
  /** The saved input example (records for a dataframe example), if the model has one. */
  inputExample(): Promise<unknown>;
}

export interface LoadedModel {
  /** Checks `input` against the signature's inputs, then calls the model. */
  predict(input: unknown, params?: Record<string, unknown>): Promise<unknown>;
  metadata: ModelMetadata;
}

export interface LoadLocalOptions {
  /** Where the model's npm imports are looked up after the model folder (default: the working directory). */
  fromDirs?: string[];
}

export async function loadModelFromDir(dir: string, opts: LoadLocalOptions = {}): Promise<LoadedModel> {
  const path = resolve(dir);
  const s = await stat(path).catch(() => undefined);
  if (!s?.isDirectory())
    throw notFound(`No model folder at ${JSON.stringify(dir)}: expected a folder with an MLmodel file, or a runs:/ or models:/ URI.`);
  const mlmodel = await readMlmodel(path);
  const fromDirs = opts.fromDirs ?? [process.cwd()];
  const inputs = mlmodel.signature?.inputs;
  let call: (input: unknown, params?: Record<string, unknown>) => unknown;
  let flavor: ModelMetadata["flavor"];
  if (mlmodel.flavors[CODE_FLAVOR]) {
    flavor = CODE_FLAVOR;
    const model = await loadCodeModel(path, mlmodel.flavors[CODE_FLAVOR]!, fromDirs);
    call = (input, params) => model.predict(asRecords(input, inputs), params);
  } else if (mlmodel.flavors[TFJS_FLAVOR]) {
    flavor = TFJS_FLAVOR;
    const model = await loadTfjsModel(path, mlmodel.flavors[TFJS_FLAVOR]!, inputs, fromDirs);
    call = (input) => model.predict(input);
  } else if (mlmodel.flavors[ONNX_FLAVOR]) {
    // Chosen over the python_function entry MLflow writes beside it (that one loads in Python only).
    flavor = ONNX_FLAVOR;
    const model = await loadOnnxModel(path, mlmodel.flavors[ONNX_FLAVOR]!, inputs, fromDirs);
    call = (input) => model.predict(input);
  } else {
    const found = Object.keys(mlmodel.flavors);
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Cannot load the model at ${JSON.stringify(dir)}: its flavours are ${found.length ? found.map((f) => JSON.stringify(f)).join(", ") : "none"}; this client loads ${SUPPORTED_FLAVORS.join(" and ")}.`,
      400,
    );
  }
  const metadata: ModelMetadata = {
    path,
    flavor,
    signature: mlmodel.signature,
    runId: mlmodel.runId,
    modelId: mlmodel.modelId,
    modelUuid: mlmodel.modelUuid,
    artifactPath: mlmodel.artifactPath,
    mlmodel,
    inputExample: async () => (mlmodel.savedInputExampleInfo ? readInputExample(path, mlmodel.savedInputExampleInfo) : undefined),
  };
  return {
    async predict(input, params) {
      if (inputs) enforceSchema(input, inputs);
      return call(input, params);
    },
    metadata,
  };
}
