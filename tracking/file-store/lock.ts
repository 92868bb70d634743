// A cross-process lock around the few file-store operations that must be unique across
// writers (experiment names, the default experiment). proper-lockfile's mkdir-based lock
// works between processes and recovers stale locks left by a crashed writer. It (and the
// graceful-fs it brings, ~30 ms) loads at the first lock, not when tracking/ is imported.

import { join } from "node:path";
import { promises as fs } from "node:fs";

// Kept inside the store and dot-named so readers skip it; it exists only while held.
const LOCK_NAME = ".lock";

export async function withStoreLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(root, { recursive: true });
  const { default: lockfile } = await import("proper-lockfile");
  const release = await lockfile.lock(root, {
    lockfilePath: join(root, LOCK_NAME),
    realpath: false,
    stale: 10_000,
    retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 100, randomize: true },
    onCompromised: (err) => process.emitWarning(`file store lock on ${root} was compromised: ${err.message}`),
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
