// Calls a model-serving endpoint (`mlflow models serve`, a Databricks serving endpoint):
// POST <url>/invocations with MLflow's scoring JSON, using the same auth as tracking.
// `databricks://NAME` is the serving endpoint NAME of the configured Databricks workspace:
// POST <host>/serving-endpoints/NAME/invocations with the workspace's Bearer token
// (DATABRICKS_HOST/DATABRICKS_TOKEN or ~/.databrickscfg, as for the `databricks` tracking URI).
// Its errors name the endpoint and host, never the token.
// Retried only what can recover while the caller waits: 503 and 429 (a model still loading, a
// busy endpoint; Retry-After honoured up to MAX_SERVING_WAIT_MS) and a connection reset. A
// refused connection or an unknown host fails at once, naming the endpoint: nothing listens
// there, and minutes of retries would not change that. A 500 is the model's own error.

import { MlflowError } from "../errors.js";
import { resolveDatabricksConfig, type DatabricksConfig } from "../databricks.js";
import { HttpClient, type Auth } from "./http.js";
import { httpOptionsFromEnv } from "../open-store.js";

type Env = Record<string, string | undefined>;

/** The payload keys MLflow's scoring server accepts. */
export const SCORING_KEYS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;

/**
 * Builds the request body: an array of row objects becomes `{dataframe_records: rows}`, an
 * object already keyed by one of SCORING_KEYS is sent as is, anything else is `{inputs: payload}`.
 */
export function scoringBody(payload: unknown): Record<string, unknown> {
  if (Array.isArray(payload) && payload.every((r) => r !== null && typeof r === "object" && !Array.isArray(r)))
    return { dataframe_records: payload };
  if (
    payload !== null &&
    typeof payload === "object" &&
    !Array.isArray(payload) &&
    Object.keys(payload).some((k) => (SCORING_KEYS as readonly string[]).includes(k))
  )
    return payload as Record<string, unknown>;
  return { inputs: payload };
}

/** `http://host:5001` -> `http://host:5001/invocations`; a URL with a path is used as given. */
export function invocationsUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Invalid serving endpoint URL ${JSON.stringify(url)}: expected http(s)://host[:port][/path/invocations].`,
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Invalid serving endpoint URL ${JSON.stringify(url)}: only http:, https: and databricks://<endpoint-name> are accepted.`,
    );
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/invocations";
  return u.toString();
}

function authFor(url: string, env: Env): Auth | undefined {
  const fromEnv = httpOptionsFromEnv(env).auth;
  if (fromEnv) return fromEnv;
  // A Databricks serving endpoint on the configured workspace takes the workspace token.
  if (
    env.DATABRICKS_HOST &&
    new URL(url).host === new URL(/^https?:/.test(env.DATABRICKS_HOST) ? env.DATABRICKS_HOST : `https://${env.DATABRICKS_HOST}`).host
  )
    return resolveDatabricksConfig("databricks", env).auth;
  return undefined;
}

/** `databricks://NAME` names the serving endpoint NAME of the configured Databricks workspace. */
export const DATABRICKS_SERVING_SCHEME = "databricks://";

/**
 * The endpoint name of a `databricks://NAME` URI, or undefined for any other URL. Databricks
 * endpoint names are letters, digits, `-` and `_`; anything else (a path, a profile, nothing)
 * is refused here rather than sent as a path the workspace would answer with a bare 404.
 */
/** Databricks serving endpoint names: letters, digits, `-` and `_`. */
export const DATABRICKS_ENDPOINT_NAME = /^[A-Za-z0-9_-]+$/;

export function databricksEndpointName(url: string): string | undefined {
  if (!url.toLowerCase().startsWith(DATABRICKS_SERVING_SCHEME)) return undefined;
  const name = url.slice(DATABRICKS_SERVING_SCHEME.length).replace(/\/$/, "");
  if (!DATABRICKS_ENDPOINT_NAME.test(name))
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Invalid Databricks serving endpoint ${JSON.stringify(url)}: expected databricks://<endpoint-name>, ` +
        "the name made of letters, digits, '-' and '_' (the workspace comes from DATABRICKS_HOST/DATABRICKS_TOKEN or ~/.databrickscfg).",
    );
  return name;
}

/** Where a call goes and with which credentials; `databricks` is set for a workspace endpoint. */
interface ServingTarget {
  url: string;
  auth?: Auth;
  insecureTls?: boolean;
  databricks?: { name: string; config: DatabricksConfig };
}

function servingTarget(url: string, env: Env): ServingTarget {
  const name = databricksEndpointName(url);
  if (name === undefined) {
    const target = invocationsUrl(url);
    return { url: target, auth: authFor(target, env) };
  }
  const config = resolveDatabricksConfig("databricks", env, `Databricks serving endpoint ${JSON.stringify(name)}`);
  return {
    url: `${config.host}/serving-endpoints/${name}/invocations`,
    auth: config.auth,
    insecureTls: config.insecure,
    databricks: { name, config },
  };
}

/** A workspace endpoint's failure, naming the endpoint and host; any echo of the token is blanked. */
function databricksError(e: unknown, d: NonNullable<ServingTarget["databricks"]>): MlflowError {
  const secret = d.config.auth.kind === "bearer" ? d.config.auth.token : d.config.auth.password;
  const scrub = (text: string) => (secret ? text.split(secret).join("***") : text);
  const err = e as MlflowError;
  const message = scrub(err.message ?? String(e));
  const status = err.httpStatus;
  const hint =
    status === 401 || status === 403
      ? ` Check the workspace token (taken from ${d.config.source === "environment" ? "DATABRICKS_TOKEN" : d.config.source}) and its permission to query the endpoint.`
      : status === 404
        ? " Check the endpoint's name in the workspace's Serving page."
        : "";
  return new MlflowError(
    e instanceof MlflowError ? e.code : "INTERNAL_ERROR",
    `Databricks serving endpoint ${JSON.stringify(d.name)} on ${d.config.host}${status ? ` answered HTTP ${status}` : " failed"}: ${message}${hint}`,
    status,
    // The cause's own message stays out of reach only when it could carry the token.
    message === (err.message ?? String(e)) ? { cause: e } : undefined,
  );
}

/** Retries after the first attempt, by default. */
export const SERVING_MAX_RETRIES = 3;
/** Longest wait before one retry (ms), Retry-After included. */
export const MAX_SERVING_WAIT_MS = 10_000;
const RECOVERABLE_STATUSES = [429, 503];
const RECOVERABLE_CODES = ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"];

const errorCode = (e: unknown): string => {
  let c: unknown = e;
  for (let i = 0; i < 4 && c; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && code !== "TEMPORARILY_UNAVAILABLE") return code;
    c = (c as { cause?: unknown }).cause;
  }
  return "";
};

/**
 * POSTs the payload to the endpoint (an http(s) URL, or `databricks://NAME`) and returns its
 * parsed JSON answer (e.g. `{predictions: [...]}`).
 */
export async function invokeServingEndpoint(
  url: string,
  payload: unknown,
  opts: { env?: Env; auth?: Auth; timeoutMs?: number; maxRetries?: number } = {},
): Promise<unknown> {
  const env = opts.env ?? process.env;
  const resolved = servingTarget(url, env);
  try {
    return await post(resolved, payload, env, opts);
  } catch (e) {
    throw resolved.databricks ? databricksError(e, resolved.databricks) : e;
  }
}

async function post(
  resolved: ServingTarget,
  payload: unknown,
  env: Env,
  opts: { auth?: Auth; timeoutMs?: number; maxRetries?: number },
): Promise<unknown> {
  const target = resolved.url;
  const base = httpOptionsFromEnv(env);
  const http = new HttpClient({
    ...base,
    ...(resolved.insecureTls ? { insecureTls: true } : {}),
    baseUrl: new URL(target).origin,
    auth: opts.auth ?? resolved.auth,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
  });
  const retries = opts.maxRetries ?? SERVING_MAX_RETRIES;
  const body = scoringBody(payload);
  try {
    for (let attempt = 0; ; attempt++) {
      let wait = Math.min(MAX_SERVING_WAIT_MS, 500 * 2 ** attempt);
      try {
        return await http.json({ method: "POST", path: target, json: body, retry: "none" });
      } catch (e) {
        const status = (e as MlflowError).httpStatus;
        const code = errorCode(e);
        const recoverable = status !== undefined ? RECOVERABLE_STATUSES.includes(status) : RECOVERABLE_CODES.includes(code);
        if (status === undefined && !recoverable) {
          const what =
            code === "ECONNREFUSED"
              ? "connection refused: nothing listens there"
              : code === "ENOTFOUND"
                ? "unknown host"
                : code || (e as Error).message;
          throw new MlflowError(
            "ENDPOINT_UNREACHABLE",
            `Could not reach the serving endpoint ${target} (${what}). Is the model server running at that address?`,
            undefined,
            { cause: e },
          );
        }
        if (!recoverable || attempt >= retries) throw e;
        const after = Number((e as { retryAfter?: unknown }).retryAfter);
        if (Number.isFinite(after) && after > 0) wait = Math.min(MAX_SERVING_WAIT_MS, after * 1000);
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await http.close();
  }
}
