// The recursive directory watches of a process's first converter, set up a second later.
//
// The watch program watches the folders where module and @types lookups failed (node_modules
// among them) so that a package installed later is found. On Linux, TypeScript emulates a
// recursive watch by reading and watching every folder below: ~100-130 ms in a project with a
// large node_modules, on the path of the first cell's result, which the kernel that started
// the process is waiting for. Set up a second later instead, off that path. When set up, the
// watcher reports its folder as changed, so a lookup that failed meanwhile (a package
// installed in that second) is tried again, as if the change had been seen (the watch
// program's timers it sets are queued behind tslab's, see watch-timers.ts). Later converters
// of a shared service are mostly spares, made off any cell's path, whose late walks would land
// on the next kernel's start instead: theirs are set up at once.
import type * as TS from "@tslab/typescript-for-tslab";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

/** How long after a converter's program is made its recursive directory watchers are set up. */
const RECURSIVE_WATCH_DELAY_MS = 1_000;

export function withDeferredRecursiveWatches(ts: TypeScript): TypeScript {
  let firstConverter = true;
  const createWatchCompilerHost = (...args: unknown[]) => {
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHost<TS.BuilderProgram>)(...args);
    if (firstConverter) deferRecursiveWatches(host);
    firstConverter = false;
    return host;
  };
  return withOverrides(ts, { createWatchCompilerHost });
}

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
