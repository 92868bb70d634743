// `logModel`: writes a model folder, puts it into the tracking store and optionally registers
// it, in that order, so a failure anywhere leaves no model version behind. On MLflow 2.x and
// the file store the folder becomes run artifacts under `name` and a version's source is
// `runs:/<run>/<name>`; on MLflow 3.x servers it becomes a LoggedModel linked to the run
// (its own artifact location, finalized READY, recorded as the run's output) and the version
// is created from it (`models:/<model_id>`), as MLflow 3's own client does.

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import {
  MlflowError,
  RestStore,
  createLoggedModel,
  createModelVersionFromLoggedModel,
  finalizeLoggedModel,
  loggedModelArtifacts,
  logModelOutputs,
  serverMajorVersion,
  checkArtifactPath,
  type MlflowClient,
  type ModelVersion,
} from "../tracking/index.js";
import { inFlight } from "./in-flight.js";
import { writeMlmodel } from "./mlmodel.js";
import { saveModel, type ModelInput, type SaveModelOptions } from "./save.js";
import type { ModelSignature } from "./signature.js";

export interface LogModelOptions extends Omit<SaveModelOptions, "artifactPath" | "runId" | "modelId"> {
  /** The model's artifact path in the run (MLflow 3: the LoggedModel's name). Default "model". */
  name?: string;
  /** Registers the logged model as a new version of this registered model. */
  registeredModelName?: string;
}

export interface ModelInfo {
  /** Loadable by loadModel: `runs:/<run>/<name>`, or `models:/<model_id>` on MLflow 3. */
  modelUri: string;
  runId: string;
  artifactPath: string;
  /** MLflow 3: the LoggedModel's id. */
  modelId?: string;
  registeredModelVersion?: string;
  signature?: ModelSignature;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

/** True when the store is an MLflow 3 server (it has LoggedModels). */
export async function hasLoggedModels(client: MlflowClient): Promise<boolean> {
  if (!(client.store instanceof RestStore)) return false;
  return ((await serverMajorVersion(client.store)) ?? 0) >= 3;
}

async function register(client: MlflowClient, name: string, create: () => Promise<ModelVersion>): Promise<ModelVersion> {
  try {
    await client.createRegisteredModel(name).catch((err) => {
      if (!(err instanceof MlflowError && err.code === "RESOURCE_ALREADY_EXISTS")) throw err;
    });
    return await create();
  } catch (err) {
    if (!(err instanceof MlflowError)) throw err;
    throw new MlflowError(err.code, `Cannot register the model as ${JSON.stringify(name)}: ${err.message}`, err.httpStatus, { cause: err });
  }
}

export async function logModel(client: MlflowClient, runId: string, model: ModelInput, opts: LogModelOptions = {}): Promise<ModelInfo> {
  const name = checkArtifactPath(opts.name ?? "model");
  const tmp = await mkdtemp(join(tmpdir(), "tslab-mlflow-model-"));
  try {
    const dir = join(tmp, "model");
    // Saved (and so checked) before anything reaches the store: bad input leaves nothing behind.
    const mlmodel = await saveModel(model, dir, { ...opts, artifactPath: name, runId });
    const v3 = await hasLoggedModels(client);
    let info: ModelInfo;
    if (v3) {
      const rest = client.store as RestStore;
      const run = await client.getRun(runId);
      const lm = await createLoggedModel(rest, { experimentId: run.info.experimentId, name, sourceRunId: runId });
      try {
        // As MLflow 3 writes it: the MLmodel names the LoggedModel and its location.
        await writeMlmodel(dir, { ...mlmodel, modelId: lm.modelId, modelUuid: lm.modelId, artifactPath: lm.artifactUri });
        const repo = loggedModelArtifacts(rest, lm);
        await inFlight(await files(dir), async (f) => repo.put(relative(dir, f).split(sep).join("/"), await readFile(f)));
        await finalizeLoggedModel(rest, lm.modelId, "LOGGED_MODEL_READY");
        await logModelOutputs(rest, runId, [{ modelId: lm.modelId, step: 0 }]);
      } catch (err) {
        await finalizeLoggedModel(rest, lm.modelId, "LOGGED_MODEL_UPLOAD_FAILED").catch(() => undefined);
        throw err;
      }
      info = { modelUri: `models:/${lm.modelId}`, runId, artifactPath: name, modelId: lm.modelId, signature: mlmodel.signature };
      if (opts.registeredModelName) {
        const reg = opts.registeredModelName;
        const mv = await register(client, reg, () => createModelVersionFromLoggedModel(rest, { name: reg, modelId: lm.modelId }));
        info.registeredModelVersion = mv.version;
      }
    } else {
      await client.logArtifacts(runId, dir, name);
      info = { modelUri: `runs:/${runId}/${name}`, runId, artifactPath: name, signature: mlmodel.signature };
      if (opts.registeredModelName) {
        const reg = opts.registeredModelName;
        const mv = await register(client, reg, () => client.createModelVersion(reg, info.modelUri, { runId }));
        info.registeredModelVersion = mv.version;
      }
    }
    return info;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
