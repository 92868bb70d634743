// One kernel process as a frontend sees it: spawned from a kernelspec-style argv,
// its own output kept for diagnostics, its end reported exactly once (including a
// command that could not be started at all, which Node reports without "exit").
import { spawn, type ChildProcess } from "node:child_process";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** "pipe" keeps the kernel's stdout/stderr in `outputTail`; "inherit" passes them through. */
  stdio?: "pipe" | "inherit" | "ignore";
  /** Written to the process's stdin (once it resolves), which is then closed; without it, no stdin. */
  input?: Promise<string> | string;
  /** Streams the process inherits as its fds 3, 4, … */
  extraStdio?: import("node:stream").Stream[];
}

const OUTPUT_TAIL = 64 * 1024;

// Kernels still running when this process exits are killed with it, not orphaned.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export class KernelProcess {
  /** The kernel's own stdout and stderr (last 64 KiB). */
  outputTail = "";
  /** Resolves once, when the process has ended (or failed to start). */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private ended = false;

  constructor(argv: string[], opts: SpawnOptions, onExit: (e: ExitInfo) => void) {
    let resolve!: (e: ExitInfo) => void;
    this.exited = new Promise((r) => (resolve = r));
    const end = (info: ExitInfo) => {
      if (this.ended) return;
      this.ended = true;
      running.delete(this.child);
      resolve(info);
      onExit(info);
    };
    const stdio = opts.stdio ?? "pipe";
    const stdin = opts.input === undefined ? "ignore" : "pipe";
    this.child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [stdin, stdio, stdio, ...(opts.extraStdio ?? [])],
    });
    running.add(this.child);
    if (opts.input !== undefined) this.feed(opts.input);
    this.child.stdout?.on("data", (d: Buffer) => this.keep(d.toString("utf8")));
    this.child.stderr?.on("data", (d: Buffer) => this.keep(d.toString("utf8")));
    this.child.on("error", (e) => {
      this.keep(`cannot start ${argv[0]}: ${e.message}\n`);
      // No process was created, so no "exit" event will come.
      if (this.child.pid === undefined) end({ code: null, signal: null });
    });
    this.child.on("exit", (code, signal) => end({ code, signal }));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.ended && this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Waits up to `grace` ms for the process to end by itself, then kills it. */
  async stop(grace: number): Promise<ExitInfo> {
    if (this.alive) {
      const timer = setTimeout(() => this.kill("SIGKILL"), grace);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** Writes `input` then EOF. A kernel that died first (EPIPE) is reported by its exit, not here. */
  private feed(input: Promise<string> | string): void {
    const sink = this.child.stdin;
    if (!sink) return;
    sink.on("error", (e) => this.keep(`stdin of the kernel: ${e.message}\n`));
    Promise.resolve(input).then(
      (text) => {
        if (!sink.destroyed) sink.end(text);
      },
      (e: unknown) => {
        this.keep(`no input for the kernel's stdin: ${(e as Error)?.message ?? String(e)}\n`);
        if (!sink.destroyed) sink.end();
      },
    );
  }

  keep(text: string): void {
    this.outputTail = (this.outputTail + text).slice(-OUTPUT_TAIL);
  }
}
