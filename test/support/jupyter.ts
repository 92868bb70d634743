// A private Jupyter data dir with our kernelspec installed by our own CLI, and the
// environment that makes Debian's Jupyter tools look only there (plus the system dirs).
import path from "node:path";
import { makeTempDir, rmTempDir } from "./paths.js";
import { runCli } from "./run.js";

export const KERNEL_NAME = "tslab-mlflow";

export interface JupyterSandbox {
  dir: string;
  /** Environment for `/usr/bin/python3 -m jupyter ...` and friends. */
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export async function installedKernelSandbox(extraEnv: NodeJS.ProcessEnv = {}): Promise<JupyterSandbox> {
  const dir = makeTempDir("jupyter");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_DATA_DIR: path.join(dir, "data"),
    JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
    JUPYTER_CONFIG_DIR: path.join(dir, "config"),
    JUPYTER_PATH: path.join(dir, "data"),
    // Debian's Python warns about frozen modules under debuggers; keep stderr clean.
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    ...extraEnv,
  };
  const r = await runCli(["install", "--user", "--name", KERNEL_NAME], { env });
  if (r.status !== 0) throw new Error(`install failed (${r.status}): ${r.stderr}`);
  return { dir, env, cleanup: () => rmTempDir(dir) };
}
