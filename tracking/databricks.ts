// Databricks workspace credentials for the `databricks` and `databricks://<profile>`
// tracking URIs: DATABRICKS_HOST + DATABRICKS_TOKEN from the environment, or a profile in
// ~/.databrickscfg (INI), as the Databricks CLI and MLflow read them.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { MlflowError } from "./errors.js";
import type { Auth } from "./rest/http.js";

export interface DatabricksConfig {
  /** Workspace URL, e.g. `https://adb-123.4.azuredatabricks.net` (no trailing slash). */
  host: string;
  auth: Auth;
  insecure: boolean;
  /** Where the settings came from, for messages: "environment" or "<file> [profile]". */
  source: string;
}

type Env = Record<string, string | undefined>;

/** Parses an INI file into sections of key/value pairs (`;`/`#` comments, `key = value` or `key: value`). */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1].trim()] ??= {};
      continue;
    }
    const kv = /^([^=:]+)[=:](.*)$/.exec(line);
    if (kv && current) current[kv[1].trim().toLowerCase()] = kv[2].trim();
  }
  return sections;
}

/** The profile named by a `databricks://profile[:key-prefix]` URI, or undefined for plain `databricks`. */
export function databricksProfile(uri: string): string | undefined {
  if (uri === "databricks") return undefined;
  const m = /^databricks:\/\/([^:/]*)(?::[^/]*)?\/?$/.exec(uri);
  if (!m)
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Invalid Databricks tracking URI ${JSON.stringify(uri)}: use "databricks" or "databricks://<profile>".`,
    );
  return m[1] || undefined;
}

const normaliseHost = (host: string) => (/^https?:\/\//i.test(host) ? host : `https://${host}`).replace(/\/+$/, "");
const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes)$/i.test(v.trim());

/** `what` names, in the error when no credentials are found, what needed them (default: the tracking URI). */
export function resolveDatabricksConfig(uri: string, env: Env = process.env, what?: string): DatabricksConfig {
  const named = databricksProfile(uri);
  const profile = named ?? env.DATABRICKS_CONFIG_PROFILE;
  // Like MLflow: the environment wins for plain `databricks`; a named profile always reads the file.
  if (!profile && env.DATABRICKS_HOST) {
    const auth = authFrom(env.DATABRICKS_TOKEN, env.DATABRICKS_USERNAME, env.DATABRICKS_PASSWORD);
    if (auth) return { host: normaliseHost(env.DATABRICKS_HOST), auth, insecure: truthy(env.DATABRICKS_INSECURE), source: "environment" };
  }
  const file = env.DATABRICKS_CONFIG_FILE ?? join(env.HOME ?? homedir(), ".databrickscfg");
  const section = profile ?? "DEFAULT";
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const values = text === undefined ? undefined : parseIni(text)[section];
  const auth = values && authFrom(values.token, values.username, values.password);
  if (values?.host && auth)
    return { host: normaliseHost(values.host), auth, insecure: truthy(values.insecure), source: `${file} [${section}]` };
  const where =
    text === undefined
      ? `${file} does not exist`
      : values
        ? `profile [${section}] in ${file} lacks host and token`
        : `${file} has no profile [${section}]`;
  throw new MlflowError(
    "INVALID_CONFIGURATION",
    `No Databricks credentials for ${what ?? `tracking URI ${JSON.stringify(uri)}`}: ${profile ? "" : "DATABRICKS_HOST and DATABRICKS_TOKEN are not set, and "}${where}. ` +
      `Set DATABRICKS_HOST and DATABRICKS_TOKEN, or add host and token to a profile in ~/.databrickscfg.`,
  );
}

function authFrom(token?: string, username?: string, password?: string): Auth | undefined {
  if (token) return { kind: "bearer", token };
  if (username && password) return { kind: "basic", username, password };
  return undefined;
}
