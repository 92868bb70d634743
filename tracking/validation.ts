// Checks applied at the call, before anything is queued or sent, so bad input fails
// where the user wrote it with a message naming the value and the rule. The one home of
// MLflow's validators and limits, artifact paths included: every store and client uses these.

import type { Batch, Metric, Param, Tag } from "./entities.js";
import { invalidParameter } from "./errors.js";
import {
  MAX_ENTITIES_PER_BATCH,
  MAX_KEY_LENGTH,
  MAX_METRICS_PER_BATCH,
  MAX_PARAMS_PER_BATCH,
  MAX_EXPERIMENT_NAME_LENGTH,
  MAX_PARAM_VALUE_LENGTH,
  MAX_RUN_NAME_LENGTH,
  MAX_TAGS_PER_BATCH,
  MAX_TAG_VALUE_LENGTH,
} from "./limits.js";

// MLflow accepts letters, digits, `_ - . / space` and (on POSIX) `:` in keys.
const KEY_PATTERN = /^[\w\-. /:]+$/;
const show = (v: unknown) => JSON.stringify(String(v).length > 80 ? String(v).slice(0, 77) + "..." : String(v));

export type KeyKind = "metric" | "param" | "tag";

export function validateKey(kind: KeyKind, key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0)
    throw invalidParameter(`Invalid ${kind} key ${show(key)}: a key must be a non-empty string.`);
  if (key.length > MAX_KEY_LENGTH)
    throw invalidParameter(`Invalid ${kind} key ${show(key)}: ${key.length} characters, at most ${MAX_KEY_LENGTH} are accepted.`);
  if (!KEY_PATTERN.test(key))
    throw invalidParameter(
      `Invalid ${kind} key ${show(key)}: keys may contain only letters, digits, underscores, dashes, periods, spaces, colons and slashes.`,
    );
  const parts = key.split("/");
  if (key.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === ""))
    throw invalidParameter(`Invalid ${kind} key ${show(key)}: a key must be a relative path without '.', '..' or empty segments.`);
}

export function validateMetric(m: Metric): void {
  validateKey("metric", m.key);
  if (typeof m.value !== "number")
    throw invalidParameter(
      `Invalid value ${show(m.value)} for metric ${show(m.key)}: a metric value must be a number (NaN and ±Infinity are accepted).`,
    );
  if (!Number.isInteger(m.step))
    throw invalidParameter(`Invalid step ${show(m.step)} for metric ${show(m.key)}: a step must be an integer.`);
  if (!Number.isInteger(m.timestamp))
    throw invalidParameter(
      `Invalid timestamp ${show(m.timestamp)} for metric ${show(m.key)}: a timestamp must be integer epoch milliseconds.`,
    );
}

export function validateParam(p: Param): void {
  validateText("param", p, MAX_PARAM_VALUE_LENGTH);
}

export function validateTag(t: Tag): void {
  validateText("tag", t, MAX_TAG_VALUE_LENGTH);
}

/** A param or tag: a valid key and a string value of at most `maxLength` characters. */
function validateText(kind: "param" | "tag", { key, value }: Param | Tag, maxLength: number): void {
  validateKey(kind, key);
  if (typeof value !== "string") throw invalidParameter(`Invalid value for ${kind} ${show(key)}: ${kind} values are strings.`);
  if (value.length > maxLength)
    throw invalidParameter(`Invalid value for ${kind} ${show(key)}: ${value.length} characters, at most ${maxLength} are accepted.`);
}

/** Validates every entity and the per-request limits of one log-batch request. */
export function validateBatch(batch: Batch): void {
  const metrics = batch.metrics ?? [],
    params = batch.params ?? [],
    tags = batch.tags ?? [];
  if (metrics.length > MAX_METRICS_PER_BATCH)
    throw invalidParameter(`A batch holds ${metrics.length} metrics; at most ${MAX_METRICS_PER_BATCH} are accepted.`);
  if (params.length > MAX_PARAMS_PER_BATCH)
    throw invalidParameter(`A batch holds ${params.length} params; at most ${MAX_PARAMS_PER_BATCH} are accepted.`);
  if (tags.length > MAX_TAGS_PER_BATCH)
    throw invalidParameter(`A batch holds ${tags.length} tags; at most ${MAX_TAGS_PER_BATCH} are accepted.`);
  const total = metrics.length + params.length + tags.length;
  if (total > MAX_ENTITIES_PER_BATCH)
    throw invalidParameter(`A batch holds ${total} metrics, params and tags; at most ${MAX_ENTITIES_PER_BATCH} are accepted.`);
  metrics.forEach(validateMetric);
  params.forEach(validateParam);
  tags.forEach(validateTag);
  validateParamsConsistent(params);
}

/** Refuses one param key with two different values (params are immutable). */
export function validateParamsConsistent(params: Param[]): void {
  const seen = new Map<string, string>();
  for (const p of params) {
    const before = seen.get(p.key);
    if (before !== undefined && before !== p.value)
      throw invalidParameter(
        `Param ${show(p.key)} appears twice in one batch with different values (${show(before)} and ${show(p.value)}).`,
      );
    seen.set(p.key, p.value);
  }
}

/**
 * A run name: a string of at most MAX_RUN_NAME_LENGTH characters. Checked here for every store
 * alike (a REST server on sqlite stores any length while the file store refuses long ones), so
 * a name is refused the same way wherever the run would go.
 */
export function validateRunName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw invalidParameter(`Invalid run name ${show(name)}: a run name is a string.`);
  if (name.length > MAX_RUN_NAME_LENGTH)
    throw invalidParameter(`Invalid run name ${show(name)}: ${name.length} characters, at most ${MAX_RUN_NAME_LENGTH} are accepted.`);
}

/** An experiment name: a non-blank string of at most MAX_EXPERIMENT_NAME_LENGTH characters. */
export function validateExperimentName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.trim() === "")
    throw invalidParameter(`Invalid experiment name ${show(name)}: an experiment name is a non-empty string.`);
  if (name.length > MAX_EXPERIMENT_NAME_LENGTH)
    throw invalidParameter(
      `Invalid experiment name ${show(name)}: ${name.length} characters, at most ${MAX_EXPERIMENT_NAME_LENGTH} are accepted.`,
    );
}

/**
 * Longest name of one artifact path segment, in UTF-8 bytes: what the file systems MLflow's
 * artifact stores write to take (NAME_MAX). A server answers a longer name with a 500 that no
 * retry can fix.
 */
export const MAX_ARTIFACT_NAME_BYTES = 255;
/** Longest artifact path, in characters (PATH_MAX-safe below a run's artifact root). */
export const MAX_ARTIFACT_PATH_LENGTH = 1024;

/**
 * An artifact path inside a run: relative, '/'-separated, without '.', '..' or empty segments,
 * without control characters (a NUL cannot be in a file name), each segment at most
 * MAX_ARTIFACT_NAME_BYTES bytes. Checked before anything is sent or spooled.
 */
export function validateArtifactPath(path: unknown): asserts path is string {
  const bad = (why: string) =>
    invalidParameter(`Invalid artifact path ${show(path)}: ${why}; use a relative path such as "plots/loss.png".`);
  if (typeof path !== "string" || path.length === 0) throw bad("an artifact path is a non-empty string");
  if (path.startsWith("/") || path.includes("\\")) throw bad("it must be relative, with '/' between segments");
  if (path.split("/").some((segment) => segment === "" || segment === "." || segment === ".."))
    throw bad("'.', '..' and empty segments are not accepted");
  checkArtifactNames(path, path);
}

/** What no file system under an artifact root can store: control characters, over-long names and paths. */
function checkArtifactNames(given: string, p: string): void {
  const bad = (why: string) =>
    invalidParameter(`Invalid artifact path ${show(given)}: ${why}; use a relative path such as "plots/loss.png".`);
  if (p.length > MAX_ARTIFACT_PATH_LENGTH) throw bad(`${p.length} characters, at most ${MAX_ARTIFACT_PATH_LENGTH} are accepted`);
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/.exec(p);
  if (control)
    throw bad(
      `it holds the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}, which no file name can`,
    );
  for (const segment of p.split("/")) {
    const bytes = Buffer.byteLength(segment, "utf8");
    if (bytes > MAX_ARTIFACT_NAME_BYTES)
      throw bad(
        `the segment ${show(segment)} is ${bytes} bytes, at most ${MAX_ARTIFACT_NAME_BYTES} are accepted per file or directory name`,
      );
  }
}

/**
 * An artifact path as a store reads it: `\\` taken as `/`, a leading `./` and trailing `/`
 * dropped. Refuses absolute paths (including a Windows drive, `C:`), and '.', '..' and empty
 * segments, so no path reaches outside a run's artifact root. `allowEmpty` (listing a run's
 * root) accepts "" and "." as the root itself, returned as "".
 */
export function checkArtifactPath(path: string, allowEmpty = false): string {
  const p = path
    .replace(/\\/g, "/")
    .replace(/^\.\/+/, "")
    .replace(/\/+$/, "");
  if (p === "" || p === ".") {
    if (allowEmpty) return "";
    throw invalidParameter(
      `Invalid artifact path ${JSON.stringify(path)}: an artifact path is required, a relative path like "plots/loss.png".`,
    );
  }
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p) || p.split("/").some((s) => s === ".." || s === "." || s === ""))
    throw invalidParameter(
      `Invalid artifact path ${JSON.stringify(path)}: it must be a relative path like "plots/loss.png", without '.', '..' or empty segments.`,
    );
  checkArtifactNames(path, p);
  return p;
}

/**
 * checkArtifactPath plus what MLflow's artifact proxy (`mlflow-artifacts:`) cannot keep, seen
 * on 2.22 and 3.4 alike: it refuses a `#` anywhere with a bare "Invalid path", and it
 * percent-decodes paths until they stop changing, so a literal `%20` in a name would be
 * stored as a space.
 */
export function checkServedArtifactPath(path: string): string {
  const p = checkArtifactPath(path);
  if (p.includes("#"))
    throw invalidParameter(
      `Invalid artifact path ${JSON.stringify(path)}: an MLflow server's artifact proxy refuses paths containing '#'.`,
    );
  const encoded = /%[0-9A-Fa-f]{2}/.exec(p);
  if (encoded)
    throw invalidParameter(
      `Invalid artifact path ${JSON.stringify(path)}: an MLflow server's artifact proxy would store "${encoded[0]}" as the character it encodes; name the file without '%' followed by two hex digits.`,
    );
  return p;
}
