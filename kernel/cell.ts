// One execute_request: counting, execute_input, offering the cell to
// extensions, running it as TypeScript otherwise, and the reply.
//
// `LiveCell` is what extensions receive as `Cell`; the kernel's own path uses
// the same `run`, so an intercepted cell and a plain one produce outputs the
// same way.
import type { Cell, CellInfo, CellOutcome, DisplayOptions, RunOptions, RunResult } from "./extensions.js";
import type { ErrorContent, ExecuteReply, ExecuteRequest, Header, Message, MimeBundle } from "../protocol/messages.js";
import { toBundle } from "./display.js";
import { interruptedError, runtimeError, type Executor } from "./executor.js";
import type { OutputRouter } from "./outputs.js";

/** What a cell needs from the kernel. */
export interface CellHost {
  readonly executor: Executor;
  readonly outputs: OutputRouter;
  input(cell: LiveCell, prompt: string, password: boolean): Promise<string>;
  /** Called when a cell's code was stopped by an interrupt the kernel did not see (breakOnSigint). */
  noteInterrupted(): void;
}

export class LiveCell implements Cell {
  readonly code: string;
  readonly executionCount: number;
  readonly silent: boolean;
  readonly storeHistory: boolean;
  readonly allowStdin: boolean;
  readonly parentHeader: Header;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly cellId: string | undefined;
  readonly notebookPath: string | undefined;
  readonly signal: AbortSignal;
  readonly abort = new AbortController();
  /** text/plain of the last execute_result, for history with output. */
  lastResultText: string | null = null;

  constructor(
    private readonly host: CellHost,
    readonly request: Message,
    readonly identities: Buffer[],
    content: ExecuteRequest,
    executionCount: number,
  ) {
    this.code = content.code;
    this.silent = content.silent === true;
    this.storeHistory = !this.silent && content.store_history !== false;
    this.allowStdin = content.allow_stdin === true;
    this.executionCount = executionCount;
    this.parentHeader = request.header;
    this.metadata = request.metadata;
    const md = request.metadata;
    this.cellId = typeof md.cellId === "string" ? md.cellId : undefined;
    const path = md.notebookPath ?? md.path ?? process.env.JPY_SESSION_NAME;
    this.notebookPath = typeof path === "string" && path !== "" ? path : undefined;
    this.signal = this.abort.signal;
  }

  /** A frozen snapshot for listeners (they must not call run/display on a finished cell). */
  info(): CellInfo {
    const { code, executionCount, silent, storeHistory, allowStdin, parentHeader, metadata, cellId, notebookPath, signal } = this;
    return { code, executionCount, silent, storeHistory, allowStdin, parentHeader, metadata, cellId, notebookPath, signal };
  }

  async run(code: string, options: RunOptions = {}): Promise<RunResult> {
    const ex = this.host.executor;
    // Tracebacks name the cell as Jupyter shows it; `code` may be the cell below a magic line.
    const where = {
      name: `In[${this.executionCount}]`,
      firstLine: this.code.endsWith(code) ? lineCount(this.code.slice(0, this.code.length - code.length)) + 1 : 1,
    };
    // Interrupted before this code started (e.g. while the kernel was still starting up):
    // the executor never saw that interrupt, so run nothing rather than wait forever.
    if (this.signal.aborted) {
      const error = interruptedError();
      if (!options.quiet) this.host.outputs.error(error);
      return { status: "error", error };
    }
    if (options.quiet) {
      const r = await this.host.outputs.muffled(() => ex.execute(code, where));
      if (r.status === "error" && r.interrupted) this.host.noteInterrupted();
      return r.status === "ok" ? { status: "ok", value: r.value } : { status: "error", error: r.error };
    }
    const r = await ex.execute(code, where);
    if (r.status === "error") {
      if (r.interrupted) this.host.noteInterrupted();
      this.host.outputs.error(r.error);
      return { status: "error", error: r.error };
    }
    if (r.hasValue && options.result !== false && !this.silent) {
      let bundle: MimeBundle;
      try {
        bundle = toBundle(r.value);
      } catch (e) {
        const error = runtimeError(e);
        this.host.outputs.error(error);
        return { status: "error", error };
      }
      this.host.outputs.executeResult(bundle, this.executionCount);
      this.lastResultText = typeof bundle["text/plain"] === "string" ? bundle["text/plain"] : null;
    }
    return { status: "ok", value: r.value };
  }

  display(bundle: MimeBundle, options: DisplayOptions = {}): void {
    this.host.outputs.display(bundle, options);
  }

  stream(name: "stdout" | "stderr", text: string): void {
    this.host.outputs.stream(name, text);
  }

  error(error: unknown): void {
    this.host.outputs.error(isErrorContent(error) ? error : runtimeError(error));
  }

  input(prompt: string, options: { password?: boolean } = {}): Promise<string> {
    return this.host.input(this, prompt, options.password === true);
  }
}

function isErrorContent(e: unknown): e is ErrorContent {
  const o = e as ErrorContent;
  return (
    typeof o === "object" &&
    o !== null &&
    !(o instanceof Error) &&
    typeof o.ename === "string" &&
    typeof o.evalue === "string" &&
    Array.isArray(o.traceback)
  );
}

/** Checks an execute_request's content; names the bad field. */
/** An interrupted cell is "aborted" even though it also published an error. */
export function outcomeOf(lastError: ErrorContent | undefined, interrupted: boolean): CellOutcome {
  if (interrupted) return { status: "aborted" };
  return lastError ? { status: "error", error: lastError } : { status: "ok" };
}

export function executeReply(cell: LiveCell, lastError: ErrorContent | undefined): ExecuteReply {
  if (lastError) return { status: "error", execution_count: cell.executionCount, ...lastError };
  return { status: "ok", execution_count: cell.executionCount, user_expressions: {}, payload: [] };
}

function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
