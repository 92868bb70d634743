// Whether `tslab-mlflow kernel` may run the kernel bundle (dist/kernel-bundle/, built by
// build/kernel-bundle.mjs after tsc): only when it is there and was built from the dist/ files
// that are there now. A bundle that tsc has since outdated, or a half-written one, is never
// run: the kernel then loads dist/ module by module, as it would without a bundle.
import crypto from "node:crypto";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

/** The manifest's format this check reads (build/kernel-bundle.mjs writes the same number). */
const FORMAT = 1;

interface Manifest {
  format: number;
  /** The entry chunk (kernel-start.js bundled), relative to the bundle's folder. */
  entry: string;
  /** Every dist/ file that went into the bundle, relative to dist/, as it was then. */
  inputs: Record<string, { size: number; mtimeMs: number; sha256: string }>;
  outputs: string[];
}

const DIST = new URL("../", import.meta.url);

/** The URL of the bundle's entry (it exports `runKernel`) if the bundle in `dist` is present and current, else undefined. */
export function currentKernelBundle(dist: URL = DIST): string | undefined {
  const dir = new URL("kernel-bundle/", dist);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(new URL("manifest.json", dir), "utf8"));
  } catch {
    return undefined; // no bundle (tsc alone built dist/)
  }
  if (manifest.format !== FORMAT || typeof manifest.entry !== "string" || !manifest.inputs) return undefined;
  for (const [file, was] of Object.entries(manifest.inputs)) {
    if (!unchanged(fileURLToPath(new URL(file, dist)), was)) return undefined;
  }
  const entry = new URL(manifest.entry, dir);
  return fs.existsSync(entry) ? entry.href : undefined;
}

/** Same size and mtime: unchanged. Same size, other mtime (tsc rewrote it, or an installed package's times): compare contents. */
function unchanged(file: string, was: { size: number; mtimeMs: number; sha256: string }): boolean {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st || st.size !== was.size) return false;
  if (st.mtimeMs === was.mtimeMs) return true;
  try {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") === was.sha256;
  } catch {
    return false;
  }
}
