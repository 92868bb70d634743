// Which tracking URI is in effect and what kind of store it names, without opening anything.
// Kept apart from open-store.ts (which loads every store: file, REST, Databricks) so that callers
// that only check a URI, like `tslab-mlflow run` validating its input, stay fast to load.

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MlflowError } from "./errors.js";

type Env = Record<string, string | undefined>;

export const ACCEPTED_TRACKING_URIS = [
  "a path or file:///abs/path (local mlruns store)",
  "http://host[:port][/prefix] or https://... (MLflow tracking server)",
  "databricks or databricks://<profile> (Databricks workspace)",
] as const;

/** The default store when nothing is configured: `./mlruns` under the working directory. */
export const DEFAULT_TRACKING_DIR = "mlruns";

/** The tracking URI in effect: the argument, else MLFLOW_TRACKING_URI, else `./mlruns`. */
export function resolveTrackingUri(uri?: string, env: Env = process.env): string {
  const chosen = uri?.trim() || env.MLFLOW_TRACKING_URI?.trim();
  return chosen || resolve(DEFAULT_TRACKING_DIR);
}

export type TrackingUriKind = "file" | "rest" | "databricks";

/** Classifies a tracking URI; unknown schemes are an UNSUPPORTED_URI error listing what is accepted. */
export function trackingUriKind(uri: string): TrackingUriKind {
  if (uri === "databricks") return "databricks";
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  // One letter before ':' is a Windows drive, not a scheme.
  if (!scheme || scheme.length === 1 || scheme === "file") return "file";
  if (scheme === "http" || scheme === "https") return "rest";
  if (scheme === "databricks") return "databricks";
  const hint = /^(sqlite|postgresql|postgres|mysql|mssql)/.test(scheme)
    ? " Database stores are served by an MLflow server: run `mlflow server --backend-store-uri " +
      uri +
      "` and track to its http:// address."
    : "";
  throw new MlflowError(
    "UNSUPPORTED_URI",
    `Unsupported tracking URI ${JSON.stringify(uri)} (scheme "${scheme}:"). Accepted: ${ACCEPTED_TRACKING_URIS.join("; ")}.${hint}`,
  );
}

/** Local directory of a `file:` URI or plain path (relative paths against the working directory). */
export function fileStoreRoot(uri: string): string {
  if (uri.startsWith("file://")) return fileURLToPath(uri);
  const path = uri.startsWith("file:") ? uri.slice("file:".length) : uri;
  return isAbsolute(path) ? path : resolve(path);
}
