// Main-thread client of the compiler (service.ts: in the compiler service shared by this
// user's kernels, see shared.ts; else in a process started from a warm snapshot, see cache.ts
// and process.ts; else in a worker thread):
// converts TypeScript cells to JavaScript (with type-checking), completes and inspects,
// asynchronously.
//
// Identical (declarations, source) pairs convert to identical JavaScript, so
// results of cells that read nothing from disk (no import/require/reference)
// are memoised: re-running a cell skips the type-checker.
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { buildInBackground, discard, snapshotFor, snapshotsEnabled } from "./cache.js";
import { onMessages, sendMessage } from "./channel.js";
import { spawnCompilerProcess, takeHandedOverCompiler, type CompilerProcess } from "./process.js";
import { connectToService, sharingEnabled } from "./shared.js";
import type { CompilerSnapshot } from "./cache.js";
import type { ConvertResult, CompletionInfo } from "tslab/dist/converter.js";
import type { IsCompleteReply } from "../../protocol/messages.js";
import type { CellSourceMaps } from "./cell-source-maps.js";

export type { ConvertResult, Diagnostic } from "tslab/dist/converter.js";

/**
 * tslab's result, plus: the output's top-level awaits were rewritten as yields (see
 * await-yield.ts), and the maps of the output back to the cell and of each local module's
 * output (by its sideOutputs path) back to its file (see cell-source-maps.ts).
 */
export type Converted = ConvertResult & {
  yieldAwaits?: boolean;
  sourceMaps?: CellSourceMaps;
  moduleSourceMaps?: Record<string, CellSourceMaps>;
};

export interface QuickInfo {
  display: string;
  documentation: string;
  tags: string[];
}
export type Completions = Pick<CompletionInfo, "start" | "end" | "candidates">;

export type CompilerRequest =
  | { id: number; op: "convert"; prevDecl: string; src: string }
  | { id: number; op: "complete"; prevDecl: string; src: string; pos: number }
  | { id: number; op: "inspect"; prevDecl: string; src: string; pos: number }
  | { id: number; op: "isComplete"; src: string }
  | { op: "close" }
  /** A shared service's session begins with the kernel's folder (shared-service.ts). */
  | { op: "open"; cwd: string }
  /** Alone on a connection: the service makes the converter of a kernel about to start in `cwd` (shared.ts). */
  | { op: "prepare"; cwd: string };

export type CompilerResponse = { ready: true } | { failed: string } | { id: number; result: unknown } | { id: number; error: string };

type DistributiveOmitId<T> = T extends unknown ? Omit<T, "id"> : never;

const CACHE_SIZE = 64;
/** A snapshot build waits for the first answer, or this long after the compiler is ready. */
const BUILD_AFTER_READY_MS = 3_000;

/** The process or thread the converter runs in: a worker thread, or a child process started from a snapshot. */
interface Backend {
  post(message: CompilerRequest): void;
  terminate(): Promise<unknown>;
}

export class Compiler {
  /** Resolves when the converter is warm; rejects if it cannot start. */
  readonly ready: Promise<void>;
  /** Where requests go; undefined only while the shared service is being reached. */
  private backend: Backend | undefined;
  /** Requests awaiting their answer, kept so that a backend that dies can hand them to the next. */
  private readonly pending = new Map<number, { request: CompilerRequest; resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly cache = new Map<string, Converted>();
  private nextId = 1;
  private closed = false;
  /** Set when the backend died: every later call fails with it instead of hanging. */
  private dead: Error | undefined;
  private settle!: { resolve(): void; reject(e: Error): void };
  private isReady = false;
  /** Kernel log; lines before it is set (a compiler started ahead of the kernel) are kept. */
  private logSink: ((line: string) => void) | undefined;
  private readonly early: string[] = [];
  /** Starts the pending snapshot build now (set while one waits for the first answer). */
  private buildSoon: (() => void) | undefined;

  constructor(
    log?: (line: string) => void,
    readonly cwd: string = process.cwd(),
  ) {
    this.logSink = log;
    this.ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.ready.catch(() => {});
    const handed = takeHandedOverCompiler(cwd);
    const snapshot = handed || !snapshotsEnabled() ? undefined : this.tryOrLog(() => snapshotFor(cwd));
    if (handed) this.useProcess(handed, "handed over, started from snapshot");
    else if (snapshot && sharingEnabled()) void this.useShared(snapshot);
    else this.startOwn(snapshot);
  }

  /** This kernel's own compiler: a process from the project's snapshot, else a worker (and the snapshot built for next time). */
  private startOwn(snapshot: CompilerSnapshot | undefined): void {
    if (snapshot && fs.existsSync(snapshot.blob)) {
      this.useProcess(spawnCompilerProcess(snapshot, this.cwd), "starting from snapshot");
    } else {
      this.startWorker();
      // Next time, start warm: build this project's snapshot once this compiler is ready.
      if (snapshot) this.buildWhenReady(snapshot);
    }
  }

  /**
   * Builds the project's snapshot once this compiler has answered its first request (a cell's
   * first result is not checked while the build takes a core), or when the kernel closes, or
   * a while after the compiler is ready if no request came.
   */
  private buildWhenReady(snapshot: CompilerSnapshot): void {
    let built = false;
    const build = () => {
      if (built) return;
      built = true;
      clearTimeout(timer);
      buildInBackground(snapshot, this.cwd, (l) => this.log(l));
    };
    let timer: NodeJS.Timeout | undefined;
    this.buildSoon = build;
    this.ready.then(
      () => {
        if (built) return;
        timer = setTimeout(build, BUILD_AFTER_READY_MS);
        timer.unref();
      },
      () => {},
    );
  }

  /**
   * A session in the service shared by this user's kernels (started if none runs). When it
   * cannot be reached, or goes away later, this kernel compiles on its own: a one-line
   * warning, and requests in flight are answered there (never lost, never run untyped).
   */
  private async useShared(snapshot: CompilerSnapshot): Promise<void> {
    let connection: Awaited<ReturnType<typeof connectToService>>;
    try {
      connection = await connectToService(snapshot);
    } catch (e) {
      this.log(`warning: compiler service unavailable (${(e as Error).message}); this kernel compiles on its own (slower start)`);
      if (!this.closed) this.replace(() => this.startOwn(snapshot));
      return;
    }
    const { socket, paths, startedCold } = connection;
    if (this.closed) return void socket.destroy();
    socket.unref();
    const backend: Backend = {
      post: (m) => sendMessage(socket, m),
      terminate: () =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once("close", () => resolve());
          socket.end();
        }),
    };
    let lostAlready = false;
    const lost = (why: string) => {
      if (lostAlready || this.closed || this.backend !== backend) return;
      lostAlready = true;
      socket.destroy();
      this.log(`warning: compiler service ${paths.socket} ${why}; this kernel compiles on its own from now on`);
      this.replace(() => this.startOwn(snapshot));
    };
    onMessages(socket, (m) => {
      const message = m as CompilerResponse;
      if ("failed" in message) return lost(`could not open a session: ${message.failed.split("\n")[0]}`);
      this.receive(message, backend);
    });
    socket.on("error", (e) => lost(`failed: ${e.message}`));
    socket.on("close", () => lost("went away"));
    this.backend = backend;
    backend.post({ op: "open", cwd: path.resolve(this.cwd) });
    for (const { request } of this.pending.values()) backend.post(request);
    this.log(`TypeScript compiler: a session in the shared compiler service ${paths.socket}`);
    if (startedCold || !fs.existsSync(snapshot.blob)) this.buildWhenReady(snapshot); // a kernel that ended before its service was ready built nothing
  }

  /** Starts another backend (`start` sets it) and hands it the requests still awaiting answers. */
  private replace(start: () => void): void {
    this.backend = undefined;
    start();
    for (const { request } of this.pending.values()) this.backend!.post(request);
  }

  set log(sink: (line: string) => void) {
    this.logSink = sink;
    for (const line of this.early.splice(0)) sink(line);
  }

  get log(): (line: string) => void {
    return (line) => (this.logSink ? this.logSink(line) : void this.early.push(line));
  }

  private tryOrLog<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      this.log(`compiler snapshot: ${(e as Error).message}`);
      return undefined;
    }
  }

  private startWorker(): void {
    // The worker's own stdout/stderr (TypeScript's rare console output) go to
    // the kernel log, never into the user's cell.
    const worker = new Worker(new URL("./worker.js", import.meta.url), { stdout: true, stderr: true });
    this.logStreams(worker.stdout, worker.stderr);
    worker.unref();
    const backend: Backend = { post: (m) => worker.postMessage(m), terminate: () => worker.terminate() };
    worker.on("message", (m: CompilerResponse) => this.receive(m, backend));
    worker.on("error", (e) => this.die(new Error(`TypeScript compiler worker failed: ${e.message}; restart the kernel`)));
    worker.on("exit", (code) => {
      if (!this.closed) this.die(new Error(`TypeScript compiler worker exited with code ${code}; restart the kernel`));
    });
    this.backend = backend;
  }

  /** A process restored from the snapshot; if it cannot start, the snapshot is dropped and a worker takes over. */
  private useProcess(p: CompilerProcess, how: string): void {
    this.logStreams(p.stderr);
    const fallBack = (why: string) => {
      this.log(`compiler snapshot ${p.blob} did not start (${why}); using a worker`);
      discard(p.blob);
      p.kill();
      this.replace(() => this.startWorker());
    };
    /** This process said `ready` (it may be a fallback after another backend was ready). */
    let up = false;
    const lost = (why: string) => {
      if (this.closed || this.backend !== backend) return;
      if (!up) return fallBack(why);
      this.die(new Error(`TypeScript compiler process ${why}; restart the kernel`));
    };
    const backend: Backend = {
      post: (m) => sendMessage(p.channel, m),
      terminate: () =>
        new Promise<void>((resolve) => {
          if (p.channel.destroyed) return resolve();
          p.channel.once("close", () => resolve());
          p.channel.end();
          p.kill();
        }),
    };
    onMessages(p.channel, (m) => {
      if ("ready" in (m as CompilerResponse)) up = true;
      this.receive(m as CompilerResponse, backend);
    });
    p.channel.on("error", (e) => lost(`failed: ${e.message}`));
    p.channel.on("close", () => lost("exited"));
    this.backend = backend;
    this.log(`TypeScript compiler ${how} ${p.blob}`);
  }

  private logStreams(...streams: NodeJS.ReadableStream[]): void {
    for (const stream of streams) {
      stream.setEncoding("utf8");
      stream.on("data", (text: string) => this.log(`[compiler] ${text.trimEnd()}`));
    }
  }

  /** A backend's message; those of a backend already replaced are dropped. */
  private receive(m: CompilerResponse, from: Backend): void {
    if (from !== this.backend) return;
    if ("ready" in m) {
      this.isReady = true;
      return this.settle.resolve();
    }
    if ("failed" in m) {
      const e = new Error(`TypeScript compiler failed to start: ${m.failed}`);
      if (!this.isReady) return this.settle.reject(e);
      return this.die(e);
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    // Started before the answer is handed on (~20 ms, once): a kernel killed the moment it
    // replies, as clients may, has still started the build.
    if (this.buildSoon) this.takeBuild()();
    if ("error" in m) p.reject(new Error(m.error));
    else p.resolve(m.result);
  }

  private die(e: Error): void {
    this.dead ??= e;
    this.settle.reject(e);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async convert(prevDecl: string, src: string): Promise<Converted> {
    const cacheable = !/\bimport\b|\brequire\b|\/\/\/|\bexport\b/.test(src);
    const key = prevDecl + "\u0000" + src;
    const hit = cacheable ? this.cache.get(key) : undefined;
    if (hit) return hit;
    const r = (await this.call({ op: "convert", prevDecl, src })) as Converted;
    if (cacheable) {
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, r);
    }
    return r;
  }

  complete(prevDecl: string, src: string, pos: number): Promise<Completions> {
    return this.call({ op: "complete", prevDecl, src, pos }) as Promise<Completions>;
  }

  inspect(prevDecl: string, src: string, pos: number): Promise<QuickInfo | undefined> {
    return this.call({ op: "inspect", prevDecl, src, pos }) as Promise<QuickInfo | undefined>;
  }

  isComplete(src: string): Promise<IsCompleteReply> {
    return this.call({ op: "isComplete", src }) as Promise<IsCompleteReply>;
  }

  /** The pending snapshot build, to start (once): a no-op if none waits. */
  private takeBuild(): () => void {
    const build = this.buildSoon ?? (() => {});
    this.buildSoon = undefined;
    return build;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A kernel that ends before its first cell still leaves the next one a snapshot.
    if (this.isReady) this.takeBuild()();
    const backend = this.backend;
    if (!backend) return;
    backend.post({ op: "close" });
    await backend.terminate();
  }

  private async call(req: DistributiveOmitId<Extract<CompilerRequest, { id: number }>>): Promise<unknown> {
    await this.ready;
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    const request = { ...req, id } as CompilerRequest;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { request, resolve, reject });
      this.backend?.post(request);
    });
  }
}

let prestarted: Compiler | undefined;

/**
 * Starts the compiler before the kernel exists: it is the slowest part of a kernel start,
 * so the kernel's entry points call this before loading the rest of the kernel.
 */
export function prestartCompiler(): void {
  prestarted ??= new Compiler();
}

/** The prestarted compiler, if there is one for this working directory (else it is closed). */
export function adoptCompiler(cwd: string): Compiler | undefined {
  const compiler = prestarted;
  prestarted = undefined;
  if (compiler && path.resolve(compiler.cwd) === path.resolve(cwd)) return compiler;
  void compiler?.close();
  return undefined;
}
