// Parsed declaration files shared by every converter of a compiler service started without a
// snapshot (shared-service.ts): the first kernel's converter parses lib.es2022*.d.ts and the
// @types it sees; the next kernels' converters get the same parsed files instead of parsing
// them again (as a process started from a snapshot gets them, see snapshot.cts). A file whose
// size or modification time changed since it was parsed is read again. The first of those
// converters sets up its recursive directory watchers a second late (deferRecursiveWatches).
import fs from "node:fs";
import type * as TS from "@tslab/typescript-for-tslab";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");
type Host = TS.CompilerHost & { getSourceFileByPath?(fileName: string, path: string, ...rest: unknown[]): TS.SourceFile | undefined };
type Options = TS.ScriptTarget | TS.CreateSourceFileOptions;

/** A parsed file and the file state it was read from. */
export interface CachedDeclaration {
  sourceFile: TS.SourceFile;
  mtimeMs: number;
  size: number;
}

interface Entry extends CachedDeclaration {
  /** When it was parsed (Date.now()). */
  parsedAt: number;
}

export interface DeclarationCache {
  /** TypeScript whose watch programs' hosts answer from the cache. */
  ts: TypeScript;
  /** Whether a cached file changed on disk, or was parsed again, after `since` (ms since the epoch). */
  changedSince(since: number): boolean;
}

export function withDeclarationCache(ts: TypeScript, parsed: Map<string, CachedDeclaration> = new Map()): DeclarationCache {
  /** By file name, language version and module format (a file parses differently under each). */
  const files = new Map<string, Entry>();
  const keyOf = (fileName: string, options: Options) =>
    typeof options === "object"
      ? `${fileName}\0${options.languageVersion}\0${options.impliedNodeFormat ?? ""}`
      : `${fileName}\0${options}\0`;
  for (const [fileName, entry] of parsed) {
    const { languageVersion, impliedNodeFormat } = entry.sourceFile;
    files.set(keyOf(fileName, { languageVersion, impliedNodeFormat }), { ...entry, parsedAt: 0 });
  }

  const cached = (fileName: string, options: Options, fresh: boolean | undefined, read: () => TS.SourceFile | undefined) => {
    if (!fileName.endsWith(".d.ts")) return read();
    const key = keyOf(fileName, options);
    const stat = fs.statSync(fileName, { throwIfNoEntry: false });
    const entry = files.get(key);
    if (!fresh && entry && stat && entry.mtimeMs === stat.mtimeMs && entry.size === stat.size) return entry.sourceFile;
    const sourceFile = read();
    if (sourceFile && stat) {
      // Builder programs (tslab's watch program) need a version per file.
      const versioned = sourceFile as { version?: string };
      versioned.version ??= ts.sys.createHash?.(sourceFile.text) ?? `${stat.size}-${stat.mtimeMs}`;
      files.set(key, { sourceFile, mtimeMs: stat.mtimeMs, size: stat.size, parsedAt: Date.now() });
    } else files.delete(key);
    return sourceFile;
  };

  let firstConverter = true;
  const served = new WeakSet<object>();
  const serve = (host: Host) => {
    if (served.has(host)) return;
    served.add(host);
    const byName = host.getSourceFile;
    const byPath = host.getSourceFileByPath;
    host.getSourceFile = (fileName, options, onError, fresh) =>
      cached(fileName, options, fresh, () => byName.call(host, fileName, options, onError, fresh));
    if (byPath) {
      host.getSourceFileByPath = (fileName, filePath, options, onError, fresh) =>
        cached(fileName, options as Options, fresh as boolean | undefined, () =>
          byPath.call(host, fileName, filePath, options, onError, fresh),
        );
    }
  };

  const createWatchCompilerHost = (...args: unknown[]) => {
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHost<TS.BuilderProgram>)(...args);
    // Only the first converter's: it is the one the kernel that started the service waits for;
    // later ones are mostly spares, made off any cell's path, whose late walks would land on
    // the next kernel's start instead.
    if (firstConverter) deferRecursiveWatches(host);
    firstConverter = false;
    const createProgram = host.createProgram;
    host.createProgram = (rootNames, options, compilerHost, ...rest) => {
      if (compilerHost) serve(compilerHost as Host);
      return createProgram(rootNames, options, compilerHost, ...rest);
    };
    return host;
  };
  const changedSince = (since: number) => {
    for (const [key, entry] of files) {
      if (entry.parsedAt > since) return true;
      const stat = fs.statSync(key.slice(0, key.indexOf("\0")), { throwIfNoEntry: false });
      if (!stat || stat.mtimeMs !== entry.mtimeMs || stat.size !== entry.size) return true;
    }
    return false;
  };
  return { ts: withOverrides(ts, { createWatchCompilerHost }), changedSince };
}

/** How long after a converter's program is made its recursive directory watchers are set up. */
const RECURSIVE_WATCH_DELAY_MS = 1_000;

/**
 * The first converter's recursive directory watchers (the folders where module and @types lookups
 * failed, node_modules among them) are set up a second later, off the first cell's path: on
 * Linux, TypeScript emulates a recursive watch by reading and watching every folder below
 * (130 ms of a 300 ms converter start in a project with a large node_modules). When set up,
 * the watcher reports its folder as changed, so a lookup that failed meanwhile (a package
 * installed in that second) is tried again, as if the change had been seen (the watch
 * program's timers it sets are queued behind tslab's, see watch-timers.ts).
 */
function deferRecursiveWatches(host: TS.WatchCompilerHost<TS.BuilderProgram>): void {
  const watchDirectory = host.watchDirectory.bind(host);
  host.watchDirectory = (directory, callback, recursive, options) => {
    if (!recursive) return watchDirectory(directory, callback, recursive, options);
    let watcher: TS.FileWatcher | undefined;
    const timer = setTimeout(() => {
      try {
        watcher = watchDirectory(directory, callback, recursive, options);
      } catch {
        // a folder that cannot be watched (gone, or out of inotify watches): as TypeScript, go on without
      }
      callback(directory);
    }, RECURSIVE_WATCH_DELAY_MS);
    timer.unref();
    return {
      close: () => {
        clearTimeout(timer);
        watcher?.close();
      },
    };
  };
}
