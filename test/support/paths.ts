// Where things are, for tests: the repo, its compiled CLI, Debian's Python, and a
// scratch area inside the repo (gitignored) so copied notebooks still resolve the
// repo's node_modules the way notebooks in notebooks/ do.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI_MAIN = path.join(REPO_ROOT, "dist", "cli", "main.js");
/** Debian's Python, which has jupyter-client, nbconvert and jupyter_kernel_test. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
export const SYSTEM_JUPYTER = "/usr/bin/jupyter";
/** Exchanges and file stores recorded from real MLflow 2.22 and 3.4 servers (copied into the repo). */
export const WIRE_DIR = path.join(REPO_ROOT, "test", "fixtures", "mlflow-wire");
/** The shared material CI lays beside the clone (real MLflow servers); may be absent. */
export const SHARED_DIR = path.resolve(REPO_ROOT, "..", "shared");

/**
 * A fresh directory under <repo>/test-artifacts/ (gitignored), inside this `vitest run`'s own
 * folder when there is one (test/setup/run-dirs.ts): what a test leaves behind (a file whose
 * tests were all skipped, a crash) goes with the run. Remove it with `rmTempDir`.
 */
export function makeTempDir(prefix: string): string {
  const base = process.env.TSLAB_MLFLOW_TEST_RUN_DIR ?? path.join(REPO_ROOT, "test-artifacts");
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `${prefix}-`));
}

export function rmTempDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
