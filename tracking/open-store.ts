// Chooses the store from a tracking URI, as MLflow does: nothing configured -> ./mlruns
// file store; `file:` or a path -> file store; `http(s)://` -> MLflow server;
// `databricks[://profile]` -> Databricks workspace. Also reads MLflow's environment
// variables for auth, timeouts, retries and the active experiment.

import type { Experiment, Tag } from "./entities.js";
import { MlflowError } from "./errors.js";
import { resolveDatabricksConfig } from "./databricks.js";
import { FileStore } from "./file-store/index.js";
import type { Auth, HttpOptions } from "./rest/http.js";
import { RestStore, UNITY_CATALOG_REGISTRY_API } from "./rest/store.js";
import type { TrackingStore } from "./store.js";
import { resolveTrackingUri, trackingUriKind } from "./tracking-uri.js";

type Env = Record<string, string | undefined>;

// The URI checks live in a module of their own (light to load); re-exported for every caller.
export {
  ACCEPTED_TRACKING_URIS,
  DEFAULT_TRACKING_DIR,
  fileStoreRoot,
  resolveTrackingUri,
  trackingUriKind,
  type TrackingUriKind,
} from "./tracking-uri.js";

const envNumber = (env: Env, name: string): number | undefined => {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new MlflowError("INVALID_CONFIGURATION", `${name}=${JSON.stringify(raw)} is not a valid number; expected a non-negative number.`);
  return n;
};
const envFlag = (env: Env, name: string) => /^(1|true|yes)$/i.test(env[name]?.trim() ?? "");

/** HTTP settings from MLflow's variables: auth, TLS, timeout (s), retries, backoff factor (s). */
export function httpOptionsFromEnv(env: Env = process.env): Omit<HttpOptions, "baseUrl"> {
  let auth: Auth | undefined;
  if (env.MLFLOW_TRACKING_USERNAME && env.MLFLOW_TRACKING_PASSWORD)
    auth = { kind: "basic", username: env.MLFLOW_TRACKING_USERNAME, password: env.MLFLOW_TRACKING_PASSWORD };
  else if (env.MLFLOW_TRACKING_TOKEN) auth = { kind: "bearer", token: env.MLFLOW_TRACKING_TOKEN };
  const timeout = envNumber(env, "MLFLOW_HTTP_REQUEST_TIMEOUT");
  const backoff = envNumber(env, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR");
  const opts: Omit<HttpOptions, "baseUrl"> = { auth, insecureTls: envFlag(env, "MLFLOW_TRACKING_INSECURE_TLS") };
  if (timeout !== undefined) opts.timeoutMs = timeout * 1000;
  const retries = envNumber(env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES");
  if (retries !== undefined) opts.maxRetries = Math.floor(retries);
  if (backoff !== undefined) opts.backoffMs = backoff * 1000;
  return opts;
}

/**
 * Opens the store for a tracking URI (default: MLFLOW_TRACKING_URI, else `./mlruns`).
 * `http` overrides the environment's HTTP settings (e.g. fewer retries in tests).
 */
export function openStore(uri?: string, env: Env = process.env, http: Partial<HttpOptions> = {}): TrackingStore {
  const target = resolveTrackingUri(uri, env);
  switch (trackingUriKind(target)) {
    case "file":
      return new FileStore(target);
    case "rest": {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        throw new MlflowError(
          "UNSUPPORTED_URI",
          `Invalid tracking URI ${JSON.stringify(target)}: expected http(s)://host[:port][/prefix].`,
        );
      }
      if (url.search || url.hash)
        throw new MlflowError(
          "UNSUPPORTED_URI",
          `Invalid tracking URI ${JSON.stringify(target)}: a query string or fragment is not accepted.`,
        );
      return new RestStore({ ...httpOptionsFromEnv(env), ...http, baseUrl: target, uri: target });
    }
    case "databricks": {
      const cfg = resolveDatabricksConfig(target, env);
      const base = httpOptionsFromEnv(env);
      // MLFLOW_REGISTRY_URI=databricks-uc puts the registry in Unity Catalog (catalog.schema.model names).
      const registryApi = /^databricks-uc(:|$)/.test(env.MLFLOW_REGISTRY_URI?.trim() ?? "") ? UNITY_CATALOG_REGISTRY_API : undefined;
      return new RestStore({
        ...base,
        insecureTls: base.insecureTls || cfg.insecure,
        ...http,
        auth: http.auth ?? cfg.auth,
        baseUrl: cfg.host,
        uri: target,
        registryApi,
      });
    }
  }
}

/** Returns the experiment with this name, creating it (with tags) if needed; safe against a concurrent create. */
export async function getOrCreateExperiment(store: TrackingStore, name: string, tags?: Tag[]): Promise<Experiment> {
  const found = await store.getExperimentByName(name);
  if (found) {
    if (found.lifecycleStage === "deleted")
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `Experiment ${JSON.stringify(name)} (id ${found.experimentId}) is deleted: restore it or choose another name.`,
        400,
      );
    return found;
  }
  try {
    return await store.getExperiment(await store.createExperiment(name, tags));
  } catch (err) {
    // Another process created it between our lookup and our create.
    if (err instanceof MlflowError && err.code === "RESOURCE_ALREADY_EXISTS") {
      const again = await store.getExperimentByName(name);
      if (again) return again;
    }
    throw err;
  }
}

/**
 * The experiment runs go to, as MLflow chooses it: an explicit id or name first, then
 * MLFLOW_EXPERIMENT_ID, then MLFLOW_EXPERIMENT_NAME (created if missing), else the default
 * experiment "0".
 */
export async function resolveExperiment(
  store: TrackingStore,
  opts: { experimentId?: string; experimentName?: string } = {},
  env: Env = process.env,
): Promise<Experiment> {
  const id = opts.experimentId ?? (opts.experimentName === undefined ? env.MLFLOW_EXPERIMENT_ID?.trim() || undefined : undefined);
  if (id !== undefined) {
    const exp = await store.getExperiment(id);
    if (exp.lifecycleStage === "deleted")
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `Experiment id ${id} (${JSON.stringify(exp.name)}) is deleted: restore it or choose another experiment.`,
        400,
      );
    return exp;
  }
  const name = opts.experimentName ?? (env.MLFLOW_EXPERIMENT_NAME?.trim() || undefined);
  if (name !== undefined) return getOrCreateExperiment(store, name);
  try {
    return await store.getExperiment("0");
  } catch (err) {
    if (!(err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
    // Databricks workspaces have no default experiment; experiment names there are workspace paths.
    if (store.uri.startsWith("databricks"))
      throw new MlflowError(
        "INVALID_CONFIGURATION",
        `No experiment chosen and ${store.uri} has no default experiment: set MLFLOW_EXPERIMENT_NAME (e.g. /Users/<you>/my-experiment) or MLFLOW_EXPERIMENT_ID.`,
        undefined,
        { cause: err },
      );
    // A fresh file store makes "0" (Default) on its first write, which creating "Default" triggers.
    return getOrCreateExperiment(store, "Default");
  }
}
