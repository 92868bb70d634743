// Executes a notebook's code cells in order through a KernelClient, filling in outputs,
// execution counts and nbclient's timing metadata (`metadata.execution`) the way
// `jupyter nbconvert --execute` does, so both produce the same notebook.

import type { ICodeCell, IError, INotebookContent, IOutput } from "@jupyterlab/nbformat";
import type { KernelClient } from "../jupyter-client/index.js";
import { outputFromIopub, toNbformat } from "../kernel/nbformat.js";
import type { Message } from "../protocol/messages.js";
import { cellTags, firstLine, isCodeCell, joinSource } from "./notebook.js";
import type { CellOutcome, Progress } from "./progress.js";

export type StopReason = "error" | "timeout" | "interrupted" | "kernel died";

export interface ExecuteNotebookOptions {
  allowErrors?: boolean;
  /** Per-cell limit in seconds (nbclient's and papermill's meaning of a timeout). */
  timeoutSeconds?: number;
  /** Aborting it (Ctrl-C) interrupts the running cell and stops. */
  signal?: AbortSignal;
  progress?: Progress;
  /** Called after each cell, e.g. to save the notebook as it goes. */
  afterCell?(index: number): Promise<void> | void;
  /** Seconds to wait for the kernel to settle after an interrupt before giving up on it. */
  interruptGraceSeconds?: number;
}

export interface CellFailure {
  index: number;
  /** The cell is tagged `raises-exception`: its error is the expected outcome. */
  expected?: boolean;
  reason: StopReason;
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface ExecuteNotebookResult {
  /** Undefined when every cell ran (errors allowed by --allow-errors or `raises-exception` count as ran). */
  stopped?: CellFailure;
  /** Errors that were allowed to pass. */
  allowedErrors: CellFailure[];
  executed: number;
}

/** nbclient skips empty cells and cells tagged `skip-execution`. */
export function isExecutable(cell: INotebookContent["cells"][number]): cell is ICodeCell {
  return isCodeCell(cell) && joinSource(cell.source).trim() !== "" && !cellTags(cell).includes("skip-execution");
}

export async function executeNotebook(
  nb: INotebookContent,
  client: KernelClient,
  opts: ExecuteNotebookOptions = {},
): Promise<ExecuteNotebookResult> {
  const info = client.kernelInfo?.content as { language_info?: unknown } | undefined;
  if (info?.language_info) (nb.metadata as Record<string, unknown>).language_info = info.language_info;

  const displays = new DisplayTracker();
  const targets = nb.cells.map((c, i) => [c, i] as const).filter(([c]) => isExecutable(c));
  const result: ExecuteNotebookResult = { allowedErrors: [], executed: 0 };
  opts.progress?.start(targets.length);

  for (const [n, [cell, index]] of targets.entries()) {
    const cellCode = cell as ICodeCell;
    const line = firstLine(cellCode);
    opts.progress?.cellStarted(n + 1, index, line);
    const started = performance.now();
    const failure = await executeCell(cellCode, index, client, displays, opts);
    result.executed++;
    const allowed = failure?.reason === "error" && (opts.allowErrors || cellTags(cellCode).includes("raises-exception"));
    const outcome: CellOutcome = !failure ? "ok" : allowed ? "allowed error" : failure.reason;
    opts.progress?.cellFinished(n + 1, index, outcome, (performance.now() - started) / 1000, line);
    await opts.afterCell?.(index);
    if (failure && allowed) result.allowedErrors.push({ ...failure, expected: cellTags(cellCode).includes("raises-exception") });
    else if (failure) {
      result.stopped = failure;
      break;
    }
    if (opts.signal?.aborted) {
      result.stopped = { index, reason: "interrupted", ename: "KeyboardInterrupt", evalue: "stopped after this cell", traceback: [] };
      break;
    }
  }
  opts.progress?.stop();
  return result;
}

async function executeCell(
  cell: ICodeCell,
  index: number,
  client: KernelClient,
  displays: DisplayTracker,
  opts: ExecuteNotebookOptions,
): Promise<CellFailure | undefined> {
  const timing: Record<string, string> = {};
  cell.metadata.execution = timing;
  cell.outputs = [];
  cell.execution_count = null;
  displays.clearCell(index);
  let clearOnNext = false;

  // Status messages are not part of execute()'s outputs; catch this request's busy/idle here.
  let requestId: string | undefined;
  const statuses: Message[] = [];
  const stopStatus = client.onIopub((m) => {
    if (m.header.msg_type === "status") statuses.push(m);
  });

  const onOutput = (msg: Message) => {
    requestId ??= msg.parent_header.msg_id;
    const type = msg.header.msg_type;
    const content = msg.content as Record<string, any>;
    if (typeof content.execution_count === "number") cell.execution_count = content.execution_count;
    if (type === "execute_input") {
      timing["iopub.execute_input"] = nbclientTime(msg);
      return;
    }
    const displayId: string | undefined = content.transient?.display_id;
    if (displayId && (type === "display_data" || type === "execute_result" || type === "update_display_data")) {
      displays.update(displayId, content);
    }
    if (type === "clear_output") {
      if (content.wait) clearOnNext = true;
      else {
        cell.outputs = [];
        displays.clearCell(index);
      }
      return;
    }
    const made = outputFromIopub(type, content);
    if (!made) return;
    const output = toNbformat(made);
    if (clearOnNext) {
      cell.outputs = [];
      displays.clearCell(index);
      clearOnNext = false;
    }
    if (displayId) displays.record(displayId, index, cell.outputs.length, cell.outputs);
    cell.outputs.push(output);
  };

  const execution = client.execute(joinSource(cell.source), {
    store_history: true,
    stop_on_error: !(opts.allowErrors || cellTags(cell).includes("raises-exception")),
    onOutput,
  });
  const settled = execution.then(
    (r) => ({ kind: "done" as const, reply: r.reply }),
    (e: Error & { code?: string }) => ({ kind: "failed" as const, error: e }),
  );

  let stop: "timeout" | "interrupted" | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<"timeout" | "interrupted">((resolve) => {
    if (opts.timeoutSeconds !== undefined) timer = setTimeout(() => resolve("timeout"), opts.timeoutSeconds * 1000);
    if (opts.signal?.aborted) resolve("interrupted");
    onAbort = () => resolve("interrupted");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
  });

  try {
    let outcome = await Promise.race([settled, stopped]);
    if (outcome === "timeout" || outcome === "interrupted") {
      stop = outcome;
      // Interrupt, then give the kernel a moment to report the cell's end before moving on.
      await client.interrupt().catch(() => {});
      const grace = new Promise<"gone">((r) => setTimeout(() => r("gone"), (opts.interruptGraceSeconds ?? 5) * 1000));
      outcome = await Promise.race([settled, grace]).then((o) => (o === "gone" ? outcome : o));
    }
    const reqId = typeof outcome === "object" && outcome.kind === "done" ? outcome.reply.parent_header.msg_id : requestId;
    for (const s of statuses) {
      if (reqId === undefined || s.parent_header.msg_id !== reqId) continue;
      const state = (s.content as { execution_state?: string }).execution_state;
      if (state === "busy") timing["iopub.status.busy"] = nbclientTime(s);
      if (state === "idle") timing["iopub.status.idle"] = nbclientTime(s);
    }

    if (typeof outcome === "object" && outcome.kind === "failed") {
      if (outcome.error.code === "KERNEL_DIED" || outcome.error.code === "CLOSED" || !client.alive) {
        if (stop) return stopFailure(cell, index, stop, opts.timeoutSeconds);
        return failWith(cell, index, "kernel died", "DeadKernelError", kernelDeathText(client, outcome.error));
      }
      throw outcome.error;
    }
    if (typeof outcome === "object" && outcome.kind === "done") {
      timing["shell.execute_reply"] = nbclientTime(outcome.reply);
      const reply = outcome.reply.content as {
        status?: string;
        execution_count?: number;
        ename?: string;
        evalue?: string;
        traceback?: string[];
      };
      if (cell.execution_count === null && typeof reply.execution_count === "number") cell.execution_count = reply.execution_count;
      if (stop) return stopFailure(cell, index, stop, opts.timeoutSeconds);
      if (reply.status === "error" || reply.status === "aborted") {
        const err = cell.outputs.find((o): o is IError => o.output_type === "error");
        return {
          index,
          reason: "error",
          ename: err?.ename ?? reply.ename ?? "Error",
          evalue: err?.evalue ?? reply.evalue ?? "",
          traceback: err?.traceback ?? reply.traceback ?? [],
        };
      }
      return undefined;
    }
    // Timed out or interrupted and the kernel never answered.
    return stopFailure(cell, index, stop ?? "interrupted", opts.timeoutSeconds);
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
    stopStatus();
  }
}

function stopFailure(cell: ICodeCell, index: number, reason: "timeout" | "interrupted", timeoutSeconds?: number): CellFailure {
  const text =
    reason === "timeout"
      ? `Cell execution timed out after ${timeoutSeconds} s (--timeout ${timeoutSeconds}); the kernel was interrupted.`
      : "Execution was interrupted (Ctrl-C); the kernel was interrupted.";
  const ename = reason === "timeout" ? "CellTimeoutError" : "KeyboardInterrupt";
  return failWith(cell, index, reason, ename, text);
}

/** Records a failure the kernel could not report itself as an error output in the cell. */
function failWith(cell: ICodeCell, index: number, reason: StopReason, ename: string, evalue: string): CellFailure {
  const traceback = [`${ename}: ${evalue}`];
  cell.outputs.push({ output_type: "error", ename, evalue, traceback });
  return { index, reason, ename, evalue, traceback };
}

function kernelDeathText(client: KernelClient, error: Error): string {
  const tail = client.stderrTail.trim().split("\n").slice(-5).join("\n");
  const first = error.message.split("\n")[0];
  return `The kernel died while executing this cell (${first}).${tail ? `\nKernel output:\n${tail}` : ""}`;
}

/** nbclient's timestamp format: `%Y-%m-%dT%H:%M:%S.%fZ` (microseconds) from the message date. */
export function nbclientTime(msg: Message): string {
  const raw = msg.header.date;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]00:?00)?$/.exec(raw ?? "");
  if (m) return `${m[1]}.${(m[2] ?? "").padEnd(6, "0").slice(0, 6)}Z`;
  const d = raw ? new Date(raw) : new Date();
  return (Number.isNaN(d.getTime()) ? new Date() : d).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Where each display_id's outputs live, so update_display_data can rewrite them (as nbclient does). */
class DisplayTracker {
  private readonly map = new Map<string, Map<number, { outputs: IOutput[]; positions: number[] }>>();

  record(displayId: string, cellIndex: number, position: number, outputs: IOutput[]): void {
    const cells = this.map.get(displayId) ?? new Map();
    this.map.set(displayId, cells);
    const entry = cells.get(cellIndex);
    if (entry && entry.outputs === outputs) entry.positions.push(position);
    else cells.set(cellIndex, { outputs, positions: [position] });
  }

  update(displayId: string, content: Record<string, any>): void {
    for (const { outputs, positions } of this.map.get(displayId)?.values() ?? []) {
      for (const p of positions) {
        const out = outputs[p] as (IOutput & { data?: unknown; metadata?: unknown }) | undefined;
        if (!out || (out.output_type !== "display_data" && out.output_type !== "execute_result")) continue;
        out.data = content.data ?? {};
        out.metadata = content.metadata ?? {};
      }
    }
  }

  clearCell(cellIndex: number): void {
    for (const cells of this.map.values()) cells.delete(cellIndex);
  }
}
