// File primitives for the file store: atomic writes (temp file + rename, so a reader never
// sees half a file), single-write appends (O_APPEND, so concurrent metric writers never
// interleave inside a line), YAML in PyYAML's style, and reads that turn damage into a
// CORRUPT_STORE error naming the file.

import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { MlflowError } from "../errors.js";

export const corrupt = (file: string, why: string, cause?: unknown) =>
  new MlflowError("CORRUPT_STORE", `Corrupt file store file ${file}: ${why}`, 500, { cause });

export const isNoEnt = (e: unknown) => (e as NodeJS.ErrnoException)?.code === "ENOENT";
export const isExists = (e: unknown) => (e as NodeJS.ErrnoException)?.code === "EEXIST";

// `~` never appears in a valid metric, param or tag key, so listings can tell temp files apart.
const TMP_MARK = "~tmp~";
export const isTempFile = (name: string) => name.includes(TMP_MARK);

export async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fs.writeFile(tmp, data);
  } catch (e) {
    if (!isNoEnt(e)) throw e;
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.writeFile(tmp, data);
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Creates `file` with `data` unless it exists, atomically across processes: the content is
 * written to a temp file and hard-linked into place (link fails if the name is taken).
 * Returns false when the file already existed.
 */
export async function createExclusive(file: string, data: string): Promise<boolean> {
  const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fs.writeFile(tmp, data);
  } catch (e) {
    if (!isNoEnt(e)) throw e;
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.writeFile(tmp, data);
  }
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    if (isExists(e)) return false;
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Appends with one write() on an O_APPEND descriptor: concurrent appenders never split a line. */
export async function appendWhole(file: string, text: string): Promise<void> {
  try {
    await fs.appendFile(file, text, { flag: "a" });
  } catch (e) {
    if (!isNoEnt(e)) throw e;
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.appendFile(file, text, { flag: "a" });
  }
}

export async function readTextOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    if (isNoEnt(e)) return undefined;
    throw e;
  }
}

export async function exists(path: string): Promise<boolean> {
  try { await fs.stat(path); return true; } catch (e) { if (isNoEnt(e)) return false; throw e; }
}

/** Names of the sub-directories of `dir` (none when it does not exist), in listing order. */
export async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if (isNoEnt(e) || (e as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw e;
  }
}

/** Files under `dir` as `/`-joined relative paths (keys with `/` live in sub-directories). */
export async function listFilesDeep(dir: string, prefix = ""): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isNoEnt(e)) return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    if (isTempFile(e.name)) continue; // an atomic write in flight
    if (e.isDirectory()) out.push(...(await listFilesDeep(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(prefix + e.name);
  }
  return out;
}

// PyYAML (which MLflow uses) resolves YAML 1.1 scalars: `yes` is a boolean there, so it
// quotes such strings when writing; the 1.1 schema makes `yaml` do the same.
const YAML_OPTIONS = { version: "1.1", sortMapEntries: true, singleQuote: true, lineWidth: 0 } as const;

export const toYaml = (doc: Record<string, unknown>): string => stringify(doc, YAML_OPTIONS);

/** Reads a YAML mapping; undefined when the file does not exist. */
export async function readYaml(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readTextOrUndefined(file);
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = parse(text, { version: "1.1" });
  } catch (e) {
    throw corrupt(file, `not valid YAML (${(e as Error).message.split("\n")[0]})`, e);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw corrupt(file, "expected a YAML mapping");
  return doc as Record<string, unknown>;
}

export const writeYaml = (file: string, doc: Record<string, unknown>) => writeAtomic(file, toYaml(doc));
