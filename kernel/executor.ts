// Runs TypeScript cells: compile with tslab's converter (in a worker), then
// run the JavaScript in this realm with breakOnSigint, keeping each cell's
// top-level declarations for the next.
//
// Why not tslab's own executor: its exports object is a Proxy, so every write
// to a top-level `let` went through a trap (a 1e6-iteration top-level loop took
// ~50x longer than in a function); it reports the last value and errors only
// through console.log/console.error. Here exports is a plain object, the
// `Object.defineProperty(exports, ...)` lines TypeScript emits for re-exported
// imports are rewritten to plain data properties (so they stay rewritable),
// and results come back as values. Cells with top-level await run as
// generators stepped under breakOnSigint (compiler/await-yield.ts), so an interrupt
// also stops synchronous code that follows an await.
import Module, { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import type { Compiler, Converted } from "./compiler/index.js";
import type { ErrorContent } from "../protocol/messages.js";
import { deliverPendingSigint, drive, holdWatchdog } from "./step.js";
import { InterruptSignal, interruptedError } from "./interrupted.js";
import { CELL_LAYOUT, CellPositions, MODULE_LAYOUT } from "./cell-positions.js";
import { compileError } from "./diagnostics.js";

export type ExecOutcome =
  | { status: "ok"; value: unknown; hasValue: boolean }
  | { status: "error"; error: ErrorContent; interrupted: boolean };

const CELL_ARGS = Symbol.for("tslab-mlflow.cell");
/** This package's compiled code (kernel, magics, tracking, charts): its frames say nothing of the user's. */
const PACKAGE_URL = new URL("..", import.meta.url).href;
const PACKAGE_DIR = fileURLToPath(PACKAGE_URL);

export { interruptedError };

export class Executor {
  /** Every top-level name of every cell (and the globals defined by the kernel). */
  readonly exports: Record<string, unknown> = {};
  private prevDecl = "";
  private readonly added = new Set<string>();
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, NodeJS.Module>();
  private readonly positions = new CellPositions();
  /** Packages cells have loaded, by id, in the order they first loaded. */
  readonly packages = new Map<string, unknown>();
  private rejectInterrupt: (e: Error) => void = () => {};
  private interruptPromise!: Promise<never>;
  /** Generator cells being driven: an interrupt stops each at the await it waits on. */
  private readonly driving = new Set<AbortController>();

  constructor(
    private readonly compiler: Compiler,
    cwd: string,
    /** Modules served to `require(name)` before Node's resolution (e.g. "tslab"). */
    hooks: Record<string, () => unknown> = {},
    /** Told the first time cells (or their local modules) load each package through Node. */
    private readonly onPackage: (id: string, exports: unknown) => void = () => {},
  ) {
    this.resetInterrupt();
    const args = {
      exports: this.exports,
      require: this.makeRequire(createRequire(path.join(cwd, "__cell__.js")), cwd, hooks),
      define: defineExport,
      // The first act of every cell's script: an interrupt recorded since the cell was
      // sent to the type-checker stops it before its first line.
      start: () => {
        if (deliverPendingSigint()) throw new InterruptSignal();
      },
    };
    (globalThis as Record<symbol, unknown>)[CELL_ARGS] = args;
  }

  /** Declarations visible to every later cell (globals, interfaces); the same text twice is added once. */
  addDeclarations(declarations: string): void {
    if (this.added.has(declarations)) return;
    this.added.add(declarations);
    this.prevDecl = declarations + "\n" + this.prevDecl;
  }

  /** The declarations of everything defined so far, as the type-checker sees them. */
  get declarations(): string {
    return this.prevDecl;
  }

  /** Rejects the pending wait of the running cell (sync code is stopped by SIGINT itself). */
  interrupt(): void {
    const reason = new InterruptSignal();
    // First, so a driven cell's interrupt is thrown in before anything acts on the rejection.
    for (const c of this.driving) c.abort(reason);
    this.rejectInterrupt(reason);
    this.resetInterrupt();
  }

  /**
   * Compiles and runs `src`. `where` names the script in tracebacks (`In[3]`) and says the
   * cell line `src` starts at, so their positions are cell lines.
   */
  async execute(src: string, where: { name: string; firstLine: number } = { name: "<cell>", firstLine: 1 }): Promise<ExecOutcome> {
    // Held from before the type-check to the end: a SIGINT that lands as the type-check
    // ends, just before the code starts, is recorded rather than queued behind the code.
    const hold = holdWatchdog();
    try {
      return await this.compileAndRun(src, where);
    } finally {
      hold.release();
    }
  }

  private async compileAndRun(src: string, where: { name: string; firstLine: number }): Promise<ExecOutcome> {
    const interrupted = this.interruptPromise;
    let conv: Converted;
    try {
      conv = await Promise.race([this.compiler.convert(this.prevDecl, src), interrupted]);
    } catch (e) {
      return this.failure(e);
    }
    for (const out of conv.sideOutputs ?? []) {
      this.sideModules.delete(out.path);
      this.sideOutputs.set(out.path, out.data);
      this.positions.remember(out.path, conv.moduleSourceMaps?.[out.path], MODULE_LAYOUT);
    }
    if (conv.diagnostics.length > 0) return { status: "error", error: compileError(conv.diagnostics, src, where), interrupted: false };
    if (!conv.output) {
      this.prevDecl = conv.declOutput || this.prevDecl;
      return { status: "ok", value: undefined, hasValue: false };
    }
    const kind = conv.yieldAwaits ? "function*" : conv.hasToplevelAwait ? "async function" : "function";
    const code = wrap(conv.output, kind);
    this.positions.remember(where.name, conv.sourceMaps, { ...CELL_LAYOUT, firstLine: where.firstLine });
    try {
      const ret = vm.runInThisContext(code, { breakOnSigint: true, filename: where.name });
      if (conv.yieldAwaits) {
        const stop = new AbortController();
        this.driving.add(stop);
        try {
          await Promise.race([drive(ret as Generator, stop.signal), interrupted]);
        } finally {
          this.driving.delete(stop);
        }
      } else if (conv.hasToplevelAwait) await Promise.race([ret, interrupted]);
    } catch (e) {
      return this.failure(e);
    }
    this.prevDecl = conv.declOutput ?? "";
    const name = conv.lastExpressionVar;
    if (!name || !(name in this.exports)) return { status: "ok", value: undefined, hasValue: false };
    const value = this.exports[name];
    // Cleared, not deleted: deleting under a computed key makes the object a dictionary (V8).
    this.exports[name] = undefined;
    return { status: "ok", value, hasValue: value !== undefined };
  }

  complete(src: string, pos: number) {
    return this.compiler.complete(this.prevDecl, src, pos);
  }

  inspect(src: string, pos: number) {
    return this.compiler.inspect(this.prevDecl, src, pos);
  }

  /** An error's traceback as cells show it: cell frames at cell lines, this package's frames left out. */
  traceback(e: Error): string[] {
    return runtimeError(e, this.positions).traceback;
  }

  private failure(e: unknown): ExecOutcome {
    const interrupted = e instanceof InterruptSignal || (e as { code?: string })?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED";
    return { status: "error", error: interrupted ? interruptedError() : runtimeError(e, this.positions), interrupted };
  }

  private resetInterrupt(): void {
    this.interruptPromise = new Promise<never>((_, reject) => (this.rejectInterrupt = reject));
    this.interruptPromise.catch(() => {});
  }

  /**
   * `require` for cells: hooks first, then JavaScript emitted for local .ts imports, then Node.
   * The first successful load of each package id (not a path, not a Node built-in) is recorded
   * and reported, so extensions can act on a library only once the user's code loads it.
   */
  private makeRequire(base: NodeJS.Require, dir: string, hooks: Record<string, () => unknown>): NodeJS.Require {
    const fromSide = (id: string, from: string): unknown => {
      if (!id.startsWith(".") && !path.isAbsolute(id)) return undefined;
      let file = path.resolve(from, id);
      if (path.extname(file) === "") file += ".js";
      const cached = this.sideModules.get(file);
      if (cached) return cached.exports;
      const src = this.sideOutputs.get(file);
      if (src === undefined) return undefined;
      // Compile the emitted JavaScript as a CommonJS module of its own.
      const M = Module as unknown as (new (
        id: string,
      ) => NodeJS.Module & { _compile(c: string, f: string): void }) & {
        _nodeModulePaths(d: string): string[];
      };
      const mod = new M(file);
      mod.filename = file;
      mod.paths = M._nodeModulePaths(path.dirname(file));
      mod.require = this.makeRequire(createRequire(file), path.dirname(file), hooks);
      this.sideModules.set(file, mod);
      mod._compile(src, file);
      return mod.exports;
    };
    return new Proxy(base, {
      apply: (_t, thisArg, args: unknown[]) => {
        const id = args[0];
        if (args.length === 1 && typeof id === "string") {
          const hook = hooks[id];
          if (hook) return hook();
          const side = fromSide(id, dir);
          if (side !== undefined) return side;
        }
        const exports = Reflect.apply(base, thisArg, args) as unknown;
        if (typeof id === "string" && !this.packages.has(id) && isPackageId(id)) {
          this.packages.set(id, exports);
          this.onPackage(id, exports);
        }
        return exports;
      },
    });
  }
}

/** A bare package id such as "@scope/pkg" or "pkg/sub": not a path, not a Node built-in. */
function isPackageId(id: string): boolean {
  return !id.startsWith(".") && !path.isAbsolute(id) && !Module.isBuiltin(id);
}

/**
 * Sets a top-level name on the exports object. Defined, not assigned: a store under a computed
 * key turns an object with more than a dozen properties into a dictionary (V8), and every
 * cell's `exports.x = …` would then be a hash lookup.
 */
export function setExport(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

/** Plain data property for what TypeScript would define as a getter on exports. */
function defineExport(target: Record<string, unknown>, name: string, attrs: PropertyDescriptor): void {
  if (name === "__esModule") return;
  setExport(target, name, attrs.get ? attrs.get() : attrs.value);
}

/**
 * TypeScript's CommonJS output starts by setting every exported name to undefined
 * (`exports.s = exports.tsLastExpr = void 0;`). Left out: a name then gets its first value
 * from the cell itself, so V8 keeps a number in a number field (a top-level loop's
 * `exports.s = s += i` was 3× slower through the field undefined made generic). A cell that
 * fails before it sets a name leaves that name's earlier value. Blank lines keep the line
 * numbers the source maps count.
 */
const EXPORTS_INIT = /^exports\.[^\s=.]+ = (?:exports\.[^\s=.]+ = )*void 0;$/gm;

function wrap(js: string, kind: "function" | "async function" | "function*"): string {
  const body = js
    .replace(/^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/m, "")
    .replace(EXPORTS_INIT, "")
    .replace(/^Object\.defineProperty\(exports, /gm, "__defineExport(exports, ");
  const a = `globalThis[Symbol.for("tslab-mlflow.cell")]`;
  return `${a}.start(), (${kind} (exports, require, __defineExport) {\n${body}\n})(${a}.exports, ${a}.require, ${a}.define)`;
}

/** Knows no script: every cell frame loses its (JavaScript) position. */
const NO_POSITIONS = new CellPositions();

/** The error as Jupyter shows it; with `positions`, cell frames say cell lines (else no position). */
export function runtimeError(e: unknown, positions?: CellPositions): ErrorContent {
  if (e instanceof Error || (typeof e === "object" && e !== null && "stack" in e && "message" in e)) {
    const err = e as Error;
    const ename = err.name || err.constructor?.name || "Error";
    const evalue = String(err.message ?? "");
    // Frames inside this package say nothing about the user's code.
    const frames = String(err.stack ?? "")
      .split("\n")
      .slice(1)
      .filter((l) => /^\s+at /.test(l) && !/\(?node:/.test(l) && !l.includes(PACKAGE_URL) && !l.includes(PACKAGE_DIR))
      // Positions in a cell frame count lines of the emitted JavaScript: they are mapped to
      // the TypeScript the user wrote, or dropped rather than mislead.
      .map((l) => (positions ?? NO_POSITIONS).frame(l))
      .filter((l): l is string => l !== undefined);
    // Built-in frames below the outermost cell frame (a top-level-await cell's generator
    // steps, its promise) are how the kernel ran the cell, not the user's code.
    const outermostCell = frames.findLastIndex((l) => /\bIn\[[^\]]*\]/.test(l));
    if (outermostCell >= 0) {
      while (frames.length > outermostCell + 1 && /\(<anonymous>\)$/.test(frames.at(-1)!)) frames.pop();
    }
    return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...frames] };
  }
  const text =
    typeof e === "string"
      ? e
      : (() => {
          try {
            return JSON.stringify(e) ?? String(e);
          } catch {
            return String(e);
          }
        })();
  return { ename: "Thrown", evalue: text, traceback: [`Uncaught ${text}`] };
}
