// Writes an MLflow model folder on this machine (the analog of `mlflow.<flavor>.save_model`):
// the flavour's files, `MLmodel`, the input example, the environment file. The signature is
// the one given, or inferred from the input example and the output of `predict` on it.

import { randomUUID } from "node:crypto";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { invalidParameter } from "../tracking/index.js";
import { enforceSchema } from "./enforce.js";
import { modelEnvironment, tslabMlflowVersion, writeEnvironment } from "./environment.js";
import { CODE_FLAVOR, loadCodeModel, saveCodeModel } from "./flavors/code.js";
import { TFJS_FLAVOR, isLayersModel, loadTfjsModel, saveTfjsModel, type LayersModelLike } from "./flavors/tfjs.js";
import { writeInputExample } from "./input-example.js";
import { utcTimeCreated, writeMlmodel, type MlModel } from "./mlmodel.js";
import { inferSchema, toSignature, type ModelSignature } from "./signature.js";

/** A TensorFlow.js LayersModel, or the path of a model-from-code `.ts` file. */
export type ModelInput = LayersModelLike | string;

export interface SaveModelOptions {
  /** MLflow's JSON lists `{inputs: [...], outputs: [...]}`, or our Schema objects; inferred from `inputExample` when absent. */
  signature?: unknown;
  inputExample?: unknown;
  /** Files or folders the model's `loadContext` receives, by name (models from code). */
  artifacts?: Record<string, string>;
  /** Written into MLmodel as it is. */
  artifactPath?: string;
  runId?: string;
  modelId?: string;
  metadata?: Record<string, unknown>;
  /** Where the model's npm imports are resolved from (default: the working directory). */
  cwd?: string;
}

const resolveArtifacts = (a: Record<string, string> | undefined, cwd: string) =>
  a && Object.fromEntries(Object.entries(a).map(([k, p]) => [k, resolve(cwd, p)]));

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await folderSize(p) : (await stat(p)).size;
  }
  return total;
}

const describeModel = (m: unknown) =>
  typeof m === "object" && m !== null ? `an object of class ${m.constructor?.name ?? "Object"}` : JSON.stringify(m);

/** Writes the model folder at `dir` (created; must be empty or absent). Returns the MLmodel written. */
export async function saveModel(model: ModelInput, dir: string, opts: SaveModelOptions = {}): Promise<MlModel> {
  const cwd = opts.cwd ?? process.cwd();
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length) throw invalidParameter(`Cannot save a model into ${JSON.stringify(dir)}: the folder is not empty.`);
  const flavors: MlModel["flavors"] = {};
  let packages: string[] = [];
  let predict: ((x: unknown) => unknown) | undefined;
  if (typeof model === "string") {
    const saved = await saveCodeModel(resolve(cwd, model), dir, resolveArtifacts(opts.artifacts, cwd));
    flavors[CODE_FLAVOR] = { ...saved.config, tslab_mlflow_version: tslabMlflowVersion() };
    packages = saved.packages;
    // Loading it now proves the folder is loadable, and gives predict for inference.
    if (opts.inputExample !== undefined && !opts.signature) {
      const loaded = await loadCodeModel(dir, saved.config, [cwd]);
      predict = (x) => loaded.predict(x);
    } else await loadCodeModel(dir, saved.config, [cwd]);
  } else if (isLayersModel(model)) {
    if (opts.artifacts && Object.keys(opts.artifacts).length)
      throw invalidParameter("artifacts are for models from code; a tfjs model keeps everything in its weights.");
    flavors[TFJS_FLAVOR] = await saveTfjsModel(model, dir, cwd);
    packages = ["@tensorflow/tfjs"];
    if (opts.inputExample !== undefined && !opts.signature) {
      const loaded = await loadTfjsModel(dir, flavors[TFJS_FLAVOR]!, undefined, [cwd]);
      predict = (x) => loaded.predict(x);
    }
  } else {
    throw invalidParameter(
      `Cannot log ${describeModel(model)} as a model: give a TensorFlow.js LayersModel or the path of a .ts file whose default export has predict(input).`,
    );
  }

  let signature: ModelSignature | undefined = opts.signature !== undefined ? toSignature(opts.signature) : undefined;
  if (!signature && opts.inputExample !== undefined) {
    const output = await predict!(opts.inputExample);
    signature = { inputs: inferSchema(opts.inputExample, "the input example") };
    if (output !== undefined) signature.outputs = inferSchema(output, "the output of predict on the input example");
  }
  // An example that contradicts the signature would mislead whoever reads the model.
  if (signature?.inputs && opts.inputExample !== undefined) enforceSchema(opts.inputExample, signature.inputs);

  const savedInputExampleInfo = opts.inputExample !== undefined ? await writeInputExample(dir, opts.inputExample) : undefined;
  await writeEnvironment(dir, modelEnvironment(packages, cwd));
  const mlmodel: MlModel = {
    artifactPath: opts.artifactPath,
    runId: opts.runId,
    modelId: opts.modelId,
    modelUuid: opts.modelId ?? randomUUID().replace(/-/g, ""),
    utcTimeCreated: utcTimeCreated(),
    flavors,
    signature,
    savedInputExampleInfo,
    metadata: opts.metadata,
    extra: { tslab_mlflow_version: tslabMlflowVersion() },
  };
  mlmodel.modelSizeBytes = await folderSize(dir);
  await writeMlmodel(dir, mlmodel);
  return mlmodel;
}
