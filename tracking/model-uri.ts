// Model URIs as MLflow writes them: `runs:/<run_id>/<path>`, `models:/<name>/<version>`,
// `models:/<name>@<alias>`, `models:/<name>/latest` and `models:/<name>/<stage>`; resolved
// to the run and artifact location holding the model. Names may be `catalog.schema.model`.
// A version's source may be the `runs:/` URI it was created from, or (MLflow's Python
// `register_model`) that URI already resolved to a location under the run's artifact URI
// (`mlflow-artifacts:/1/<run>/artifacts/model`, `file:///…/mlruns/…`, `s3://…`): both resolve
// to the run and the path inside its artifacts.

import { fileURLToPath } from "node:url";
import type { ModelVersion } from "./entities.js";
import { invalidParameter, notFound } from "./errors.js";
import type { TrackingStore } from "./store.js";

export type ModelUri =
  | { kind: "runs"; runId: string; path: string }
  | { kind: "version"; name: string; version: string }
  | { kind: "alias"; name: string; alias: string }
  | { kind: "latest"; name: string }
  | { kind: "stage"; name: string; stage: string };

export const ACCEPTED_MODEL_URIS = [
  "runs:/<run_id>/<path>",
  "models:/<name>/<version>",
  "models:/<name>@<alias>",
  "models:/<name>/latest",
  "models:/<name>/<stage>",
] as const;

const bad = (uri: string, why: string) =>
  invalidParameter(`Invalid model URI ${JSON.stringify(uri)}: ${why}. Accepted forms: ${ACCEPTED_MODEL_URIS.join(", ")}.`);

export function parseModelUri(uri: string): ModelUri {
  if (typeof uri !== "string") throw bad(String(uri), "not a string");
  if (uri.startsWith("runs:/")) {
    const m = /^runs:\/+([^/]+)(?:\/(.*))?$/.exec(uri);
    if (!m) throw bad(uri, "no run id after runs:/");
    const path = (m[2] ?? "").replace(/\/+$/, "");
    if (path.split("/").some((s) => s === ".." || s === ".")) throw bad(uri, "the artifact path must not contain '.' or '..'");
    return { kind: "runs", runId: m[1], path };
  }
  if (uri.startsWith("models:/")) {
    const rest = uri.slice("models:/".length).replace(/^\/+/, "").replace(/\/+$/, "");
    const at = rest.lastIndexOf("@");
    if (at > 0 && !rest.includes("/")) {
      const name = rest.slice(0, at),
        alias = rest.slice(at + 1);
      if (!alias) throw bad(uri, "empty alias after '@'");
      return { kind: "alias", name, alias };
    }
    const parts = rest.split("/");
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw bad(uri, "expected a model name and a version, alias, 'latest' or stage");
    const [name, ref] = parts;
    if (/^\d+$/.test(ref)) return { kind: "version", name, version: ref };
    if (ref.toLowerCase() === "latest") return { kind: "latest", name };
    return { kind: "stage", name, stage: ref };
  }
  throw bad(uri, "unknown scheme");
}

export interface ResolvedModel {
  uri: string;
  /** The run that logged the model, when known. */
  runId?: string;
  /** The model's path inside that run's artifacts, when it lives in a run. */
  path?: string;
  /** Full artifact location of the model directory (e.g. `mlflow-artifacts:/1/<run>/artifacts/model`). */
  artifactUri: string;
  /** The registry entry, for `models:/` URIs. */
  modelVersion?: ModelVersion;
}

/** Finds the model version a `models:/` URI names, or undefined for `runs:/`. */
export async function modelVersionFor(store: TrackingStore, parsed: ModelUri, uri: string): Promise<ModelVersion | undefined> {
  switch (parsed.kind) {
    case "runs":
      return undefined;
    case "version":
      return store.getModelVersion(parsed.name, parsed.version);
    case "alias":
      return store.getModelVersionByAlias(parsed.name, parsed.alias);
    case "latest":
    case "stage": {
      const versions: ModelVersion[] = [];
      let pageToken: string | undefined;
      do {
        const page = await store.searchModelVersions({ filter: `name = '${parsed.name.replace(/'/g, "\\'")}'`, pageToken });
        versions.push(...page.items);
        pageToken = page.nextPageToken;
      } while (pageToken);
      const wanted =
        parsed.kind === "stage" ? versions.filter((v) => (v.currentStage ?? "").toLowerCase() === parsed.stage.toLowerCase()) : versions;
      const best = wanted.sort((a, b) => Number(b.version) - Number(a.version))[0];
      if (!best)
        throw notFound(
          `No version of registered model ${JSON.stringify(parsed.name)} ${parsed.kind === "stage" ? `in stage ${JSON.stringify(parsed.stage)}` : "exists"} (from ${uri}).`,
        );
      return best;
    }
  }
}

/** Resolves a model URI to its run, path and artifact location. */
export async function resolveModelUri(store: TrackingStore, uri: string): Promise<ResolvedModel> {
  const parsed = parseModelUri(uri);
  if (parsed.kind === "runs") {
    const run = await store.getRun(parsed.runId);
    const root = run.info.artifactUri.replace(/\/+$/, "");
    return { uri, runId: parsed.runId, path: parsed.path, artifactUri: parsed.path ? `${root}/${parsed.path}` : root };
  }
  const mv = (await modelVersionFor(store, parsed, uri))!;
  if (mv.source.startsWith("runs:/")) {
    const inner = await resolveModelUri(store, mv.source);
    return { ...inner, uri, modelVersion: mv };
  }
  const runId = mv.runId || undefined;
  const path = runId && !mv.source.startsWith("models:") ? await pathInRun(store, runId, mv.source) : undefined;
  return path === undefined
    ? { uri, runId, artifactUri: mv.source, modelVersion: mv }
    : { uri, runId, path, artifactUri: mv.source, modelVersion: mv };
}

/** A location in a comparable spelling: `file:` URIs as paths, no host-less `//`, no trailing slash. */
function comparable(location: string): string {
  let s = location;
  if (/^file:/i.test(s)) {
    try {
      s = fileURLToPath(s);
    } catch {
      // Not a valid file URI (e.g. a relative one): compare it as written.
    }
  }
  return s.replace(/^([a-zA-Z][\w+.-]*:)\/\/\//, "$1/").replace(/\/+$/, "");
}

/**
 * The path of `source` inside the run's artifacts, when it lies under the run's artifact URI;
 * undefined when it does not, or the run is gone (the source is then read as it is).
 */
async function pathInRun(store: TrackingStore, runId: string, source: string): Promise<string | undefined> {
  const run = await store.getRun(runId).catch((err: unknown) => {
    if ((err as { code?: string }).code === "RESOURCE_DOES_NOT_EXIST") return undefined;
    throw err;
  });
  if (!run?.info.artifactUri) return undefined;
  const root = comparable(run.info.artifactUri);
  const src = comparable(source);
  if (src === root) return "";
  if (!src.startsWith(`${root}/`)) return undefined;
  const path = src.slice(root.length + 1).replace(/^\/+/, "");
  return path.split("/").some((s) => s === ".." || s === ".") ? undefined : path;
}
