// The `kernel` command: the kernel with the magics extension, as Jupyter starts it through
// the kernelspec. main.ts runs it directly for the kernelspec's exact argument shape, so a
// kernel's start does not load the command-line parser and every other command's modules.
import type { KernelExtension } from "../kernel/extensions.js";

/** `kernel --connection-file F` or `kernel --connection-file=F`: the file, else undefined (commander parses the rest). */
export function kernelspecConnectionFile(args: string[]): string | undefined {
  if (args[0] !== "kernel") return undefined;
  if (args.length === 3 && args[1] === "--connection-file" && args[2] && !args[2].startsWith("-")) return args[2];
  if (args.length === 2 && args[1].startsWith("--connection-file=") && args[1].length > "--connection-file=".length) {
    return args[1].slice("--connection-file=".length);
  }
  return undefined;
}

export async function runKernel(connectionFile: string): Promise<never> {
  // Both load at once: the magics' implementation starts loading before the sockets bind.
  const [{ startKernel }, { mlflowExtension }] = await Promise.all([import("../kernel/index.js"), import("../magics/index.js")]);
  // The one place kernel extensions (magics) are plugged in.
  const extensions: KernelExtension[] = [mlflowExtension()];
  const running = await startKernel({ connectionFile, extensions });
  await running.exited;
  // Shut down (a restart too: the frontend starts a new process). Leftover timers
  // or handles from user code must not keep the process alive.
  process.exit(0);
}
