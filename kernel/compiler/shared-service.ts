// The compiler service shared by the kernels of one user and one compiler key (cache.ts):
// a process that listens on a Unix socket in the cache folder and gives each kernel that
// connects a session of its own (its own converter, so one notebook's cells never see
// another's declarations), while the loaded TypeScript, the parsed declaration files and
// V8's warm JIT serve them all. Started by the first kernel that finds none (shared.ts), or
// by `tslab-mlflow run` beside the kernel it spawns: from the key's snapshot when one is built
// (snapshot.cts), else as this module's own process. It ends after
// TSLAB_MLFLOW_COMPILER_IDLE_MS (default 10 minutes) without a kernel, or as soon as its
// socket file is gone (the cache folder was removed).
//
// A session's first message is `open` with the kernel's folder; then the requests of a
// kernel's own compiler (service.ts), over the same framing (channel.ts). A connection whose
// one message is `prepare` (from `run`, before its kernel connects) has the folder's
// converter made at once, for that kernel's session to take.
import fs from "node:fs";
import net from "node:net";
import { pathToFileURL } from "node:url";
import { onMessages, sendMessage } from "./channel.js";
import type { CompilerRequest } from "./compiler.js";
import { connectSocket, listenOn } from "./socket-address.js";
import { createConverterFor, declarationsChangedSince, serveCompiler, shareDeclarationFiles, type Converter } from "./service.js";
import { collectWhenIdle } from "./idle-collection.js";

export const LISTEN_ENV = "TSLAB_MLFLOW_COMPILER_LISTEN";
export const IDLE_ENV = "TSLAB_MLFLOW_COMPILER_IDLE_MS";
const DEFAULT_IDLE_MS = 10 * 60_000;
/**
 * Spare converters kept (one per folder). The next is made once a session has been quiet this
 * long after an answer (a notebook run whole sends its cells back to back, and must not wait
 * behind it), or this long after the session opened if it asks nothing.
 */
const MAX_SPARES = 4;
const SPARE_AFTER_ANSWER_MS = 100;
const SPARE_AFTER_OPEN_MS = 1_000;
/** How often the service checks that its socket file is still there. */
const SOCKET_CHECK_MS = 5_000;

export function idleMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[IDLE_ENV];
  if (raw === undefined || raw === "") return DEFAULT_IDLE_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`${IDLE_ENV}=${JSON.stringify(raw)} is not a number of milliseconds (>= 0)`);
  return ms;
}

/** The pid file beside a service's socket (`<key>.sock` -> `<key>.pid`). */
export function pidFileOf(socketPath: string): string {
  return socketPath.replace(/\.sock$/, ".pid");
}

/** Listens on `socketPath` and serves kernels until idle; resolves once listening. */
export async function listen(socketPath = process.env[LISTEN_ENV]): Promise<void> {
  if (!socketPath) throw new Error(`compiler service: ${LISTEN_ENV} must name the socket to listen on`);
  const idle = idleMs();
  // The starting kernel's folder may go away: the service's own is the cache folder.
  // TypeScript's messages go to stderr (the service's log file, see shared.ts).
  console.log = console.error;
  // Ctrl-C in a terminal reaches the whole process group: it is for the kernel, not us.
  process.on("SIGINT", () => {});

  let sessions = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let inode: number | undefined;
  const exit = () => {
    // Remove the socket and pid file only if they are still ours (a newer service may own the names).
    if (fs.statSync(socketPath, { throwIfNoEntry: false })?.ino === inode) {
      fs.rmSync(socketPath, { force: true });
      fs.rmSync(pidFileOf(socketPath), { force: true });
    }
    process.exit(0);
  };
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (sessions === 0) idleTimer = setTimeout(exit, idle);
  };

  const spares = spareConverters();
  /** Sessions open, by folder. */
  const openIn = new Map<string, number>();
  const server = net.createServer((socket) => {
    sessions++;
    clearTimeout(idleTimer);
    let listener: ((request: CompilerRequest) => void) | undefined;
    let closed = false;
    let folder: string | undefined;
    socket.on("error", () => {});
    socket.on("close", () => {
      // A kernel that ended without saying `close` (killed, crashed): its converter and the
      // file watchers it holds go all the same.
      if (listener && !closed) listener({ op: "close" });
      closed = true;
      sessions--;
      if (folder !== undefined) {
        const left = openIn.get(folder)! - 1;
        if (left > 0) openIn.set(folder, left);
        else openIn.delete(folder); // a long-lived service meets many folders
      }
      armIdle();
    });
    onMessages(socket, (m) => {
      const request = m as CompilerRequest;
      if (closed) return;
      if (request.op === "close") closed = true;
      if (listener) return listener(request);
      if (request.op === "prepare") {
        // Unless the kernel it is for got here first (a session there has its converter).
        if (!openIn.get(request.cwd)) spares.makeNow(request.cwd);
        return void socket.end();
      }
      if (request.op !== "open") {
        sendMessage(socket, { failed: `a session starts with "open", not ${JSON.stringify(request.op)}` });
        return void socket.end();
      }
      const { cwd } = request;
      folder = cwd;
      openIn.set(cwd, (openIn.get(cwd) ?? 0) + 1);
      serveCompiler(
        {
          postMessage: (r) => {
            sendMessage(socket, r);
            collectWhenIdle();
            if ("id" in r) spares.prepare(cwd, SPARE_AFTER_ANSWER_MS);
          },
          onMessage: (l) => (listener = l),
          close: () => socket.end(),
        },
        cwd,
        spares.take(cwd),
      );
      spares.prepare(cwd, SPARE_AFTER_OPEN_MS);
    });
  });

  try {
    await listenOn(server, socketPath);
  } catch (e) {
    // A socket file left by a service that died: take its name, unless a service answers there.
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE" || (await answers(socketPath))) throw e;
    fs.rmSync(socketPath, { force: true });
    await listenOn(server, socketPath);
  }
  fs.chmodSync(socketPath, 0o600);
  inode = fs.statSync(socketPath).ino;
  fs.writeFileSync(pidFileOf(socketPath), `${process.pid}\n`, { mode: 0o600 });
  armIdle();
  setInterval(() => {
    if (fs.statSync(socketPath, { throwIfNoEntry: false })?.ino !== inode) process.exit(0);
  }, SOCKET_CHECK_MS).unref();
}

/**
 * One converter made ahead per recently used folder, so that the next kernel there (a restart,
 * a second notebook) does not wait for one: made when the kernels there leave the service a
 * moment (not to slow their cells), dropped when a declaration file changed since it was made.
 */
export function spareConverters() {
  const spares = new Map<string, { converter: Converter; madeAt: number }>();
  /** The making of each folder's next spare, moved later by every call of `prepare`. */
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    take(cwd: string): Converter | undefined {
      const spare = spares.get(cwd);
      if (!spare) return undefined;
      spares.delete(cwd);
      if (!declarationsChangedSince(spare.madeAt)) return spare.converter;
      spare.converter.close();
      process.stderr.write(`spare converter for ${cwd} dropped: a declaration file changed since it was made\n`);
      return undefined;
    },
    /** Makes the folder's spare (unless it has one) `delayMs` from now, or later if called again meanwhile. */
    prepare(cwd: string, delayMs: number): void {
      if (spares.has(cwd)) return;
      clearTimeout(timers.get(cwd));
      timers.set(cwd, setTimeout(() => make(cwd), delayMs).unref());
    },
    /** Makes the folder's spare now (unless it has one). */
    makeNow(cwd: string): void {
      if (!spares.has(cwd)) make(cwd);
    },
  };

  function make(cwd: string): void {
    clearTimeout(timers.get(cwd));
    timers.delete(cwd);
    try {
      const converter = createConverterFor(cwd);
      // After: the declaration files it parsed itself (a service's first converter parses them all) are no change.
      spares.set(cwd, { converter, madeAt: Date.now() });
      process.stderr.write(`spare converter ready for ${cwd}\n`);
    } catch {
      return; // the next session makes its own (and says why, if it cannot)
    }
    while (spares.size > MAX_SPARES) {
      const [oldest, { converter }] = spares.entries().next().value as [string, { converter: Converter }];
      converter.close();
      spares.delete(oldest);
    }
  }
}

/** Whether a service accepts connections on `socketPath`. */
export async function answers(socketPath: string): Promise<boolean> {
  const s = await connectSocket(socketPath);
  s?.destroy();
  return s !== undefined;
}

// Started as a process of its own (no snapshot of the key built yet): `node shared-service.js`.
if (isMain()) {
  // No snapshot holds the declaration files parsed: parse each once for all sessions.
  shareDeclarationFiles();
  listen().catch((e) => {
    process.stderr.write(`compiler service: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}
