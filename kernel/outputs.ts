// Routes everything a cell outputs to iopub, in order, parented to the right
// request, and reports each output to observers (the extension seam).
//
// process.stdout/stderr writes are captured for the whole life of the kernel:
// during a cell they become `stream` outputs of that cell; after it (timers,
// callbacks) they go to the most recent cell, as ipykernel does. Stream text is
// batched and flushed before any other output, so order is kept, and
// `flush()` runs before every `idle`.
import type { CellInfo, CellOutput } from "./extensions.js";
import type { IopubOutputMessage } from "./nbformat.js";
import { ensureText } from "./display.js";
import type { ErrorContent, IopubMessages, Message, MimeBundle } from "../protocol/messages.js";

export type Publish = <T extends keyof IopubMessages>(type: T, content: IopubMessages[T], parent: Message<unknown>) => void;

/** Flush batched stream text after this long, so long cells show progress. */
const STREAM_FLUSH_MS = 30;

interface Target {
  parent: Message<unknown>;
  cell: CellInfo;
}

type Listener = (o: CellOutput, cell: CellInfo, message: IopubOutputMessage | undefined) => void;

const OUTPUT_MESSAGES: ReadonlySet<string> = new Set([
  "stream",
  "display_data",
  "execute_result",
  "error",
] satisfies IopubOutputMessage["msg_type"][]);

export class OutputRouter {
  private target: Target | undefined;
  private muted = 0;
  private readonly buf = { stdout: "", stderr: "" };
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<Listener>();
  /** The last error output of the current cell (decides the reply's status). */
  lastError: ErrorContent | undefined;

  constructor(
    private readonly publish: Publish,
    private readonly log: (line: string) => void,
  ) {}

  /** Directs outputs to a new cell. */
  begin(parent: Message<unknown>, cell: CellInfo): void {
    this.flush();
    this.target = { parent, cell };
    this.lastError = undefined;
  }

  get current(): CellInfo | undefined {
    return this.target?.cell;
  }

  onOutput(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` with every output dropped (for quiet runs). */
  async muffled<T>(fn: () => Promise<T>): Promise<T> {
    this.flush();
    this.muted++;
    try {
      return await fn();
    } finally {
      this.buf.stdout = this.buf.stderr = "";
      this.muted--;
    }
  }

  stream(name: "stdout" | "stderr", text: string): void {
    if (this.muted || text === "") return;
    if (!this.target) {
      this.log(`[${name} outside any cell] ${text}`);
      return;
    }
    this.buf[name] += text;
    this.timer ??= setTimeout(() => this.flush(), STREAM_FLUSH_MS);
  }

  display(data: MimeBundle, o: { metadata?: Record<string, unknown>; displayId?: string; update?: boolean }): void {
    const bundle = ensureText(data);
    const metadata = o.metadata ?? {};
    if (o.update) {
      if (!o.displayId) throw new TypeError("updating a display needs its displayId");
      this.emit(
        "update_display_data",
        { data: bundle, metadata, transient: { display_id: o.displayId } },
        { type: "update_display_data", data: bundle, metadata, displayId: o.displayId },
      );
    } else {
      const transient = o.displayId ? { display_id: o.displayId } : {};
      this.emit(
        "display_data",
        { data: bundle, metadata, transient },
        { type: "display_data", data: bundle, metadata, displayId: o.displayId },
      );
    }
  }

  executeResult(bundle: MimeBundle, executionCount: number): void {
    this.emit(
      "execute_result",
      { execution_count: executionCount, data: bundle, metadata: {} },
      { type: "execute_result", data: bundle, metadata: {}, executionCount },
    );
  }

  error(error: ErrorContent): void {
    if (this.muted) return;
    this.lastError = error;
    this.emit("error", error, { type: "error", error });
  }

  clear(wait: boolean): void {
    this.emit("clear_output", { wait }, { type: "clear_output", wait });
  }

  /** Publishes batched stream text now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const name of ["stdout", "stderr"] as const) {
      const text = this.buf[name];
      if (!text) continue;
      this.buf[name] = "";
      this.send("stream", { name, text }, { type: "stream", name, text });
    }
  }

  private emit<T extends keyof IopubMessages>(type: T, content: IopubMessages[T], output: CellOutput): void {
    if (this.muted) return;
    this.flush();
    this.send(type, content, output);
  }

  private send<T extends keyof IopubMessages>(type: T, content: IopubMessages[T], output: CellOutput): void {
    const t = this.target;
    if (!t) {
      this.log(`dropped ${type} outside any cell`);
      return;
    }
    this.publish(type, content, t.parent);
    const message = OUTPUT_MESSAGES.has(type) ? ({ msg_type: type, content } as IopubOutputMessage) : undefined;
    for (const l of this.listeners) {
      try {
        l(output, t.cell, message);
      } catch (e) {
        this.log(`output listener failed: ${(e as Error).stack ?? e}`);
      }
    }
  }

  /** Sends process.stdout/stderr writes through this router; returns an undo. */
  captureStdio(): () => void {
    const undo: (() => void)[] = [];
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      const original = stream.write;
      stream.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
        const callback = typeof encoding === "function" ? encoding : cb;
        const text =
          typeof chunk === "string"
            ? chunk
            : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
        this.stream(name, text);
        if (typeof callback === "function") process.nextTick(callback as () => void);
        return true;
      }) as typeof stream.write;
      undo.push(() => (stream.write = original));
    }
    return () => undo.forEach((u) => u());
  }
}
