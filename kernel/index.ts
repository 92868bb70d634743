// The kernel's entry point: `startKernel` binds the sockets named in a
// connection file and serves Jupyter messages until shutdown.
import { inspect } from "node:util";
import type { KernelExtension } from "./extensions.js";
import { readConnectionFile } from "../protocol/connection.js";
import { Transport } from "./transport.js";
import { Kernel } from "./kernel.js";

export type { KernelExtension } from "./extensions.js";
export * from "./extensions.js";

export interface StartKernelOptions {
  /** Path of the connection file Jupyter passes (`--connection-file`/`-f`). */
  connectionFile: string;
  /** Extensions (e.g. magics), offered every cell in this order. */
  extensions?: KernelExtension[];
  /** Directory cells run in and import from (default: process.cwd()). */
  cwd?: string;
  /**
   * Where kernel log lines go (default: the process's stderr, bypassing the
   * capture). A custom log must not call process.stdout/stderr.write: once the
   * kernel runs, those writes become output of the current cell.
   */
  log?: (line: string) => void;
}

export interface RunningKernel {
  /** Resolves once the kernel has shut down (shutdown_request or SIGTERM) and closed its sockets. */
  readonly exited: Promise<{ restart: boolean }>;
  /** Shuts the kernel down as a shutdown_request would (runs onShutdown listeners). */
  shutdown(restart?: boolean): Promise<void>;
}

// Kept before stdout/stderr are captured, so kernel logs never land in a cell.
const stderrWrite = process.stderr.write.bind(process.stderr);
const defaultLog = (line: string) => void stderrWrite(`[tslab-mlflow] ${line}\n`);

/**
 * Starts a kernel on the connection file's sockets. Rejects if the file is
 * unreadable or invalid, or a port cannot be bound. The process keeps running
 * until `exited` resolves; the caller then exits the process.
 */
export async function startKernel(opts: StartKernelOptions): Promise<RunningKernel> {
  const log = opts.log ?? defaultLog;
  const info = await readConnectionFile(opts.connectionFile);
  if (opts.cwd) process.chdir(opts.cwd);
  const transport = await Transport.open(info, log);
  const kernel = new Kernel(transport, info.key, process.cwd(), opts.extensions ?? [], log);
  const restoreStdio = kernel.outputs.captureStdio();

  // User code's stray exceptions (timers, unawaited promises) must not end the kernel.
  const onUncaught = (e: unknown) => {
    const text = e instanceof Error ? kernel.executor.traceback(e).join("\n") : inspect(e);
    kernel.outputs.stream("stderr", `Uncaught ${text}\n`);
  };
  const onSigint = () => kernel.interrupt();
  const onSigterm = () => void stop(false);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUncaught);
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);

  let resolveExited!: (v: { restart: boolean }) => void;
  const exited = new Promise<{ restart: boolean }>((r) => (resolveExited = r));
  let closing: Promise<void> | undefined;
  const close = (restart: boolean) =>
    (closing ??= (async () => {
      kernel.outputs.flush();
      await transport.close();
      restoreStdio();
      process.off("uncaughtException", onUncaught);
      process.off("unhandledRejection", onUncaught);
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigterm);
      resolveExited({ restart });
    })());
  const stop = async (restart: boolean) => {
    if (!closing) await kernel.shutdown(restart);
    await close(restart);
  };
  kernel.onShutdownReplied = (restart) => void close(restart);
  return { exited, shutdown: (restart = false) => stop(restart) };
}
