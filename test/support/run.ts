// Runs a command to completion and captures what it printed: the tests' way of
// driving the CLI and Debian's Jupyter tools as separate processes.
import { spawn } from "node:child_process";

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds before the process is killed (default 120 s). */
  timeout?: number;
}

export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeout ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs the compiled `tslab-mlflow` CLI. */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { CLI_MAIN } = await import("./paths.js");
  return run(process.execPath, [CLI_MAIN, ...args], opts);
}
