// The kernel's state and its handler tables: one table per channel,
// msg_type -> handler, all run through the Dispatcher's wrapper. Also the
// KernelHost that extensions see.
import { createRequire } from "node:module";
import type {
  CellInfo, CellOutcome, CellOutput, Dispose, HistoryEntry, KernelExtension, KernelHost, RunResult,
} from "./extensions.js";
import {
  childMessage, PROTOCOL_VERSION, type CompleteReply, type CompleteRequest, type ControlChannel, type ExecuteReply,
  type ExecuteRequest, type InspectReply, type InspectRequest, type IsCompleteReply, type IsCompleteRequest,
  type KernelInfoReply, type ShellChannel, type ShutdownReply, type ShutdownRequest,
} from "../protocol/messages.js";
import { createDisplay, DISPLAY_DECLARATIONS, html, markdown, svg, toBundle } from "./display.js";
import { Dispatcher, type HandlerTable, type Request } from "./dispatch.js";
import { Compiler, adoptCompiler } from "./compiler/index.js";
import { Executor, interruptedError, runtimeError } from "./executor.js";
import { OutputRouter } from "./outputs.js";
import { History } from "./history.js";
import { executeReply, LiveCell, outcomeOf, type CellHost } from "./cell.js";
import type { Transport } from "./transport.js";
import type { InterruptState } from "./interrupt-state.js";
import { decode } from "../protocol/wire.js";
import { fromCodePoints, toCodePoints } from "./unicode.js";

const require = createRequire(import.meta.url);
const PKG = require("../../package.json") as { version: string };
const TS_VERSION = (require(require.resolve("@tslab/typescript-for-tslab/package.json", {
  paths: [require.resolve("tslab")],
})) as { version: string }).version;

type Listener<A extends unknown[], R = void> = (...args: A) => R;

export class Kernel implements KernelHost, CellHost {
  readonly executor: Executor;
  readonly outputs: OutputRouter;
  readonly dispatcher: Dispatcher;
  private readonly compiler: Compiler;
  /** Shared with the control worker (see interrupt-state.ts). */
  private readonly interrupts: InterruptState;
  /** Cells started so far, to tell one running cell from the next. */
  private cellsStarted = 0;
  private readonly history_ = new History();
  private count = 0;
  private cell: LiveCell | undefined;
  /** execute_requests that arrived up to this shell seq are aborted (stop_on_error after a failure). */
  private abortThrough = 0;
  private pendingInput: { resolve(v: string): void; reject(e: Error): void } | undefined;
  private readonly started: Promise<void>;
  private readonly listeners = {
    start: new Set<Listener<[CellInfo]>>(),
    end: new Set<Listener<[CellInfo, CellOutcome], void | Promise<void>>>(),
    interrupt: new Set<Listener<[]>>(),
    shutdown: new Set<Listener<[boolean], void | Promise<void>>>(),
    require: new Set<Listener<[string, unknown]>>(),
  };
  /** Set by index.ts: closes sockets and ends the kernel after a shutdown reply. */
  onShutdownReplied: (restart: boolean) => void = () => {};

  constructor(
    transport: Transport,
    key: string,
    readonly cwd: string,
    private readonly extensions: KernelExtension[],
    private readonly logLine: (line: string) => void,
  ) {
    this.interrupts = transport.interrupts;
    this.compiler = adoptCompiler(cwd) ?? new Compiler(logLine, cwd);
    this.compiler.log = logLine;
    const session = crypto.randomUUID();
    const control: HandlerTable<ControlChannel> = {
      kernel_info_request: () => this.kernelInfo(),
      shutdown_request: (c) => this.shutdownRequest(c),
      interrupt_request: () => {
        // The control worker already raised SIGINT for this request (see control-worker.ts).
        return { status: "ok" };
      },
    };
    const shell: HandlerTable<ShellChannel> = {
      kernel_info_request: () => this.kernelInfo(),
      execute_request: (c, r) => this.execute(c, r),
      complete_request: (c) => this.complete(c),
      inspect_request: (c) => this.inspect(c),
      is_complete_request: (c) => this.isComplete(c),
      history_request: (c) => this.history_.query(c),
      comm_info_request: () => ({ status: "ok", comms: {} }),
      comm_open: (c, r) => {
        // No comm targets are registered: close it, as the spec asks.
        this.dispatcher.publish("comm_close", { comm_id: c.comm_id, data: {} }, r.msg);
      },
      comm_msg: () => {},
      comm_close: () => {},
    };
    this.dispatcher = new Dispatcher(transport, key, session, { shell, control }, logLine);
    this.outputs = new OutputRouter((type, content, parent) => this.dispatcher.publish(type, content, parent), logLine);
    this.dispatcher.beforeIdle = () => this.outputs.flush();
    this.executor = new Executor(this.compiler, cwd, { tslab: () => this.tslabModule() }, (id, exports) => {
      for (const l of this.listeners.require) guard(() => l(id, exports), this.logLine);
    });
    this.defineKernelGlobals();
    this.started = this.activate();
    transport.listen({
      shell: (f) => this.dispatcher.receive("shell", f),
      control: (f) => this.dispatcher.receive("control", f),
      stdin: (f) => this.stdinReply(f, key),
    });
    this.dispatcher.publish("status", { execution_state: "starting" });
  }

  // ---- KernelHost ---------------------------------------------------------

  get executionCount(): number { return this.count; }
  get history(): readonly HistoryEntry[] { return this.history_.entries; }
  get currentCell(): CellInfo | undefined { return this.cell?.info(); }

  defineGlobal(name: string, value: unknown, declaration: string): void {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new TypeError(`defineGlobal: ${JSON.stringify(name)} is not an identifier`);
    this.executor.exports[name] = value;
    (globalThis as Record<string, unknown>)[name] = value;
    this.executor.addDeclarations(declaration);
  }
  addDeclarations(declarations: string): void { this.executor.addDeclarations(declarations); }
  async run(code: string): Promise<RunResult> {
    const r = await this.outputs.muffled(() => this.executor.execute(code));
    return r.status === "ok" ? { status: "ok", value: r.value } : { status: "error", error: r.error };
  }
  onOutput(l: (o: CellOutput, c: CellInfo) => void): Dispose { return this.outputs.onOutput(l); }
  onCellStart(l: (c: CellInfo) => void): Dispose { return add(this.listeners.start, l); }
  onCellEnd(l: (c: CellInfo, o: CellOutcome) => void | Promise<void>): Dispose { return add(this.listeners.end, l); }
  onInterrupt(l: () => void): Dispose { return add(this.listeners.interrupt, l); }
  onShutdown(l: (restart: boolean) => void | Promise<void>): Dispose { return add(this.listeners.shutdown, l); }
  onRequire(l: (id: string, exports: unknown) => void): Dispose {
    // A late listener first hears of the packages already loaded.
    for (const [id, exports] of this.executor.packages) guard(() => l(id, exports), this.logLine);
    return add(this.listeners.require, l);
  }
  log(message: string): void { this.logLine(message); }

  // ---- interrupts, input, shutdown ---------------------------------------

  /** SIGINT (from Jupyter, or raised by the control worker for interrupt_request). */
  interrupt(): void {
    this.interrupts.handled();
    this.executor.interrupt();
    this.noteInterrupted();
  }

  noteInterrupted(): void {
    this.cell?.abort.abort();
    this.pendingInput?.reject(Object.assign(new Error("input was interrupted"), { name: "Interrupted" }));
    for (const l of this.listeners.interrupt) guard(() => l(), this.logLine);
  }

  input(cell: LiveCell, prompt: string, password: boolean): Promise<string> {
    if (!cell.allowStdin) {
      return Promise.reject(new Error("input(): this frontend does not accept input (the request's allow_stdin is false)"));
    }
    this.outputs.flush();
    this.pendingInput?.reject(new Error("input(): superseded by a newer input request"));
    const msg = childMessage("input_request", { prompt, password }, cell.request, this.dispatcher.session);
    this.dispatcher.send("stdin", msg, cell.identities);
    return new Promise<string>((resolve, reject) => {
      this.pendingInput = { resolve, reject };
    }).finally(() => (this.pendingInput = undefined));
  }

  private stdinReply(frames: Buffer[], key: string): void {
    const d = decode(frames, key);
    if (!d.ok) return this.logLine(`dropped stdin message (${d.reason}): ${d.detail}`);
    if (d.msg.header.msg_type !== "input_reply") return this.logLine(`unexpected stdin message ${d.msg.header.msg_type}`);
    const value = (d.msg.content as { value?: unknown }).value;
    this.pendingInput?.resolve(typeof value === "string" ? value : String(value ?? ""));
  }

  /** Runs onShutdown listeners (each bounded, failures logged) and closes the compiler. */
  async shutdown(restart: boolean): Promise<void> {
    await Promise.all([...this.listeners.shutdown].map((l) => guardAsync(() => l(restart), this.logLine)));
    await this.compiler.close();
  }

  private async shutdownRequest(c: ShutdownRequest): Promise<ShutdownReply> {
    const restart = c.restart === true;
    await this.shutdown(restart);
    setImmediate(() => this.onShutdownReplied(restart));
    return { status: "ok", restart };
  }

  // ---- shell handlers -----------------------------------------------------

  private kernelInfo(): KernelInfoReply {
    return {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: "tslab-mlflow",
      implementation_version: PKG.version,
      language_info: {
        name: "typescript",
        version: TS_VERSION,
        mimetype: "text/typescript",
        file_extension: ".ts",
        codemirror_mode: { name: "javascript", typescript: true },
        pygments_lexer: "typescript",
        nbconvert_exporter: "script",
        // Not a spec field: the runtime the TypeScript runs on.
        node_version: process.version,
      },
      banner: `tslab-mlflow ${PKG.version}: TypeScript ${TS_VERSION} on Node.js ${process.version}`,
      help_links: [{ text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/" }],
      debugger: false,
    };
  }

  private async execute(content: ExecuteRequest, r: Request): Promise<ExecuteReply> {
    // Like ipykernel: after a failed cell, cells queued behind it (e.g. "Run All") do not run.
    if (r.seq <= this.abortThrough) return { status: "aborted" };
    const counted = content.silent !== true && content.store_history !== false;
    if (counted) this.count++;
    const cell = new LiveCell(this, r.msg, r.identities, content, this.count);
    if (!cell.silent) this.dispatcher.publish("execute_input", { code: cell.code, execution_count: cell.executionCount }, r.msg);
    this.outputs.begin(r.msg, cell.info());
    this.cell = cell;
    this.interrupts.cellStarted(++this.cellsStarted);
    try {
      await this.started;
      for (const l of this.listeners.start) guard(() => l(cell.info()), this.logLine);
      await this.runCell(cell);
      this.outputs.flush();
      const outcome = outcomeOf(this.outputs.lastError, cell.signal.aborted);
      for (const l of this.listeners.end) {
        try {
          await l(cell.info(), outcome);
        } catch (e) {
          cell.error(e);
        }
      }
    } finally {
      this.interrupts.cellEnded();
      this.cell = undefined;
    }
    if (cell.storeHistory) {
      this.history_.add({ executionCount: cell.executionCount, code: cell.code, cellId: cell.cellId, output: cell.lastResultText });
    }
    const error = this.outputs.lastError ?? (cell.signal.aborted ? interruptedError() : undefined);
    if (error && content.stop_on_error !== false) this.abortThrough = this.dispatcher.received.shell;
    const reply = executeReply(cell, error);
    if (reply.status === "ok") reply.user_expressions = await this.userExpressions(content.user_expressions);
    return reply;
  }

  /** Evaluates user_expressions quietly; each gets its own ok/error entry, as the spec says. */
  private async userExpressions(exprs: Record<string, string> | undefined): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, expr] of Object.entries(exprs ?? {})) {
      const r = await this.outputs.muffled(() => this.executor.execute(expr));
      if (r.status === "error") {
        out[name] = { status: "error", ...r.error };
        continue;
      }
      try {
        out[name] = { status: "ok", data: toBundle(r.value), metadata: {} };
      } catch (e) {
        out[name] = { status: "error", ...runtimeError(e) };
      }
    }
    return out;
  }

  private async runCell(cell: LiveCell): Promise<void> {
    try {
      for (const ext of this.extensions) {
        if (ext.execute && (await ext.execute(cell))) return;
      }
      await cell.run(cell.code);
    } catch (e) {
      cell.error(e);
    }
  }

  private async complete(c: CompleteRequest): Promise<CompleteReply> {
    const { code, pos } = codeAndCursor(c);
    for (const ext of this.extensions) {
      const r = ext.complete?.(code, pos);
      if (r) return completeReply(code, r.matches, r.cursorStart, r.cursorEnd);
    }
    const r = await this.executor.complete(code, pos);
    return completeReply(code, r.candidates, r.start, r.end);
  }

  private async inspect(c: InspectRequest): Promise<InspectReply> {
    const { code, pos } = codeAndCursor(c);
    for (const ext of this.extensions) {
      const data = ext.inspect?.(code, pos);
      if (data) return { status: "ok", found: true, data, metadata: {} };
    }
    // A cursor just after a name (where frontends put it) has no quick info of its own.
    const info = (await this.executor.inspect(code, pos)) ?? (pos > 0 ? await this.executor.inspect(code, pos - 1) : undefined);
    if (!info || !info.display) return { status: "ok", found: false, data: {}, metadata: {} };
    const text = [info.display, info.documentation, ...info.tags].filter(Boolean).join("\n\n");
    return { status: "ok", found: true, data: { "text/plain": text, "text/markdown": "```typescript\n" + info.display + "\n```" + (info.documentation ? "\n\n" + info.documentation : "") }, metadata: {} };
  }

  private async isComplete(c: IsCompleteRequest): Promise<IsCompleteReply> {
    const code = c.code;
    if (/^\s*%/.test(code)) return { status: "complete" };
    return this.compiler.isComplete(code);
  }

  // ---- start-up -----------------------------------------------------------

  private defineKernelGlobals(): void {
    const display = createDisplay(() => ({
      display: (bundle, o) => this.outputs.display(bundle, o),
      clear: (wait) => this.outputs.clear(wait),
    }));
    const values: Record<string, unknown> = {
      display,
      clearOutput: (wait = false) => this.outputs.clear(wait),
      html, markdown, svg,
      input: (prompt = "", o: { password?: boolean } = {}) => {
        if (!this.cell) return Promise.reject(new Error("input() can only be called while a cell runs"));
        return this.input(this.cell, String(prompt), o.password === true);
      },
    };
    for (const [k, v] of Object.entries(values)) {
      this.executor.exports[k] = v;
      (globalThis as Record<string, unknown>)[k] = v;
    }
    this.executor.addDeclarations(DISPLAY_DECLARATIONS);
  }

  private async activate(): Promise<void> {
    for (const ext of this.extensions) {
      try {
        await ext.activate?.(this);
      } catch (e) {
        this.logLine(`extension ${ext.name} failed to activate: ${(e as Error).stack ?? e}`);
      }
    }
  }

  private tslabModule(): unknown {
    // tslab's display helpers call jupyter.lastWriteDisplayData; route it here.
    const jupyter = require("tslab/dist/jupyter.js") as { lastWriteDisplayData: unknown };
    jupyter.lastWriteDisplayData = (d: { data: Record<string, unknown>; metadata?: Record<string, unknown>; transient?: { display_id?: string } }, update: boolean) =>
      this.outputs.display(d.data, { metadata: d.metadata, displayId: d.transient?.display_id, update: update && !!d.transient?.display_id });
    return require("tslab");
  }
}

/** The request's code and its cursor as a UTF-16 index (the protocol counts code points; absent: the end). */
function codeAndCursor(c: { code: string; cursor_pos?: number }): { code: string; pos: number } {
  return { code: c.code, pos: fromCodePoints(c.code, c.cursor_pos ?? [...c.code].length) };
}

function completeReply(code: string, matches: string[], start: number, end: number): CompleteReply {
  return { status: "ok", matches, cursor_start: toCodePoints(code, start), cursor_end: toCodePoints(code, end), metadata: {} };
}

function add<T>(set: Set<T>, l: T): Dispose {
  set.add(l);
  return () => set.delete(l);
}

function guard(fn: () => void, log: (l: string) => void): void {
  try {
    fn();
  } catch (e) {
    log(`listener failed: ${(e as Error).stack ?? e}`);
  }
}

const SHUTDOWN_LISTENER_MS = 10_000;

async function guardAsync(fn: () => void | Promise<void>, log: (l: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${SHUTDOWN_LISTENER_MS} ms`)), SHUTDOWN_LISTENER_MS))),
    ]);
  } catch (e) {
    log(`shutdown listener failed: ${(e as Error).stack ?? e}`);
  } finally {
    clearTimeout(timer);
  }
}
