// tslab's TypeScript (9 MB of JavaScript) loaded with V8's code cache of it, made by
// `npm run build` (build/typescript-code-cache.mjs) after converting a few cells, so it holds
// the compiled code of what a conversion runs: a compiler that starts with no snapshot (on a
// machine where no kernel ran yet) skips ~0.1 s of compiling TypeScript and ~0.07 s of
// compiling its functions on first call. The cache is for one V8, one TypeScript file and one
// set of V8 flags; V8 refuses any other, and a cache whose bytes are not those the build wrote
// is not given to V8 (then TypeScript compiles as without it).
import { createHash } from "node:crypto";
import fs from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { hasCompilerV8Flags } from "./compiler-v8-flags.js";

/**
 * The build makes two caches: one under the compiler processes' V8 flags (a shared service that
 * starts cold), one under none (a kernel's own compiler, a worker thread of the kernel's process).
 */
export function codeCacheFile(execArgv: readonly string[] = process.execArgv): string {
  return fileURLToPath(
    new URL(hasCompilerV8Flags(execArgv) ? "./typescript.compiler-flags.code-cache" : "./typescript.code-cache", import.meta.url),
  );
}

export type CodeCacheUse = "used" | "damaged" | "refused by V8" | "none";

/** The script TypeScript was compiled from, and its file, for `saveTypeScriptCodeCache`. */
let compiled: { script: vm.Script; tsPath: string } | undefined;

/** V8's version, and TypeScript's version and size: V8 itself checks the source's length, not its content. */
function cacheKey(tsPath: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(tsPath), "..", "package.json"), "utf8")) as { version?: string };
  return JSON.stringify({ v8: process.versions.v8, typescript: pkg.version, bytes: fs.statSync(tsPath).size });
}

/** The cache when it was made for `key` and is whole (V8 does not check: a damaged cache crashes it). */
function readCache(key: string, cacheFile: string): Buffer | "damaged" | undefined {
  try {
    const made = JSON.parse(fs.readFileSync(`${cacheFile}.json`, "utf8")) as { key?: string; sha256?: string };
    if (made.key !== key) return undefined;
    const data = fs.readFileSync(cacheFile);
    return createHash("sha256").update(data).digest("hex") === made.sha256 ? data : "damaged";
  } catch {
    return undefined; // none built, or unreadable: compile without
  }
}

/**
 * TypeScript at `tsPath` as `require` would load it (and in require's cache), compiled with the
 * code cache in `cacheFile` when it fits (what it was made for is in `${cacheFile}.json`).
 */
export function requireTypeScript(tsPath: string, cacheFile = codeCacheFile()): { ts: unknown; codeCache: CodeCacheUse } {
  const made = readCache(cacheKey(tsPath), cacheFile);
  const cachedData = made === "damaged" ? undefined : made;
  const script = new vm.Script(Module.wrap(fs.readFileSync(tsPath, "utf8")), { filename: tsPath, cachedData });
  const module = new Module(tsPath);
  module.filename = tsPath;
  const require = createRequire(tsPath);
  (script.runInThisContext() as (...a: unknown[]) => void).call(
    module.exports,
    module.exports,
    require,
    module,
    tsPath,
    path.dirname(tsPath),
  );
  module.loaded = true;
  require.cache[tsPath] = module;
  compiled = { script, tsPath };
  const codeCache = made === "damaged" ? made : cachedData === undefined ? "none" : script.cachedDataRejected ? "refused by V8" : "used";
  return { ts: module.exports, codeCache };
}

/** Writes the code cache (for this process's V8 flags) of the TypeScript loaded by `requireTypeScript`, with what this process compiled of it since. */
export function saveTypeScriptCodeCache(): number {
  if (!compiled) throw new Error("TypeScript was not loaded through requireTypeScript");
  const data = compiled.script.createCachedData();
  const file = codeCacheFile();
  fs.writeFileSync(file, data);
  const made = { key: cacheKey(compiled.tsPath), sha256: createHash("sha256").update(data).digest("hex") };
  fs.writeFileSync(`${file}.json`, JSON.stringify(made));
  return data.length;
}
