// MLflow 3's LoggedModel API (`/api/2.0/mlflow/logged-models`) and the calls around it: create
// a model linked to its source run, upload and list its artifacts, finalize it READY or
// UPLOAD_FAILED, record it as the run's output, register a version from it (`model_id`), and
// delete a version again. Shapes as recorded in test/fixtures/mlflow-wire/mlflow-3.4 (140-200).
// Every call goes through `RestStore.request`, so on a 2.x server (which answers these with
// Flask's 404) the error names the server's version and the call, not just "not found".
// Registry calls use the store's registry prefix (Unity Catalog's for `databricks-uc`).

import type { FileInfo, ModelVersion, Tag } from "../entities.js";
import { invalidParameter } from "../errors.js";
import { artifactRepository, type ArtifactRepository } from "./artifacts.js";
import { checkArtifactPath } from "../validation.js";
import type { RestStore } from "./store.js";
import { compact, parseFileInfo, parseModelVersion, tagsToWire } from "./wire.js";

type Json = Record<string, any>;
const API = "/api/2.0/mlflow";

export const LOGGED_MODEL_STATUSES = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

export interface LoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  /** Where its files live, e.g. `mlflow-artifacts:/1/models/m-…/artifacts`. */
  artifactUri: string;
  status: LoggedModelStatus | string;
  modelType?: string;
  sourceRunId?: string;
  creationTimestampMs?: number;
  tags: Tag[];
  params: Tag[];
}

/** `models:/m-<32 hex>`: a LoggedModel's id as MLflow 3 writes it. */
export const LOGGED_MODEL_ID = /^m-[0-9a-f]{32}$/;

function parseLoggedModel(body: Json): LoggedModel {
  const info: Json = body.model?.info ?? {};
  const data: Json = body.model?.data ?? {};
  const opt = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return {
    modelId: String(info.model_id ?? ""),
    experimentId: String(info.experiment_id ?? ""),
    name: String(info.name ?? ""),
    artifactUri: String(info.artifact_uri ?? ""),
    status: String(info.status ?? ""),
    modelType: opt(info.model_type),
    sourceRunId: opt(info.source_run_id),
    creationTimestampMs: info.creation_timestamp_ms !== undefined ? Number(info.creation_timestamp_ms) : undefined,
    tags: (info.tags ?? []).map((t: Json) => ({ key: String(t.key), value: String(t.value) })),
    params: (data.params ?? []).map((t: Json) => ({ key: String(t.key), value: String(t.value) })),
  };
}

const modelPath = (modelId: string) => {
  if (!LOGGED_MODEL_ID.test(modelId))
    throw invalidParameter(`Invalid LoggedModel id ${JSON.stringify(modelId)}: expected "m-" and 32 hex digits.`);
  return `${API}/logged-models/${modelId}`;
};

export async function createLoggedModel(
  store: RestStore,
  args: {
    experimentId: string;
    name?: string;
    modelType?: string;
    sourceRunId?: string;
    params?: Tag[];
    tags?: Tag[];
  },
): Promise<LoggedModel> {
  const res = await store.request<Json>({
    method: "POST",
    path: `${API}/logged-models`,
    json: compact({
      experiment_id: args.experimentId,
      name: args.name,
      model_type: args.modelType,
      source_run_id: args.sourceRunId,
      params: args.params?.length ? args.params : undefined,
      tags: tagsToWire(args.tags),
    }),
  });
  return parseLoggedModel(res);
}

export async function getLoggedModel(store: RestStore, modelId: string): Promise<LoggedModel> {
  return parseLoggedModel(await store.request<Json>({ method: "GET", path: modelPath(modelId) }));
}

/** PATCH with `model_id` in the body too: without it the server answers 400 (fixture 157). */
export async function finalizeLoggedModel(store: RestStore, modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
  return parseLoggedModel(await store.request<Json>({ method: "PATCH", path: modelPath(modelId), json: { model_id: modelId, status } }));
}

export async function deleteLoggedModel(store: RestStore, modelId: string): Promise<void> {
  await store.request({ method: "DELETE", path: modelPath(modelId) });
}

/** The repository of a LoggedModel's files (the artifact proxy for `mlflow-artifacts:` locations). */
export function loggedModelArtifacts(store: RestStore, model: Pick<LoggedModel, "artifactUri">): ArtifactRepository {
  return artifactRepository(model.artifactUri, store.http);
}

/** One directory of a LoggedModel's files, paths relative to the model's root (fixtures 153, 154). */
export async function listLoggedModelArtifacts(store: RestStore, modelId: string, path?: string): Promise<FileInfo[]> {
  const p = path === undefined ? undefined : checkArtifactPath(path, true) || undefined;
  const res = await store.request<Json>({
    method: "GET",
    path: `${modelPath(modelId)}/artifacts/directories`,
    query: { artifact_directory_path: p },
  });
  return (res.files ?? []).map(parseFileInfo);
}

/** `runs/outputs`: the run produced these models (fixture 178). */
export async function logModelOutputs(store: RestStore, runId: string, models: { modelId: string; step?: number }[]): Promise<void> {
  await store.request({
    method: "POST",
    path: `${API}/runs/outputs`,
    json: { run_id: runId, models: models.map((m) => ({ model_id: m.modelId, step: m.step ?? 0 })) },
  });
}

/** Ids of the LoggedModels a run produced, from `runs/get`'s `outputs.model_outputs` (fixture 181). */
export async function runModelOutputs(store: RestStore, runId: string): Promise<string[]> {
  const res = await store.request<Json>({ method: "GET", path: `${API}/runs/get`, query: { run_id: runId } });
  return (res.run?.outputs?.model_outputs ?? []).map((o: Json) => String(o.model_id));
}

/** A version from a LoggedModel, as MLflow 3's client registers: source `models:/<id>` and `model_id` (fixture 183). */
export async function createModelVersionFromLoggedModel(
  store: RestStore,
  args: {
    name: string;
    modelId: string;
    runId?: string;
    description?: string;
    tags?: Tag[];
  },
): Promise<ModelVersion> {
  const res = await store.request<Json>({
    method: "POST",
    path: `${store.registryApi}/model-versions/create`,
    json: compact({
      name: args.name,
      source: `models:/${args.modelId}`,
      run_id: args.runId,
      description: args.description,
      tags: tagsToWire(args.tags),
      model_id: args.modelId,
    }),
  });
  return parseModelVersion(res.model_version ?? {});
}

/** `model-versions/delete` (a DELETE carries its fields as JSON, like the alias DELETE). */
export async function deleteModelVersion(store: RestStore, name: string, version: string): Promise<void> {
  await store.request({ method: "DELETE", path: `${store.registryApi}/model-versions/delete`, json: { name, version } });
}

/** `model-versions/get-download-uri`: where a version's files are (fixtures 188, 189). */
export async function modelVersionDownloadUri(store: RestStore, name: string, version: string): Promise<string> {
  const res = await store.request<Json>({
    method: "GET",
    path: `${store.registryApi}/model-versions/get-download-uri`,
    query: { name, version },
  });
  return String(res.artifact_uri ?? "");
}

/** The major version of the server's MLflow from `/version` ("3.4.1.dev0" → 3); undefined when it does not say. */
export async function serverMajorVersion(store: RestStore): Promise<number | undefined> {
  const res = await store.http.send({ method: "GET", path: "/version", retry: "none" }).catch(() => undefined);
  if (!res || res.status >= 400) return undefined;
  const m = /^(\d+)\./.exec(res.body.toString("utf8").trim());
  return m ? Number(m[1]) : undefined;
}
