// The kernel's entry point: `startKernel` binds the sockets named in a
// connection file and serves Jupyter messages until shutdown.
import type { KernelExtension } from "./extensions.js";

export type { KernelExtension } from "./extensions.js";
export * from "./extensions.js";

export interface StartKernelOptions {
  /** Path of the connection file Jupyter passes (`--connection-file`/`-f`). */
  connectionFile: string;
  /** Extensions (e.g. magics), offered every cell in this order. */
  extensions?: KernelExtension[];
  /** Directory cells run in and import from (default: process.cwd()). */
  cwd?: string;
  /** Where kernel log lines go (default: stderr). */
  log?: (line: string) => void;
}

export interface RunningKernel {
  /** Resolves once the kernel has shut down (shutdown_request or SIGTERM) and closed its sockets. */
  readonly exited: Promise<{ restart: boolean }>;
  /** Shuts the kernel down as a shutdown_request would (runs onShutdown listeners). */
  shutdown(restart?: boolean): Promise<void>;
}

export async function startKernel(_opts: StartKernelOptions): Promise<RunningKernel> {
  throw new Error("startKernel: not implemented yet");
}
