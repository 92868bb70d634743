// Waiting for a file another process creates (a cell's "I am running now" marker), on the
// file system's own event rather than a sleep or a polling loop.
import fs from "node:fs";
import path from "node:path";

export function waitForFile(file: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const dir = path.dirname(file);
    let watcher: fs.FSWatcher | undefined;
    const done = (err?: Error) => {
      clearTimeout(timer);
      watcher?.close();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`${file} did not appear within ${timeoutMs} ms`)), timeoutMs);
    watcher = fs.watch(dir, () => {
      if (fs.existsSync(file)) done();
    });
    // It may have appeared before the watcher started.
    if (fs.existsSync(file)) done();
  });
}
