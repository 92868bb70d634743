// File primitives for the file store: atomic writes (temp file + rename, so a reader never
// sees half a file), single-write appends (O_APPEND, so concurrent metric writers never
// interleave inside a line), YAML in PyYAML's style, and reads that turn damage into a
// CORRUPT_STORE error naming the file.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { writeFileAtomic, writeFileAtomicSync } from "../atomic-write.js";
import { MlflowError } from "../errors.js";
import { parseFlatYaml, stringifyFlatYaml } from "./flat-yaml.js";

export const corrupt = (file: string, why: string, cause?: unknown) =>
  new MlflowError("CORRUPT_STORE", `Corrupt file store file ${file}: ${why}`, 500, { cause });

export const isNoEnt = (e: unknown) => (e as NodeJS.ErrnoException)?.code === "ENOENT";
export const isExists = (e: unknown) => (e as NodeJS.ErrnoException)?.code === "EEXIST";

// `~` never appears in a valid metric, param or tag key, so listings can tell temp files apart.
const TMP_MARK = "~tmp~";
export const isTempFile = (name: string) => name.includes(TMP_MARK);

// Store files are small (a meta.yaml, a tag, a metric's lines), so they are read and written
// with synchronous calls: about 10 µs each, against 100-250 µs for fs.promises' several
// thread-pool round trips. That is what makes reading 1,000 runs or opening a run cheap;
// long scans yield to the event loop between runs (see Runs.listIn). Large artifacts are
// written asynchronously so they never hold the event loop.
const LARGE = 1 << 20;
let tmpSeq = 0;
const TMP_TAG = randomBytes(4).toString("hex");
const tempFor = (file: string) => `${file}${TMP_MARK}${process.pid}-${TMP_TAG}-${(tmpSeq++).toString(36)}`;

function writeWithParents(file: string, data: string | Uint8Array, flag = "w"): void {
  try {
    fs.writeFileSync(file, data, { flag });
  } catch (e) {
    if (!isNoEnt(e)) throw e;
    fs.mkdirSync(dirname(file), { recursive: true });
    fs.writeFileSync(file, data, { flag });
  }
}

export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const options = { mkdir: true, tmp: tempFor(file) };
  if (data.length > LARGE) await writeFileAtomic(file, data, options);
  else writeFileAtomicSync(file, data, options);
}

/**
 * Writes a file that no reader can see yet (e.g. a tag of a run whose meta.yaml, written
 * last, does not exist yet): no temp file needed.
 */
export async function writeUnpublished(file: string, data: string): Promise<void> {
  writeWithParents(file, data);
}

/**
 * Creates `file` with `data` unless it exists, atomically across processes: the content is
 * written to a temp file and hard-linked into place (link fails if the name is taken).
 * Returns false when the file already existed.
 */
export async function createExclusive(file: string, data: string): Promise<boolean> {
  const tmp = tempFor(file);
  writeWithParents(tmp, data);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if (isExists(e)) return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Appends with one write() on an O_APPEND descriptor: concurrent appenders never split a line. */
export async function appendWhole(file: string, text: string): Promise<void> {
  writeWithParents(file, text, "a");
}

export async function readTextOrUndefined(file: string): Promise<string | undefined> {
  return readTextSync(file);
}

export function readTextSync(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    if (isNoEnt(e)) return undefined;
    throw e;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    fs.statSync(path);
    return true;
  } catch (e) {
    if (isNoEnt(e)) return false;
    throw e;
  }
}

/** Names of the sub-directories of `dir` (none when it does not exist), in listing order. */
export async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if (isNoEnt(e) || (e as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw e;
  }
}

/** Files under `dir` as `/`-joined relative paths (keys with `/` live in sub-directories). */
export async function listFilesDeep(dir: string): Promise<string[]> {
  return listFilesDeepSync(dir);
}

export function listFilesDeepSync(dir: string, prefix = ""): string[] {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (isNoEnt(e)) return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    if (isTempFile(e.name)) continue; // an atomic write in flight
    if (e.isDirectory()) out.push(...listFilesDeepSync(join(dir, e.name), `${prefix}${e.name}/`));
    else out.push(prefix + e.name);
  }
  return out;
}

// PyYAML (which MLflow uses) resolves YAML 1.1 scalars: `yes` is a boolean there, so it
// quotes such strings when writing; the 1.1 schema makes `yaml` do the same.
const YAML_OPTIONS = { version: "1.1", sortMapEntries: true, singleQuote: true, lineWidth: 0 } as const;

// The full YAML library (~50 ms to load) is only the fallback behind the flat fast path, so it
// loads on first use: opening a store (and importing tracking/) does not pay for it. Loaded
// with require because the callers are synchronous; `yaml` resolves to the same CommonJS
// build for import and require in Node, so there is one copy either way.
type YamlLib = typeof import("yaml");
let yamlLib: YamlLib | undefined;
const yaml = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)("yaml") as YamlLib);

export const toYaml = (doc: Record<string, unknown>): string => stringifyFlatYaml(doc) ?? yaml().stringify(doc, YAML_OPTIONS);

/** Reads a YAML mapping; undefined when the file does not exist. */
export async function readYaml(file: string): Promise<Record<string, unknown> | undefined> {
  return readYamlSync(file);
}

export function readYamlSync(file: string): Record<string, unknown> | undefined {
  const text = readTextSync(file);
  if (text === undefined) return undefined;
  let doc: unknown = parseFlatYaml(text);
  if (doc) return doc as Record<string, unknown>;
  try {
    doc = yaml().parse(text, { version: "1.1" });
  } catch (e) {
    throw corrupt(file, `not valid YAML (${(e as Error).message.split("\n")[0]})`, e);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw corrupt(file, "expected a YAML mapping");
  return doc as Record<string, unknown>;
}

export const writeYaml = (file: string, doc: Record<string, unknown>) => writeAtomic(file, toYaml(doc));
