// Parsed declaration files shared by the converters of a compiler process: those of a compiler
// snapshot (snapshot.cts), and in a shared service (shared-service.ts) every one its first
// kernel's converter parsed (lib.es2022*.d.ts and the @types it sees), so that the next
// kernels' converters get the same parsed files instead of parsing them again. A file whose
// size or modification time changed since it was parsed is read again: a watch on its folder
// vouches for it between changes, so a cell's program needs no stat per file (~170 files,
// 3 ms a cell); a folder that cannot be watched is checked at every request.
import fs from "node:fs";
import path from "node:path";
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
  /** When it was parsed (Date.now()); 0 for files handed over already parsed. */
  parsedAt: number;
  /** Its folder's watch, and the watch's generation when the file was last found unchanged. */
  seen?: { folder: Folder; generation: number };
}

export interface DeclarationCache {
  /** TypeScript whose watch programs' hosts answer from the cache. */
  ts: TypeScript;
  /** Whether a cached file changed on disk, or was parsed again, after `since` (ms since the epoch). */
  changedSince(since: number): boolean;
}

export function withDeclarationCache(ts: TypeScript, parsed: Map<string, CachedDeclaration> = new Map()): DeclarationCache {
  /** By file name: one entry per language version and module format it was parsed for (a file parses differently under each). */
  const files = new Map<string, Entry[]>();
  const sameParse = (sourceFile: TS.SourceFile, options: Options) =>
    typeof options === "object"
      ? sourceFile.languageVersion === options.languageVersion && sourceFile.impliedNodeFormat === options.impliedNodeFormat
      : sourceFile.languageVersion === options && sourceFile.impliedNodeFormat === undefined;
  for (const [fileName, entry] of parsed) files.set(fileName, [{ ...entry, parsedAt: 0 }]);
  const watchFolderOf = folderWatches();

  /** `read(again)`: the host's own answer; `again` when the cached file changed (the watch program may still hold the old one). */
  const cached = (fileName: string, options: Options, fresh: boolean | undefined, read: (again: boolean) => TS.SourceFile | undefined) => {
    if (!fileName.endsWith(".d.ts")) return read(false);
    const entries = files.get(fileName) ?? [];
    const entry = entries.find((e) => sameParse(e.sourceFile, options));
    if (!fresh && entry && vouched(entry.seen)) return entry.sourceFile;
    // The watch before the stat of a cached file, and before the read of a new one: a change after either is seen.
    const watchFolder = () => {
      const folder = watchFolderOf(fileName);
      return folder && { folder, generation: folder.generation };
    };
    let seen = entry && watchFolder();
    const stat = fs.statSync(fileName, { throwIfNoEntry: false });
    if (!entry && stat) seen = watchFolder();
    if (!fresh && entry && stat && entry.mtimeMs === stat.mtimeMs && entry.size === stat.size) {
      entry.seen = seen;
      return entry.sourceFile;
    }
    const sourceFile = read(entry !== undefined);
    const others = entries.filter((e) => e !== entry);
    if (sourceFile && stat) {
      // Builder programs (tslab's watch program) need a version per file.
      const versioned = sourceFile as { version?: string };
      versioned.version ??= ts.sys.createHash?.(sourceFile.text) ?? `${stat.size}-${stat.mtimeMs}`;
      others.push({ sourceFile, mtimeMs: stat.mtimeMs, size: stat.size, parsedAt: Date.now(), seen });
    }
    if (others.length) files.set(fileName, others);
    else files.delete(fileName);
    return sourceFile;
  };
  const served = new WeakSet<object>();
  const serve = (host: Host) => {
    if (served.has(host)) return;
    served.add(host);
    const byName = host.getSourceFile;
    const byPath = host.getSourceFileByPath;
    host.getSourceFile = (fileName, options, onError, fresh) =>
      cached(fileName, options, fresh, (again) => byName.call(host, fileName, options, onError, fresh || again));
    if (byPath) {
      host.getSourceFileByPath = (fileName, filePath, options, onError, fresh) =>
        cached(fileName, options as Options, fresh as boolean | undefined, (again) =>
          byPath.call(host, fileName, filePath, options, onError, Boolean(fresh) || again),
        );
    }
  };

  const createWatchCompilerHost = (...args: unknown[]) => {
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHost<TS.BuilderProgram>)(...args);
    const createProgram = host.createProgram;
    host.createProgram = (rootNames, options, compilerHost, ...rest) => {
      if (compilerHost) serve(compilerHost as Host);
      return createProgram(rootNames, options, compilerHost, ...rest);
    };
    return host;
  };
  const changedSince = (since: number) => {
    for (const [fileName, entries] of files) {
      for (const entry of entries) {
        if (entry.parsedAt > since) return true;
        if (vouched(entry.seen)) continue;
        const stat = fs.statSync(fileName, { throwIfNoEntry: false });
        if (!stat || stat.mtimeMs !== entry.mtimeMs || stat.size !== entry.size) return true;
      }
    }
    return false;
  };
  return { ts: withOverrides(ts, { createWatchCompilerHost }), changedSince };
}

/** A folder's watch: each event starts a new generation of it. */
interface Folder {
  watcher?: fs.FSWatcher;
  generation: number;
  unwatchable?: boolean;
}

/** Whether the folder's watch still runs and has seen no change since the file was found unchanged. */
function vouched(seen: Entry["seen"]): boolean {
  return seen !== undefined && seen.folder.watcher !== undefined && seen.folder.generation === seen.generation;
}

/**
 * Watches on the folders of cached files. Any event in a folder (a file written, added,
 * removed or renamed) starts its next generation and ends the watch (a folder replaced
 * whole, as a package install may do, must be watched anew); the next request for one of
 * its files watches it again and checks the file itself.
 */
function folderWatches(): (file: string) => Folder | undefined {
  const folders = new Map<string, Folder>();
  /** The watched folder of `file` (watched now if it was not), or undefined if it cannot be watched. */
  return (file) => {
    const dir = path.dirname(file);
    let folder = folders.get(dir);
    if (!folder) folders.set(dir, (folder = { generation: 0 }));
    if (folder.unwatchable) return undefined;
    if (!folder.watcher) {
      const watched = folder;
      const changed = () => {
        watched.generation++;
        watched.watcher?.close();
        watched.watcher = undefined;
      };
      try {
        folder.watcher = fs.watch(dir, { persistent: false }, changed).on("error", changed);
      } catch {
        // out of inotify watches, or a folder that cannot be watched: its files are checked at every request
        folder.unwatchable = true;
        return undefined;
      }
    }
    return folder;
  };
}
