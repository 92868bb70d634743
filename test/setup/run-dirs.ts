// Once per `vitest run`: the run gets its own cache and spool directories (no test touches
// ~/.cache or another run's spool), and its own temporary folder: every folder a test, a
// kernel or a tool it starts makes in the system's (os.tmpdir(), mkdtemp, Python's tempfile)
// goes there, and goes with the run. Test processes inherit them through the environment.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../support/paths.js";

export default function setup(): () => void {
  const base = path.join(REPO_ROOT, "test-artifacts");
  fs.mkdirSync(base, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(base, "run-"));
  // Outside the repo, as the system's is: a kernel started in a folder there finds no node_modules above it.
  // (The system's even after another project's setup of this run has set TMPDIR.)
  const systemTmp = (process.env.TSLAB_MLFLOW_SYSTEM_TMPDIR ??= os.tmpdir());
  const tmpDir = fs.mkdtempSync(path.join(systemTmp, "tslab-mlflow-test-run-"));
  process.env.TMPDIR = tmpDir;
  process.env.TSLAB_MLFLOW_TEST_RUN_DIR = runDir;
  process.env.XDG_CACHE_HOME = path.join(runDir, "cache");
  process.env.TSLAB_MLFLOW_SPOOL_DIR = path.join(runDir, "spool");
  delete process.env.TSLAB_MLFLOW_CACHE_DIR;
  // Tests talk to servers on loopback; a proxy in the environment must not intercept them.
  process.env.NO_PROXY = [process.env.NO_PROXY, "127.0.0.1,localhost"].filter(Boolean).join(",");
  return () => {
    stopCompilerServices(path.join(runDir, "cache", "tslab-mlflow", "compiler"));
    fs.rmSync(runDir, { recursive: true, force: true });
    fs.rmSync(tmpDir, { recursive: true, force: true });
  };
}

/** The run's shared compiler services (their pid files) stop with the run, not at their idle exit. */
function stopCompilerServices(dir: string): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".pid"));
  } catch {
    return; // no service ever started
  }
  for (const n of names) {
    const pid = Number.parseInt(fs.readFileSync(path.join(dir, n), "utf8"), 10);
    try {
      if (pid > 0) process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}
