// Starts our compiled kernel (or stock tslab) through the product's KernelClient.
import path from "node:path";
import { KernelClient, type KernelClientOptions } from "../../jupyter-client/index.js";
import { CLI_MAIN, REPO_ROOT } from "./paths.js";

export { KernelClient };

/** The argv our kernelspec uses (the compiled CLI; tests import the client from source). */
export const KERNEL_ARGV = [process.execPath, CLI_MAIN, "kernel", "--connection-file", "{connection_file}"];

/** Our kernel, run from the repo root unless told otherwise. */
export function startKernel(opts: KernelClientOptions = {}): Promise<KernelClient> {
  return KernelClient.start({ argv: KERNEL_ARGV, interruptMode: "message", cwd: REPO_ROOT, ...opts });
}

/** Stock tslab@1.0.22's own kernel, launched the way its kernelspec does. */
export function startStockTslab(opts: KernelClientOptions = {}): Promise<KernelClient> {
  const bin = path.join(REPO_ROOT, "node_modules", "tslab", "bin", "tslab");
  return KernelClient.start({
    argv: [process.execPath, bin, "kernel", "--config-path", "{connection_file}"],
    interruptMode: "signal",
    cwd: REPO_ROOT,
    // Its TypeScript converter loads before it answers: slow on a busy machine.
    startTimeout: 90_000,
    ...opts,
  });
}
