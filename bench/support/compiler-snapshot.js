// For benches that time our kernel warm: waits (up to 3 min) until the background build has
// written a compiler snapshot into the cache folder the bench gave its kernels. On a timeout
// the error lists the folder, with the output of a build that failed (`<key>.blob.build.log`).
// Also: stopping what a cache folder's kernels started (services, snapshot builds).
import fs from "node:fs";
import path from "node:path";

export async function compilerSnapshotBuilt(cacheDir) {
  const until = Date.now() + 180_000;
  while (!(fs.existsSync(cacheDir) && fs.readdirSync(cacheDir).some((n) => n.endsWith(".blob")))) {
    if (Date.now() > until) throw new Error(`no compiler snapshot appeared in ${cacheDir}\n${folderReport(cacheDir)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function folderReport(dir) {
  if (!fs.existsSync(dir)) return "(the folder does not exist)";
  const names = fs.readdirSync(dir);
  const logs = names
    .filter((n) => n.endsWith(".build.log"))
    .map((n) => `--- ${n} (last lines):\n${fs.readFileSync(path.join(dir, n), "utf8").trimEnd().split("\n").slice(-20).join("\n")}`);
  return [`files: ${names.join(", ") || "none"}`, ...logs].join("\n");
}

/** Pids (or, for `.build`, process groups) named by the files ending in `ext` in a cache folder. */
export function pidsIn(cacheDir, ext) {
  if (!fs.existsSync(cacheDir)) return [];
  return fs
    .readdirSync(cacheDir)
    .filter((n) => n.endsWith(ext))
    .map((n) => Number(fs.readFileSync(path.join(cacheDir, n), "utf8")))
    .filter((pid) => pid > 0);
}

function kill(pid) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Ends the compiler services (pid files) and snapshot builds (process groups) of a cache folder, so nothing outlives a measure. */
export function stopServices(cacheDir) {
  for (const pid of pidsIn(cacheDir, ".pid")) kill(pid);
  for (const group of pidsIn(cacheDir, ".build")) kill(-group);
}
