// From a model URI to a local model folder: `runs:/<run>/<path>`, `models:/<name>/<version>`,
// `models:/<name>@<alias>`, `models:/<name>/latest`, `models:/<model_id>` (MLflow 3) are
// resolved through the tracking store and downloaded once into a cache folder keyed by the
// tracking URI and the resolved artifact location; a local folder is used where it is.
// A registered version's source is read as its run's artifacts when it lies under the run's
// artifact URI (what MLflow's Python `register_model` stores); otherwise as it is, where this
// client can read it: a local `file:` path, or `mlflow-artifacts:` through the tracking
// server's artifact proxy.

import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  LOGGED_MODEL_ID,
  MlflowError,
  RestStore,
  getLoggedModel,
  listLoggedModelArtifacts,
  loggedModelArtifacts,
  notFound,
  runModelOutputs,
  type MlflowClient,
} from "../tracking/index.js";
import { inFlight } from "./in-flight.js";
import { MLMODEL_FILE_NAME } from "./mlmodel.js";

/** `$XDG_CACHE_HOME/tslab-mlflow/models` (default `~/.cache/tslab-mlflow/models`). */
export function defaultModelCache(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "tslab-mlflow", "models");
}

/** Where a model's files are, once its URI is resolved. */
export type ModelSource =
  | { kind: "local"; dir: string }
  | { kind: "run"; runId: string; path: string; location: string }
  | { kind: "logged-model"; modelId: string; location: string }
  /** An `mlflow-artifacts:` location outside any run's artifacts, read through the server's artifact proxy. */
  | { kind: "artifacts"; location: string };

/** The model sources this client reads, for errors naming what is accepted. */
export const ACCEPTED_MODEL_SOURCES = [
  "runs:/<run_id>/<path>",
  "a location under the version's run's artifact URI",
  "models:/<model_id> (MLflow 3 LoggedModels)",
  "mlflow-artifacts:/<path> (through the tracking server's artifact proxy)",
  "file:///<path> or a local path",
] as const;

/** The artifact proxy's listing endpoint (`mlflow server --serve-artifacts`). */
const PROXY_API = "/api/2.0/mlflow-artifacts/artifacts";

const LOGGED_MODEL_URI = /^models:\/+(m-[0-9a-f]{32})\/?$/;
const LOGGED_MODEL_LOCATION = /\/models\/(m-[0-9a-f]{32})\/artifacts\/?$/;

const isUri = (s: string) => /^[a-zA-Z][\w+.-]*:/.test(s) && !/^[a-zA-Z]:[\\/]/.test(s);

const restStore = (client: MlflowClient): RestStore | undefined => (client.store instanceof RestStore ? client.store : undefined);

/** The MLflow 3 LoggedModel a run logged under `name` (MLflow 3 keeps models out of run artifacts). */
async function runLoggedModel(client: MlflowClient, runId: string, name: string): Promise<string | undefined> {
  const rest = restStore(client);
  if (!rest) return undefined;
  const ids = await runModelOutputs(rest, runId).catch(() => [] as string[]);
  for (const id of ids.reverse()) {
    const m = await getLoggedModel(rest, id).catch(() => undefined);
    if (m && m.name === name) return id;
  }
  return undefined;
}

/** Resolves a model URI (or a local folder) to where its files are. */
export async function resolveModelSource(client: MlflowClient, uri: string): Promise<ModelSource> {
  if (typeof uri !== "string" || uri === "")
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Invalid model URI ${JSON.stringify(uri)}: give runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, models:/<model_id> or a local folder.`,
      400,
    );
  if (uri.startsWith("file:")) return { kind: "local", dir: fileURLToPath(uri) };
  if (!isUri(uri)) return { kind: "local", dir: uri };
  const lm = LOGGED_MODEL_URI.exec(uri);
  if (lm) return loggedModelSource(client, lm[1]!, uri);
  const resolved = await client.resolveModelUri(uri);
  if (resolved.runId !== undefined && resolved.path !== undefined) {
    // MLflow 3 logs models as LoggedModels, not into the run: `runs:/<run>/<name>` names one of them.
    const files = await client.listArtifacts(resolved.runId, resolved.path || undefined).catch(() => []);
    if (!files.length) {
      const id = await runLoggedModel(client, resolved.runId, resolved.path);
      if (id) return loggedModelSource(client, id, uri);
    }
    return { kind: "run", runId: resolved.runId, path: resolved.path, location: resolved.artifactUri };
  }
  const source = resolved.artifactUri;
  const byId = LOGGED_MODEL_URI.exec(source) ?? LOGGED_MODEL_LOCATION.exec(source);
  if (byId) return loggedModelSource(client, byId[1]!, uri);
  if (source.startsWith("file:")) return { kind: "local", dir: fileURLToPath(source) };
  if (source.startsWith("/")) return { kind: "local", dir: source };
  const where = resolved.runId
    ? `it does not lie under the artifact URI of its run ${resolved.runId}`
    : "the version names no run whose artifacts hold it";
  if (source.startsWith("mlflow-artifacts:")) {
    if (restStore(client)) return { kind: "artifacts", location: source };
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Cannot download the model ${JSON.stringify(uri)}: its source ${JSON.stringify(source)} is served by an MLflow tracking server's artifact proxy, and ${client.trackingUri} is not a tracking server (${where}).`,
    );
  }
  throw new MlflowError(
    "UNSUPPORTED_URI",
    `Cannot download the model ${JSON.stringify(uri)}: its source ${JSON.stringify(source)} cannot be read by this client (${where}). Accepted sources: ${ACCEPTED_MODEL_SOURCES.join("; ")}.`,
  );
}

/** The proxy's URL for a `mlflow-artifacts:` location, and the location's path on it. */
function proxyLocation(rest: RestStore, location: string): { listUrl: string; path: string } {
  const u = new URL(location);
  // With a host, `mlflow-artifacts://host:port/…` names another server than the tracking one.
  const origin = u.host ? `${new URL(rest.http.baseUrl).protocol}//${u.host}` : rest.http.baseUrl;
  return { listUrl: `${origin}${PROXY_API}`, path: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, "") };
}

/** Downloads the folder at an `mlflow-artifacts:` location through the server's artifact proxy. */
async function downloadProxied(rest: RestStore, location: string, dst: string, dir = ""): Promise<number> {
  const { listUrl, path } = proxyLocation(rest, location);
  const res = await rest.request<{ files?: { path: string; is_dir?: boolean }[] }>({
    method: "GET",
    path: listUrl,
    query: { path: dir ? `${path}/${dir}` : path },
  });
  const repo = loggedModelArtifacts(rest, { artifactUri: location });
  let count = 0;
  // The proxy lists names relative to the listed folder.
  await inFlight(res.files ?? [], async (f) => {
    const name = f.path.split("/").pop()!;
    const rel = dir ? `${dir}/${name}` : name;
    if (f.is_dir) {
      count += await downloadProxied(rest, location, dst, rel);
      return;
    }
    const file = join(dst, ...rel.split("/"));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await repo.get(rel));
    count++;
  });
  return count;
}

async function loggedModelSource(client: MlflowClient, modelId: string, uri: string): Promise<ModelSource> {
  const rest = restStore(client);
  if (!rest || !LOGGED_MODEL_ID.test(modelId))
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Cannot load ${JSON.stringify(uri)}: LoggedModels (models:/<model_id>) live on MLflow 3 tracking servers, and ${client.trackingUri} is not one.`,
    );
  const model = await getLoggedModel(rest, modelId);
  return { kind: "logged-model", modelId, location: model.artifactUri };
}

async function downloadLoggedModel(rest: RestStore, modelId: string, location: string, dst: string, dir = ""): Promise<void> {
  const repo = loggedModelArtifacts(rest, { artifactUri: location });
  await inFlight(await listLoggedModelArtifacts(rest, modelId, dir || undefined), async (f) => {
    if (f.isDir) return downloadLoggedModel(rest, modelId, location, dst, f.path);
    const file = join(dst, ...f.path.split("/"));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await repo.get(f.path));
  });
}

/**
 * The local folder of a model: the folder itself for local models, else a cache entry that is
 * downloaded on first use (into a temporary folder renamed into place, so a half download is
 * never taken for a model).
 */
export async function fetchModel(
  client: MlflowClient,
  uri: string,
  cacheDir = defaultModelCache(),
): Promise<{ dir: string; source: ModelSource; cached: boolean }> {
  const source = await resolveModelSource(client, uri);
  if (source.kind === "local") return { dir: source.dir, source, cached: false };
  const key = createHash("sha256").update(`${client.trackingUri}\n${source.location}`).digest("hex").slice(0, 32);
  const dir = join(cacheDir, key);
  if (existsSync(join(dir, MLMODEL_FILE_NAME))) return { dir, source, cached: true };
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    if (source.kind === "run") {
      const files = await client.listArtifacts(source.runId, source.path || undefined);
      if (!files.length)
        throw notFound(`No model at ${JSON.stringify(uri)}: run ${source.runId} has no artifacts under ${JSON.stringify(source.path)}.`);
      await client.downloadArtifacts(source.runId, source.path, tmp);
      // downloadArtifacts keeps the path inside the destination.
      if (source.path)
        await rename(join(tmp, ...source.path.split("/")), `${tmp}.m`)
          .then(() => rm(tmp, { recursive: true }))
          .then(() => rename(`${tmp}.m`, tmp));
    } else if (source.kind === "artifacts") {
      if (!(await downloadProxied(restStore(client)!, source.location, tmp)))
        throw notFound(
          `No model at ${JSON.stringify(uri)}: the artifact proxy of ${client.trackingUri} lists no files at ${source.location}.`,
        );
    } else {
      await downloadLoggedModel(restStore(client)!, source.modelId, source.location, tmp);
    }
    if (!existsSync(join(tmp, MLMODEL_FILE_NAME)))
      throw notFound(`No MLflow model at ${JSON.stringify(uri)} (${source.location}): the folder has no MLmodel file.`);
    await rename(tmp, dir).catch(async (err) => {
      // Another process finished the same download first: theirs is as good as ours.
      if (!existsSync(join(dir, MLMODEL_FILE_NAME))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(`${tmp}.m`, { recursive: true, force: true });
  }
  return { dir, source, cached: false };
}
