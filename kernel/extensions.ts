// The extension seam: how code outside the kernel (magics, autologging) plugs
// into cell execution without the kernel knowing what it does.
//
// An extension is a plain object handed to `startKernel({ extensions })`.
// The kernel calls `activate(host)` once at start-up (before the first cell
// runs, never delaying `kernel_info`), then for every execute_request offers
// the cell to each extension's `execute(cell)` in order, BEFORE TypeScript
// sees it. The first one that returns `true` has handled the cell; if none
// does, the kernel runs the code as TypeScript. Either way every output the
// cell produces is published on iopub and reported to `host.onOutput`
// listeners, and all of it precedes the request's `idle`.
//
// Reply status of an intercepted cell: "error" if the cell published any
// `error` output (through `cell.run`, `cell.error`, or an exception thrown by
// `execute`, which the kernel turns into an error output), otherwise "ok".
// A failed cell stops cells queued behind it (stop_on_error), as in ipykernel.
//
// Order for each cell: onCellStart listeners, extensions' execute (or the
// TypeScript run), onCellEnd listeners (awaited; a throw becomes an error
// output of the cell), execute_reply, idle. Interrupts fire `cell.signal`
// and onInterrupt; the cell's outcome is then "aborted".
//
// Example (a cell magic):
//   const ext: KernelExtension = {
//     name: "timeit",
//     async execute(cell) {
//       if (!cell.code.startsWith("%%time")) return false;
//       const t = performance.now();
//       await cell.run(cell.code.slice(cell.code.indexOf("\n") + 1));
//       cell.stream("stdout", `${(performance.now() - t).toFixed(1)} ms\n`);
//       return true;
//     },
//   };
import type { ErrorContent, Header, IsCompleteReply, MimeBundle } from "../protocol/messages.js";
import type { IopubOutputMessage } from "./nbformat.js";

export type { ErrorContent, Header, IsCompleteReply, MimeBundle };
// Notebook outputs and the iopub -> nbformat conversion, for extensions that keep outputs.
export { outputFromIopub, toNbformat, type IopubOutputMessage, type NotebookOutput } from "./nbformat.js";

/** What every cell looks like to an extension (also for cells it did not handle). */
export interface CellInfo {
  /** The code exactly as the frontend sent it. */
  readonly code: string;
  /**
   * The execution_count of this request: incremented before the cell runs
   * unless `silent` or `!storeHistory`, in which case it is the current count.
   */
  readonly executionCount: number;
  readonly silent: boolean;
  readonly storeHistory: boolean;
  readonly allowStdin: boolean;
  /** The execute_request's header (the parent of every output). */
  readonly parentHeader: Header;
  /** The execute_request's metadata as sent (JupyterLab/VS Code put `cellId` here). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `metadata.cellId` when the frontend sent one. */
  readonly cellId: string | undefined;
  /** The notebook's path: `metadata.notebookPath`/`metadata.path` if sent, else $JPY_SESSION_NAME. */
  readonly notebookPath: string | undefined;
  /** Fires when the user interrupts (SIGINT or interrupt_request) while this cell runs. */
  readonly signal: AbortSignal;
}

/** The result of running TypeScript through the kernel's executor. */
export type RunResult =
  | { status: "ok" /** The last expression's value (undefined if none). */; value: unknown }
  | { status: "error"; error: ErrorContent };

export interface RunOptions {
  /**
   * Publish the last expression as `execute_result` (default true). Stream,
   * display and error outputs are published either way, unless `quiet`.
   */
  result?: boolean;
  /** Publish nothing and report nothing to observers; the caller gets the RunResult. */
  quiet?: boolean;
}

export interface DisplayOptions {
  metadata?: Record<string, unknown>;
  /** Give the output a display_id so it can be updated later. */
  displayId?: string;
  /** Send update_display_data for `displayId` instead of a new display_data. */
  update?: boolean;
}

/** The live cell handed to `execute`: CellInfo plus ways to act on it. */
export interface Cell extends CellInfo {
  /**
   * Runs TypeScript through the kernel's normal executor, as if it were a cell:
   * type errors, stdout/stderr as streams, last value as execute_result (with
   * this cell's execution_count), runtime errors as `error`. May be called
   * several times. Never throws for errors in the user's code.
   */
  run(code: string, options?: RunOptions): Promise<RunResult>;
  /** Publishes a display_data (or update_display_data) for this request. */
  display(bundle: MimeBundle, options?: DisplayOptions): void;
  /** Publishes a stream output for this request. */
  stream(name: "stdout" | "stderr", text: string): void;
  /** Publishes an error output for this request (an Error or ready-made content). */
  error(error: unknown): void;
  /** Asks the frontend for a line of input (fails if the frontend does not allow stdin). */
  input(prompt: string, options?: { password?: boolean }): Promise<string>;
}

/** Every output a cell can produce, as observers see it. */
export type CellOutput =
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  | { type: "display_data"; data: MimeBundle; metadata: Record<string, unknown>; displayId?: string }
  | { type: "update_display_data"; data: MimeBundle; metadata: Record<string, unknown>; displayId: string }
  | { type: "execute_result"; data: MimeBundle; metadata: Record<string, unknown>; executionCount: number }
  | { type: "error"; error: ErrorContent }
  | { type: "clear_output"; wait: boolean };

/** How a cell ended, as reported to `onCellEnd`: "aborted" when it was interrupted. */
export type CellOutcome = { status: "ok" } | { status: "error"; error: ErrorContent } | { status: "aborted" };

export interface HistoryEntry {
  executionCount: number;
  code: string;
  cellId: string | undefined;
}

/** Unsubscribes a listener. */
export type Dispose = () => void;

/** The kernel as seen by an extension; handed to `activate`. */
export interface KernelHost {
  /** The directory cells run in (imports resolve from here). */
  readonly cwd: string;
  /** The current execution_count (of the last counted cell). */
  readonly executionCount: number;
  /** Cells executed so far in this session with store_history, oldest first. */
  readonly history: readonly HistoryEntry[];
  /** The cell being executed right now, if any. */
  readonly currentCell: CellInfo | undefined;

  /**
   * Makes `name` a variable in every cell: `value` at runtime and
   * `declaration` (e.g. `declare const mlflow: MlflowApi;`, plus any
   * interfaces it needs) for the type-checker. A cell may shadow it.
   */
  defineGlobal(name: string, value: unknown, declaration: string): void;
  /** Adds type-only declarations (interfaces, type aliases) visible to every cell. */
  addDeclarations(declarations: string): void;
  /** Runs TypeScript outside any cell: nothing is published. */
  run(code: string): Promise<RunResult>;

  /**
   * Observes every output of every cell (handled by an extension or not), with the iopub
   * message it was published as (clear_output and update_display_data have none: they
   * change outputs rather than add one).
   */
  onOutput(listener: (output: CellOutput, cell: CellInfo, message: IopubOutputMessage | undefined) => void): Dispose;
  /** Called before any cell runs (before extensions' `execute`). */
  onCellStart(listener: (cell: CellInfo) => void): Dispose;
  /** Called after a cell finished, before its execute_reply and idle. May be async. */
  onCellEnd(listener: (cell: CellInfo, outcome: CellOutcome) => void | Promise<void>): Dispose;
  /** Called on interrupt (SIGINT or interrupt_request), whether or not a cell runs. */
  onInterrupt(listener: () => void): Dispose;
  /**
   * Called the first time cells load each package: after a `require(id)` (an `import` in a
   * cell or in a local .ts module a cell imports) of a bare package id such as
   * "@tensorflow/tfjs" or "lodash/fp" returned, with what it returned. Not called for
   * relative or absolute paths, Node built-ins, or a require that threw. Runs inside the
   * user's `require`, synchronously: keep it cheap (a throw is logged, never seen by the cell).
   * A listener added after some packages loaded is first called for each of those, in order.
   */
  onRequire(listener: (id: string, exports: unknown) => void): Dispose;
  /** Called on shutdown_request (before the reply) and on SIGTERM. May be async. */
  onShutdown(listener: (restart: boolean) => void | Promise<void>): Dispose;
  /** Writes a line to the kernel's log (stderr of the kernel process, never a cell). */
  log(message: string): void;
}

export interface CompletionResult {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export interface KernelExtension {
  /** A short name, used in logs. */
  readonly name: string;
  /** Called once at start-up; cells wait for it, kernel_info does not. */
  activate?(host: KernelHost): void | Promise<void>;
  /**
   * Offered every execute_request before TypeScript. Return true when this
   * extension handled the cell (it ran whatever it wanted through `cell.run`).
   */
  execute?(cell: Cell): boolean | Promise<boolean>;
  /** Completions for the code at the cursor, or undefined to let TypeScript answer. */
  complete?(code: string, cursorPos: number): CompletionResult | undefined;
  /** Help for the code at the cursor, or undefined to let TypeScript answer. */
  inspect?(code: string, cursorPos: number): MimeBundle | undefined;
  /**
   * Where the TypeScript of a cell this extension reads begins (a UTF-16 index: after its
   * magic lines), or undefined when the cell is not one of its own. Completion, inspection
   * and is_complete of that part go to TypeScript without what precedes it, as it will run.
   */
  typescriptStart?(code: string): number | undefined;
  /**
   * Whether a cell is complete as typed (e.g. "invalid" for a magic line that cannot
   * parse), or undefined to let TypeScript answer for the cell's TypeScript.
   */
  isComplete?(code: string): IsCompleteReply | undefined;
}
