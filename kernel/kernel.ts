// The kernel's wiring: one handler table per channel (msg_type -> handler, typed by the
// message maps, all run through the Dispatcher's wrapper), the state that spans cells
// (execution count, history, the running cell, aborts after a failure), and the
// KernelHost that extensions see. Like ipykernel, execute_request (the protocol: count,
// execute_input, reply, history, stop_on_error) is kept apart from doExecute (the
// language work: extensions or TypeScript, listeners, outputs). Introspection and
// stdin live in their own modules.
import { createRequire } from "node:module";
import type {
  CellInfo,
  CellOutcome,
  CellOutput,
  Dispose,
  HistoryEntry,
  IopubOutputMessage,
  KernelExtension,
  KernelHost,
  RunResult,
} from "./extensions.js";
import type {
  ControlChannel,
  ErrorContent,
  ExecuteReply,
  ExecuteRequest,
  ShellChannel,
  ShutdownReply,
  ShutdownRequest,
} from "../protocol/messages.js";
import { createDisplay, DISPLAY_DECLARATIONS, html, markdown, svg, toBundle } from "./display.js";
import { Dispatcher, type HandlerTable, type Request } from "./dispatch.js";
import { Compiler, adoptCompiler } from "./compiler/index.js";
import { Executor, interruptedError, runtimeError, setExport } from "./executor.js";
import { OutputRouter } from "./outputs.js";
import { History } from "./history.js";
import { executeReply, LiveCell, outcomeOf, type CellHost } from "./cell.js";
import type { Transport } from "./transport.js";
import type { InterruptState } from "./interrupt-state.js";
import { Introspection } from "./introspection.js";
import { Stdin } from "./stdin.js";
import { kernelInfo } from "./kernel-info.js";

const require = createRequire(import.meta.url);

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
  private readonly stdin: Stdin;
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
    this.executor = new Executor(this.compiler, cwd, { tslab: () => this.tslabModule() }, (id, exports) => {
      for (const l of this.listeners.require) guard(() => l(id, exports), this.logLine);
    });
    const control: HandlerTable<ControlChannel> = {
      kernel_info_request: kernelInfo,
      shutdown_request: (c) => this.shutdownRequest(c),
      interrupt_request: () => {
        // The control worker already raised SIGINT for this request (see control-worker.ts).
        return { status: "ok" };
      },
    };
    const introspection = new Introspection(extensions, this.executor, this.compiler);
    const shell: HandlerTable<ShellChannel> = {
      kernel_info_request: kernelInfo,
      execute_request: (c, r) => this.executeRequest(c, r),
      complete_request: (c) => introspection.complete(c),
      inspect_request: (c) => introspection.inspect(c),
      is_complete_request: (c) => introspection.isComplete(c),
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
    this.stdin = new Stdin(this.dispatcher, key, () => this.outputs.flush(), logLine);
    this.defineKernelGlobals();
    this.started = this.activate();
    transport.listen({
      shell: (f) => this.dispatcher.receive("shell", f),
      control: (f) => this.dispatcher.receive("control", f),
      stdin: (f) => this.stdin.receive(f),
    });
    this.dispatcher.publish("status", { execution_state: "starting" });
  }

  // ---- KernelHost ---------------------------------------------------------

  get executionCount(): number {
    return this.count;
  }
  get history(): readonly HistoryEntry[] {
    return this.history_.entries;
  }
  get currentCell(): CellInfo | undefined {
    return this.cell?.info();
  }

  defineGlobal(name: string, value: unknown, declaration: string): void {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new TypeError(`defineGlobal: ${JSON.stringify(name)} is not an identifier`);
    setExport(this.executor.exports, name, value);
    (globalThis as Record<string, unknown>)[name] = value;
    this.executor.addDeclarations(declaration);
  }
  addDeclarations(declarations: string): void {
    this.executor.addDeclarations(declarations);
  }
  async run(code: string): Promise<RunResult> {
    const r = await this.outputs.muffled(() => this.executor.execute(code));
    return r.status === "ok" ? { status: "ok", value: r.value } : { status: "error", error: r.error };
  }
  onOutput(l: (o: CellOutput, c: CellInfo, m: IopubOutputMessage | undefined) => void): Dispose {
    return this.outputs.onOutput(l);
  }
  onCellStart(l: (c: CellInfo) => void): Dispose {
    return add(this.listeners.start, l);
  }
  onCellEnd(l: (c: CellInfo, o: CellOutcome) => void | Promise<void>): Dispose {
    return add(this.listeners.end, l);
  }
  onInterrupt(l: () => void): Dispose {
    return add(this.listeners.interrupt, l);
  }
  onShutdown(l: (restart: boolean) => void | Promise<void>): Dispose {
    return add(this.listeners.shutdown, l);
  }
  onRequire(l: (id: string, exports: unknown) => void): Dispose {
    // A late listener first hears of the packages already loaded.
    for (const [id, exports] of this.executor.packages) guard(() => l(id, exports), this.logLine);
    return add(this.listeners.require, l);
  }
  log(message: string): void {
    this.logLine(message);
  }

  // ---- interrupts, input, shutdown ---------------------------------------

  /** SIGINT (from Jupyter, or raised by the control worker for interrupt_request). */
  interrupt(): void {
    this.interrupts.handled();
    this.executor.interrupt();
    this.noteInterrupted();
  }

  noteInterrupted(): void {
    this.cell?.abort.abort();
    this.stdin.interrupt();
    for (const l of this.listeners.interrupt) guard(() => l(), this.logLine);
  }

  input(cell: LiveCell, prompt: string, password: boolean): Promise<string> {
    return this.stdin.ask(cell, prompt, password);
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

  /**
   * The protocol side of execute_request: aborts queued behind a failure, counting,
   * execute_input, history, stop_on_error and the reply. The cell itself runs in doExecute.
   */
  private async executeRequest(content: ExecuteRequest, r: Request): Promise<ExecuteReply> {
    // Like ipykernel: after a failed cell, cells queued behind it (e.g. "Run All") do not run.
    if (r.seq <= this.abortThrough) return { status: "aborted" };
    const counted = content.silent !== true && content.store_history !== false;
    if (counted) this.count++;
    const cell = new LiveCell(this, r.msg, r.identities, content, this.count);
    if (!cell.silent) this.dispatcher.publish("execute_input", { code: cell.code, execution_count: cell.executionCount }, r.msg);
    const error = await this.doExecute(cell);
    if (cell.storeHistory) {
      this.history_.add({ executionCount: cell.executionCount, code: cell.code, cellId: cell.cellId, output: cell.lastResultText });
    }
    if (error && content.stop_on_error !== false) this.abortThrough = this.dispatcher.received.shell;
    const reply = executeReply(cell, error);
    if (reply.status === "ok") reply.user_expressions = await this.userExpressions(content.user_expressions);
    return reply;
  }

  /**
   * The language side: offers the cell to extensions, else runs it as TypeScript, with the
   * start and end listeners around it. Resolves with the cell's error (an interrupt counts
   * as one), or undefined when it succeeded.
   */
  private async doExecute(cell: LiveCell): Promise<ErrorContent | undefined> {
    this.outputs.begin(cell.request, cell.info());
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
    return this.outputs.lastError ?? (cell.signal.aborted ? interruptedError() : undefined);
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

  // ---- start-up -----------------------------------------------------------

  private defineKernelGlobals(): void {
    const display = createDisplay(() => ({
      display: (bundle, o) => this.outputs.display(bundle, o),
      clear: (wait) => this.outputs.clear(wait),
    }));
    const values: Record<string, unknown> = {
      display,
      clearOutput: (wait = false) => this.outputs.clear(wait),
      html,
      markdown,
      svg,
      input: (prompt = "", o: { password?: boolean } = {}) => {
        if (!this.cell) return Promise.reject(new Error("input() can only be called while a cell runs"));
        return this.input(this.cell, String(prompt), o.password === true);
      },
    };
    for (const [k, v] of Object.entries(values)) {
      setExport(this.executor.exports, k, v);
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
    jupyter.lastWriteDisplayData = (
      d: { data: Record<string, unknown>; metadata?: Record<string, unknown>; transient?: { display_id?: string } },
      update: boolean,
    ) =>
      this.outputs.display(d.data, {
        metadata: d.metadata,
        displayId: d.transient?.display_id,
        update: update && !!d.transient?.display_id,
      });
    return require("tslab");
  }
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
      new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${SHUTDOWN_LISTENER_MS} ms`)), SHUTDOWN_LISTENER_MS)),
      ),
    ]);
  } catch (e) {
    log(`shutdown listener failed: ${(e as Error).stack ?? e}`);
  } finally {
    clearTimeout(timer);
  }
}
