// Calls a model-serving endpoint (`mlflow models serve`, a Databricks serving endpoint):
// POST <url>/invocations with MLflow's scoring JSON, using the same auth as tracking.

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
  if (payload !== null && typeof payload === "object" && !Array.isArray(payload)
    && Object.keys(payload).some((k) => (SCORING_KEYS as readonly string[]).includes(k)))
    return payload as Record<string, unknown>;
  return { inputs: payload };
}

/** `http://host:5001` -> `http://host:5001/invocations`; a URL with a path is used as given. */
export function invocationsUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MlflowError("UNSUPPORTED_URI", `Invalid serving endpoint URL ${JSON.stringify(url)}: expected http(s)://host[:port][/path/invocations].`);
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
  if (env.DATABRICKS_HOST && new URL(url).host === new URL(/^https?:/.test(env.DATABRICKS_HOST) ? env.DATABRICKS_HOST : `https://${env.DATABRICKS_HOST}`).host)
    return resolveDatabricksConfig("databricks", env).auth;
  return undefined;
}

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
    ...base, baseUrl: new URL(target).origin, auth: opts.auth ?? authFor(target, env),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
  });
  try {
    return await http.json({ method: "POST", path: target, json: scoringBody(payload) });
  } finally {
    await http.close();
  }
}
