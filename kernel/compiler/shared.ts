// Finding, or starting, the compiler service shared by this user's kernels of one key
// (shared-service.ts), seen from a kernel: its socket is `<key>.sock` in the cache folder
// (made 0700), beside the key's snapshot `<key>.blob` (cache.ts). The first kernel that finds
// no service starts one, detached, under a lock file, so that of kernels starting at the same
// moment exactly one starts it and the others wait for it. Any failure here is the caller's
// cue to compile in the kernel itself.
//
// TSLAB_MLFLOW_COMPILER_SERVICE=0 turns the shared service off (each kernel its own compiler).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { COMPILER_V8_FLAGS } from "./compiler-v8-flags.js";
import { compilerProcessEnv, snapshotArgs, snapshotsEnabled, touch, type CompilerSnapshot } from "./cache.js";
import { sendMessage } from "./channel.js";
import type { CompilerRequest } from "./compiler.js";
import { LISTEN_ENV } from "./shared-service.js";
import { connectSocket } from "./socket-address.js";

/** How long a kernel waits for a service to accept it (its start included). */
const START_TIMEOUT_MS = 30_000;
/** Between attempts to connect to a service that is starting. */
const RETRY_MS = 20;
/** A lock older than this whose holder is gone is taken as abandoned. */
const STALE_LOCK_MS = START_TIMEOUT_MS;

const SERVICE_MAIN = fileURLToPath(new URL("./shared-service.js", import.meta.url));

export function sharingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return snapshotsEnabled(env) && env.TSLAB_MLFLOW_COMPILER_SERVICE !== "0";
}

export interface ServicePaths {
  socket: string;
  pid: string;
  lock: string;
  /** The service's stderr (TypeScript's rare messages, its failures). */
  log: string;
}

export function servicePaths(snapshot: CompilerSnapshot): ServicePaths {
  const base = snapshot.blob.replace(/\.blob$/, "");
  return { socket: `${base}.sock`, pid: `${base}.pid`, lock: `${base}.lock`, log: `${base}.log` };
}

export interface SharedConnection {
  socket: net.Socket;
  paths: ServicePaths;
  /** This kernel started the service, without a snapshot (none was built yet for the key). */
  startedCold: boolean;
}

/** Connects to the key's service, starting it if none runs. Rejects with the reason when it cannot. */
export async function connectToService(snapshot: CompilerSnapshot, env: NodeJS.ProcessEnv = process.env): Promise<SharedConnection> {
  const paths = servicePaths(snapshot);
  privateFolder(path.dirname(paths.socket));
  const deadline = Date.now() + START_TIMEOUT_MS;
  let startedCold = false;
  let started: ReturnType<typeof startService> | undefined;
  let appears: SocketWatch | undefined;
  try {
    for (;;) {
      const socket = await connectSocket(paths.socket);
      if (socket) {
        if (started) touch(snapshot.blob);
        return { socket, paths, startedCold };
      }
      if (started?.exited()) throw new Error(`compiler service did not start (${started.exited()}); see ${paths.log}`);
      if (Date.now() > deadline) throw new Error(`compiler service ${paths.socket} did not answer within ${START_TIMEOUT_MS} ms`);
      if (!started && takeLock(paths.lock)) {
        startedCold = !fs.existsSync(snapshot.blob);
        started = startService(snapshot, paths, env, startedCold);
      }
      appears ??= watchFor(paths.socket);
      await appears.next(RETRY_MS);
    }
  } finally {
    appears?.close();
    if (started) fs.rmSync(paths.lock, { force: true });
  }
}

/**
 * For a kernel about to be spawned in `cwd` (`tslab-mlflow run` spawns its own): the key's
 * service started now if none runs, and asked to make that kernel's converter at once, so
 * that the service boots while the kernel does rather than after it. The kernel connects as
 * always and takes that converter; a failure here is left to it to meet and report.
 */
export function prepareService(snapshot: CompilerSnapshot, cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  connectToService(snapshot, env).then(
    ({ socket }) => {
      const prepare: CompilerRequest = { op: "prepare", cwd: path.resolve(cwd) };
      sendMessage(socket, prepare);
      socket.end();
    },
    () => {},
  );
}

interface SocketWatch {
  /** Resolves when the socket file is (re)made, or after `ms` at the latest. */
  next(ms: number): Promise<void>;
  close(): void;
}

/**
 * Wakes the wait for a starting service as soon as its socket file appears (it listens from
 * then on), instead of at the next retry; the retries stay for a folder that cannot be watched.
 */
function watchFor(socketPath: string): SocketWatch {
  let wake: (() => void) | undefined;
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(path.dirname(socketPath), (_event, name) => {
      if (name === path.basename(socketPath)) wake?.();
    });
    watcher.on("error", () => {});
    watcher.unref();
  } catch {
    // retries alone
  }
  return {
    next: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    close: () => watcher?.close(),
  };
}

/** The cache folder, made private: the sockets in it run code in the kernels that connect. */
function privateFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(dir);
  if (process.getuid && stat.uid !== process.getuid()) throw new Error(`cache folder ${dir} belongs to another user`);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** Takes the start lock (a file holding the taker's pid); a lock whose taker is gone, or too old, is taken over. */
function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const stat = fs.statSync(lock, { throwIfNoEntry: false });
    let holder = 0;
    try {
      holder = Number(fs.readFileSync(lock, "utf8").trim());
    } catch {
      // released meanwhile
    }
    if (stat && Date.now() - stat.mtimeMs < STALE_LOCK_MS && alive(holder)) return false;
    fs.rmSync(lock, { force: true });
  }
  return false;
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Spawns the service detached (it outlives this kernel), its output appended to its log. */
function startService(snapshot: CompilerSnapshot, paths: ServicePaths, env: NodeJS.ProcessEnv, cold: boolean) {
  const logFd = fs.openSync(paths.log, "a", 0o600);
  let exit: string | undefined;
  try {
    const args = cold ? ["--disable-warning=ExperimentalWarning", ...COMPILER_V8_FLAGS, SERVICE_MAIN] : snapshotArgs(snapshot.blob);
    const child = spawn(process.execPath, args, {
      cwd: path.dirname(paths.socket),
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env: compilerProcessEnv(env, { [LISTEN_ENV]: paths.socket }),
    });
    child.on("error", (e) => (exit = e.message));
    child.on("exit", (code, signal) => (exit = signal ? `signal ${signal}` : `exit code ${code}`));
    child.unref();
  } finally {
    fs.closeSync(logFd);
  }
  return { exited: () => exit };
}
