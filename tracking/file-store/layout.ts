// Where things live in an MLflow FileStore tree, and how URIs written into it are mapped
// back onto the tree's current location (a copied or moved mlruns keeps its old absolute
// `file:` URIs in every meta.yaml).

import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MlflowError } from "../errors.js";

export const TRASH = ".trash";
export const MODELS = "models";
/** Folders inside an experiment that are not runs (`models/` holds MLflow 3's LoggedModels). */
export const EXPERIMENT_RESERVED = new Set(["tags", "datasets", "traces", MODELS]);

/** Turns `file:///abs`, `file:rel`, `/abs` or `rel` into an absolute path. */
export function rootPathFrom(rootPathOrFileUri: string): string {
  const s = rootPathOrFileUri.trim();
  if (!s) throw new MlflowError("UNSUPPORTED_URI", "A file store needs a directory path or a file: URI; got an empty string.");
  if (s.startsWith("file:")) {
    if (s.startsWith("file://")) {
      try {
        return fileURLToPath(s);
      } catch (e) {
        throw new MlflowError(
          "UNSUPPORTED_URI",
          `Invalid file: URI '${s}': ${(e as Error).message}. Use file:///absolute/path or a plain path.`,
        );
      }
    }
    return resolve(decodeURIComponent(s.slice("file:".length)));
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s))
    throw new MlflowError("UNSUPPORTED_URI", `'${s}' is not a file store location; use a directory path or a file: URI.`);
  return isAbsolute(s) ? s : resolve(s);
}

/** `file:///abs/path` without a trailing slash, as MLflow writes it. */
export const fileUri = (path: string): string => pathToFileURL(path).href.replace(/\/$/, "");

export class Layout {
  readonly rootUri: string;
  constructor(readonly root: string) {
    this.rootUri = fileUri(root);
  }
  activeExperimentDir = (id: string) => join(this.root, id);
  trashedExperimentDir = (id: string) => join(this.root, TRASH, id);
  get trashDir() {
    return join(this.root, TRASH);
  }
  get modelsDir() {
    return join(this.root, MODELS);
  }
  defaultExperimentLocation = (id: string) => `${this.rootUri}/${id}`;
  defaultArtifactUri = (expId: string, runId: string) => `${this.rootUri}/${expId}/${runId}/artifacts`;

  /**
   * Rebases a stored `file:` URI that ends with `suffix` (e.g. `/<exp>/<run>/artifacts`)
   * but points at another root onto this root. Any other URI is returned as is.
   */
  rebase(uri: string, suffix: string): string {
    if (!uri.startsWith("file:") || !uri.endsWith(suffix)) return uri;
    return this.rootUri + suffix;
  }
}
