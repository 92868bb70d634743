// Main-thread client of the compiler worker: converts TypeScript cells to
// JavaScript (with type-checking), completes and inspects, asynchronously.
//
// Identical (declarations, source) pairs convert to identical JavaScript, so
// results of cells that read nothing from disk (no import/require/reference)
// are memoised: re-running a cell skips the type-checker.
import { Worker } from "node:worker_threads";
import type { ConvertResult, CompletionInfo } from "tslab/dist/converter.js";
import type { IsCompleteReply } from "./messages.js";

export type { ConvertResult, Diagnostic } from "tslab/dist/converter.js";

/** tslab's result, plus: the output's top-level awaits were rewritten as yields (see await-yield.ts). */
export type Converted = ConvertResult & { yieldAwaits?: boolean };

export interface QuickInfo { display: string; documentation: string; tags: string[] }
export type Completions = Pick<CompletionInfo, "start" | "end" | "candidates">;

export type CompilerRequest =
  | { id: number; op: "convert"; prevDecl: string; src: string }
  | { id: number; op: "complete"; prevDecl: string; src: string; pos: number }
  | { id: number; op: "inspect"; prevDecl: string; src: string; pos: number }
  | { id: number; op: "isComplete"; src: string }
  | { op: "close" };

export type CompilerResponse =
  | { ready: true }
  | { failed: string }
  | { id: number; result: unknown }
  | { id: number; error: string };

type DistributiveOmitId<T> = T extends unknown ? Omit<T, "id"> : never;

const CACHE_SIZE = 64;

export class Compiler {
  /** Resolves when the converter is warm; rejects if it cannot start. */
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly cache = new Map<string, Converted>();
  private nextId = 1;
  private closed = false;
  /** Set when the worker died: every later call fails with it instead of hanging. */
  private dead: Error | undefined;

  constructor(log: (line: string) => void = () => {}) {
    // The worker's own stdout/stderr (TypeScript's rare console output) go to
    // the kernel log, never into the user's cell.
    this.worker = new Worker(new URL("./compiler-worker.js", import.meta.url), { stdout: true, stderr: true });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (text: string) => log(`[compiler] ${text.trimEnd()}`));
    }
    this.worker.unref();
    let settle!: { resolve(): void; reject(e: Error): void };
    this.ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.ready.catch(() => {});
    this.worker.on("message", (m: CompilerResponse) => {
      if ("ready" in m) return settle.resolve();
      if ("failed" in m) return settle.reject(new Error(`TypeScript compiler failed to start: ${m.failed}`));
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ("error" in m) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    const die = (e: Error) => {
      this.dead ??= e;
      settle.reject(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", (e) => die(new Error(`TypeScript compiler worker failed: ${e.message}; restart the kernel`)));
    this.worker.on("exit", (code) => {
      if (!this.closed) die(new Error(`TypeScript compiler worker exited with code ${code}; restart the kernel`));
    });
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.postMessage({ op: "close" } satisfies CompilerRequest);
    await this.worker.terminate();
  }

  private async call(req: DistributiveOmitId<Extract<CompilerRequest, { id: number }>>): Promise<unknown> {
    await this.ready;
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }
}
