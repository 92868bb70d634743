// A compiler process started from a warm snapshot (snapshot.cts), seen from the
// kernel: its channel (channel.ts) and its stderr.
//
// A kernel starts its own. `tslab-mlflow run` instead starts one at the same moment as the
// kernel and hands it over: the kernel inherits the two ends as its fds 3 and 4 and is told
// so in TSLAB_MLFLOW_COMPILER. The compiler then restores while the kernel process boots,
// rather than after (about 150 ms sooner on a two-core machine).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Duplex, Readable } from "node:stream";
import { prepareService, sharingEnabled } from "./shared.js";
import { compilerProcessEnv, snapshotArgs, snapshotFor, snapshotsEnabled, touch, type CompilerSnapshot } from "./cache.js";

export interface CompilerProcess {
  /** The snapshot it was started from. */
  blob: string;
  channel: Duplex;
  /** All of its console output (stdout is redirected there). */
  stderr: Readable;
  /** Stops it now (it also stops by itself once the channel closes). */
  kill(): void;
}

/** What a kernel inherits a handed-over compiler by. */
export interface CompilerHandOver {
  /** To pass as the kernel's fds 3 and 4, in this order. */
  stdio: [Duplex, Readable];
  /** To add to the kernel's environment. */
  env: Record<string, string>;
  /** Closes this process's copies of the ends, once the kernel has been spawned. */
  release(): void;
}

const HAND_OVER = "TSLAB_MLFLOW_COMPILER";
const CHANNEL_FD = 3;
const STDERR_FD = 4;

export function spawnCompilerProcess(
  snapshot: CompilerSnapshot,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): CompilerProcess & { pid: number | undefined } {
  touch(snapshot.blob);
  const child = spawn(process.execPath, snapshotArgs(snapshot.blob), {
    cwd,
    env: compilerProcessEnv(env),
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  const channel = child.stdio[3] as net.Socket;
  const stderr = child.stderr as net.Socket;
  child.on("error", () => channel.destroy());
  // Neither keeps the kernel alive.
  child.unref();
  channel.unref();
  stderr.unref();
  return { blob: snapshot.blob, pid: child.pid, channel, stderr, kill: () => child.kill() };
}

/**
 * For a kernel about to be spawned in `cwd` with `env`: a compiler process to hand it, if a
 * snapshot fits and the kernel will not use the shared compiler service. A kernel that will
 * reaches the service itself; the service is started (if need be) and prepared for it right
 * after the kernel's spawn (finding the key reads the compiler's code: not before the spawn).
 */
export function compilerForKernel(cwd: string, env: NodeJS.ProcessEnv): CompilerHandOver | undefined {
  if (sharingEnabled(env)) {
    setImmediate(() => {
      const snapshot = snapshotOrUndefined(cwd, env);
      if (snapshot) prepareService(snapshot, cwd, env);
    });
    return undefined;
  }
  const snapshot = snapshotsEnabled(env) ? snapshotOrUndefined(cwd, env) : undefined;
  if (!snapshot || !fs.existsSync(snapshot.blob)) return undefined;
  const p = spawnCompilerProcess(snapshot, cwd, env);
  return {
    stdio: [p.channel, p.stderr],
    env: { [HAND_OVER]: JSON.stringify({ blob: p.blob, cwd: path.resolve(cwd), pid: p.pid }) },
    release: () => {
      p.channel.destroy();
      p.stderr.destroy();
    },
  };
}

/** The key's snapshot, or undefined when it cannot be found (the kernel reports why, when it looks for it itself). */
function snapshotOrUndefined(cwd: string, env: NodeJS.ProcessEnv): CompilerSnapshot | undefined {
  try {
    return snapshotFor(cwd, env);
  } catch {
    return undefined;
  }
}

/** The compiler process this kernel was handed (once), if any, and if it serves `cwd`. */
export function takeHandedOverCompiler(cwd: string): CompilerProcess | undefined {
  const spec = process.env[HAND_OVER];
  if (spec === undefined) return undefined;
  // Not for the cells' own child processes.
  delete process.env[HAND_OVER];
  let handed: { blob: string; cwd: string; pid: number };
  try {
    handed = JSON.parse(spec);
  } catch {
    return undefined;
  }
  const kill = () => {
    try {
      process.kill(handed.pid);
    } catch {
      // already gone
    }
  };
  if (handed.cwd !== path.resolve(cwd)) {
    kill();
    return undefined;
  }
  const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  const stderr = new net.Socket({ fd: STDERR_FD, readable: true, writable: false });
  channel.unref();
  stderr.unref();
  return { blob: handed.blob, channel, stderr, kill };
}
