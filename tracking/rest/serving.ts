// Calls a model-serving endpoint (`mlflow models serve`, a Databricks serving endpoint):
// POST <url>/invocations with MLflow's scoring JSON, using the same auth as tracking.
// Retried only what can recover while the caller waits: 503 and 429 (a model still loading, a
// busy endpoint; Retry-After honoured up to MAX_SERVING_WAIT_MS) and a connection reset. A
// refused connection or an unknown host fails at once, naming the endpoint: nothing listens
// there, and minutes of retries would not change that. A 500 is the model's own error.

import { MlflowError } from "../errors.js";
import { resolveDatabricksConfig } from "../databricks.js";
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
    throw new MlflowError("UNSUPPORTED_URI", `Invalid serving endpoint URL ${JSON.stringify(url)}: only http: and https: are accepted.`);
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

/** POSTs the payload to the endpoint and returns its parsed JSON answer (e.g. `{predictions: [...]}`). */
export async function invokeServingEndpoint(
  url: string,
  payload: unknown,
  opts: { env?: Env; auth?: Auth; timeoutMs?: number; maxRetries?: number } = {},
): Promise<unknown> {
  const env = opts.env ?? process.env;
  const target = invocationsUrl(url);
  const base = httpOptionsFromEnv(env);
  const http = new HttpClient({
    ...base,
    baseUrl: new URL(target).origin,
    auth: opts.auth ?? authFor(target, env),
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
