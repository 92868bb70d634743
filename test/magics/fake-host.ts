// An in-process stand-in for the kernel's extension seam (KernelHost + Cell), so the magics'
// logic can be tested against a real file store without spawning a kernel. Cell code here is
// plain JavaScript run as an async function whose parameters are the defined globals;
// `print(x)` writes to stdout and `show(bundle)` publishes a display_data.

import type {
  Cell,
  CellInfo,
  CellOutcome,
  CellOutput,
  IopubOutputMessage,
  KernelExtension,
  KernelHost,
  RunResult,
} from "../../kernel/extensions.js";

const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => (...a: unknown[]) => Promise<unknown>;

export interface Executed {
  handled: boolean;
  outputs: CellOutput[];
  status: "ok" | "error";
}

export class FakeHost implements KernelHost {
  executionCount = 0;
  readonly history: { executionCount: number; code: string; cellId: string | undefined }[] = [];
  currentCell: CellInfo | undefined;
  readonly globals = new Map<string, unknown>();
  readonly declarations: string[] = [];
  readonly logs: string[] = [];
  private outputL: ((o: CellOutput, c: CellInfo, m: IopubOutputMessage | undefined) => void)[] = [];
  private startL: ((c: CellInfo) => void)[] = [];
  private endL: ((c: CellInfo, o: CellOutcome) => void | Promise<void>)[] = [];
  private shutdownL: ((r: boolean) => void | Promise<void>)[] = [];
  private controller = new AbortController();

  constructor(
    readonly cwd: string,
    private readonly ext: KernelExtension,
  ) {}

  async start(): Promise<void> {
    await this.ext.activate?.(this);
  }

  defineGlobal(name: string, value: unknown, declaration: string): void {
    this.globals.set(name, value);
    this.declarations.push(declaration);
  }
  addDeclarations(d: string): void {
    this.declarations.push(d);
  }
  async run(): Promise<RunResult> {
    return { status: "ok", value: undefined };
  }
  onOutput(l: (o: CellOutput, c: CellInfo, m: IopubOutputMessage | undefined) => void) {
    this.outputL.push(l);
    return () => undefined;
  }
  onCellStart(l: (c: CellInfo) => void) {
    this.startL.push(l);
    return () => undefined;
  }
  onCellEnd(l: (c: CellInfo, o: CellOutcome) => void | Promise<void>) {
    this.endL.push(l);
    return () => undefined;
  }
  onInterrupt() {
    return () => undefined;
  }
  onRequire() {
    return () => undefined;
  }
  onShutdown(l: (r: boolean) => void | Promise<void>) {
    this.shutdownL.push(l);
    return () => undefined;
  }
  log(m: string): void {
    this.logs.push(m);
  }

  interrupt(): void {
    this.controller.abort();
  }

  async shutdown(): Promise<void> {
    for (const l of this.shutdownL) await l(false);
  }

  /** Executes one cell the way the kernel would: extension first, else "TypeScript" (JS here). */
  async execute(code: string, metadata: Record<string, unknown> = {}): Promise<Executed> {
    this.controller = new AbortController();
    const count = ++this.executionCount;
    const outputs: CellOutput[] = [];
    let failed: CellOutput | undefined;
    const info: CellInfo = {
      code,
      executionCount: count,
      silent: false,
      storeHistory: true,
      allowStdin: false,
      parentHeader: {} as CellInfo["parentHeader"],
      metadata,
      cellId: metadata.cellId as string | undefined,
      notebookPath: (metadata.notebookPath as string | undefined) ?? process.env.JPY_SESSION_NAME,
      signal: this.controller.signal,
    };
    const publish = (o: CellOutput) => {
      outputs.push(o);
      if (o.type === "error") failed ??= o;
      for (const l of this.outputL) l(o, info, iopubMessage(o));
    };
    const toError = (e: unknown) => {
      const err = e as Error;
      return { ename: err?.name ?? "Error", evalue: err?.message ?? String(e), traceback: [String(err?.stack ?? e)] };
    };
    const runJs = async (src: string): Promise<RunResult> => {
      const print = (...xs: unknown[]) => publish({ type: "stream", name: "stdout", text: xs.join(" ") + "\n" });
      const show = (data: Record<string, unknown>) => publish({ type: "display_data", data, metadata: {} });
      const names = [...this.globals.keys()];
      try {
        const fn = new AsyncFunction(...names, "print", "show", src);
        const aborted = new Promise<never>((_, reject) => {
          const fail = () => reject(Object.assign(new Error("Script execution was interrupted"), { name: "Interrupted" }));
          if (this.controller.signal.aborted) fail();
          this.controller.signal.addEventListener("abort", fail);
        });
        const value = await Promise.race([fn(...names.map((n) => this.globals.get(n)), print, show), aborted]);
        if (value !== undefined)
          publish({ type: "execute_result", data: { "text/plain": String(value) }, metadata: {}, executionCount: count });
        return { status: "ok", value };
      } catch (e) {
        const error = toError(e);
        publish({ type: "error", error });
        return { status: "error", error };
      }
    };
    const cell: Cell = {
      ...info,
      run: runJs,
      display: (data) => publish({ type: "display_data", data, metadata: {} }),
      stream: (name, text) => publish({ type: "stream", name, text }),
      error: (e) => {
        const content =
          e && typeof e === "object" && "ename" in e ? (e as { ename: string; evalue: string; traceback: string[] }) : toError(e);
        publish({ type: "error", error: content });
      },
      input: async () => "",
    };
    this.currentCell = info;
    for (const l of this.startL) l(info);
    let handled = false;
    try {
      handled = (await this.ext.execute?.(cell)) ?? false;
      if (!handled) await runJs(code);
    } catch (e) {
      cell.error(e);
    }
    const outcome: CellOutcome = failed && failed.type === "error" ? { status: "error", error: failed.error } : { status: "ok" };
    for (const l of this.endL) await l(info, outcome);
    this.history.push({ executionCount: count, code, cellId: info.cellId });
    this.currentCell = undefined;
    return { handled, outputs, status: failed ? "error" : "ok" };
  }
}

/** The iopub message the kernel would publish for an output (as kernel/outputs.ts does). */
function iopubMessage(o: CellOutput): IopubOutputMessage | undefined {
  switch (o.type) {
    case "stream":
      return { msg_type: "stream", content: { name: o.name, text: o.text } };
    case "display_data":
      return {
        msg_type: "display_data",
        content: { data: o.data, metadata: o.metadata, ...(o.displayId ? { transient: { display_id: o.displayId } } : {}) },
      };
    case "execute_result":
      return { msg_type: "execute_result", content: { execution_count: o.executionCount, data: o.data, metadata: o.metadata } };
    case "error":
      return { msg_type: "error", content: o.error };
    default:
      return undefined;
  }
}

export const streamText = (outs: CellOutput[], name = "stdout") =>
  outs
    .filter((o): o is Extract<CellOutput, { type: "stream" }> => o.type === "stream" && o.name === name)
    .map((o) => o.text)
    .join("");
export const errors = (outs: CellOutput[]) =>
  outs.filter((o): o is Extract<CellOutput, { type: "error" }> => o.type === "error").map((o) => o.error);
export const displays = (outs: CellOutput[]) =>
  outs.filter((o): o is Extract<CellOutput, { type: "display_data" }> => o.type === "display_data").map((o) => o.data);
