// Whether `tslab-mlflow kernel` may run the kernel bundle (dist/kernel-bundle/, built by
// build/kernel-bundle.mjs after tsc): only when it is there and was built from the dist/ files
// that are there now. A bundle that tsc has since outdated, or a half-written one, is never
// run: the kernel then loads dist/ module by module, as it would without a bundle.
//
// Cheap on purpose, it runs before every kernel start: one small JSON file and a stat per
// bundled file (~3 ms for ~180). Files whose mtime moved (tsc rewrote them, a copy, an
// installed package) are compared by content, and when all are the same their new mtimes are
// written back, so the next start is cheap again.
import crypto from "node:crypto"; // the kernel loads it anyway (message signatures)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The manifest's format this check reads (build/kernel-bundle.mjs writes the same number). */
const FORMAT = 1;

/** dist/kernel-bundle/manifest.json; the arrays of `inputs` run in parallel, one entry per bundled dist/ file. */
export interface KernelBundleManifest {
  format: number;
  /** The entry chunk (cli/kernel-start.js bundled), relative to the bundle's folder. */
  entry: string;
  /** The files this build wrote into the bundle's folder. */
  outputs: string[];
  inputs: { files: string[]; sizes: number[]; sha256: string[]; mtimes: number[] };
}

const DIST = fileURLToPath(new URL("../", import.meta.url));

/** The URL of the bundle's entry (it exports `runKernel`) if the bundle in `dist` (the dist/ folder's path) is present and current, else undefined. */
export function currentKernelBundle(dist: string = DIST): string | undefined {
  if (!dist.endsWith(path.sep)) dist += path.sep;
  const dir = path.join(dist, "kernel-bundle");
  const manifestFile = path.join(dir, "manifest.json");
  let manifest: KernelBundleManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
  } catch {
    return undefined; // no bundle (tsc alone built dist/)
  }
  const inputs = manifest.inputs;
  if (manifest.format !== FORMAT || typeof manifest.entry !== "string" || !Array.isArray(inputs?.files)) return undefined;

  const moved: number[] = []; // same size, other mtime: compared by content below
  for (let i = 0; i < inputs.files.length; i++) {
    // Concatenated, not path.join: ~180 joins cost more than the stats (cold code, normalizing).
    const st = fs.statSync(dist + inputs.files[i], { throwIfNoEntry: false });
    if (!st || st.size !== inputs.sizes[i]) return undefined;
    if (st.mtimeMs !== inputs.mtimes[i]) {
      moved.push(i);
      inputs.mtimes[i] = st.mtimeMs;
    }
  }
  const entry = path.join(dir, manifest.entry);
  if (!fs.existsSync(entry)) return undefined;
  if (moved.length > 0) {
    if (!moved.every((i) => sameContent(dist + inputs.files[i], inputs.sha256[i]))) return undefined;
    rememberMtimes(manifestFile, manifest);
  }
  return pathToFileURL(entry).href;
}

function sameContent(file: string, sha256: string): boolean {
  try {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") === sha256;
  } catch {
    return false;
  }
}

/** Best effort (a read-only install keeps comparing by content): the manifest with the mtimes the contents were checked at. */
function rememberMtimes(file: string, manifest: KernelBundleManifest): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(manifest));
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
