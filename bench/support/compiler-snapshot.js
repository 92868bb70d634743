// For benches that time our kernel warm: waits (up to 3 min) until the background build has
// written a compiler snapshot into the cache folder the bench gave its kernels.
import fs from "node:fs";

export async function compilerSnapshotBuilt(cacheDir) {
  const until = Date.now() + 180_000;
  while (!(fs.existsSync(cacheDir) && fs.readdirSync(cacheDir).some((n) => n.endsWith(".blob")))) {
    if (Date.now() > until) throw new Error(`no compiler snapshot appeared in ${cacheDir}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
