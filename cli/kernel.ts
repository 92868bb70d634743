// The `kernel` command: the kernel with the magics extension, as Jupyter starts it through
// the kernelspec.
import type { KernelExtension } from "../kernel/extensions.js";

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
