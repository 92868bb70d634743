// Waiting for what another process does to a folder (a cell's "I am running now" marker, a
// build's files), on the file system's own events rather than a sleep or a polling loop.
import fs from "node:fs";
import path from "node:path";

/** Resolves once `done()` holds, checked at each change in `dir` (and at once). */
export function waitForFolder(dir: string, done: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      watcher?.close();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
    watcher = fs.watch(dir, () => {
      if (done()) finish();
    });
    // It may have happened before the watcher started.
    if (done()) finish();
  });
}

export function waitForFile(file: string, timeoutMs = 60_000): Promise<void> {
  return waitForFolder(path.dirname(file), () => fs.existsSync(file), `${file} to appear`, timeoutMs);
}
