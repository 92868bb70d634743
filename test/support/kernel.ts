// Starts our compiled kernel (or stock tslab) through the product's KernelClient.
import path from "node:path";
import { KernelClient, type KernelClientOptions } from "../../jupyter-client/index.js";
import type { Message } from "../../protocol/messages.js";
import { CLI_MAIN, REPO_ROOT } from "./paths.js";

export { KernelClient };

/** The argv our kernelspec uses (the compiled CLI; tests import the client from source). */
export const KERNEL_ARGV = [process.execPath, CLI_MAIN, "kernel", "--connection-file", "{connection_file}"];

/** Our kernel, run from the repo root unless told otherwise. */
export function startKernel(opts: KernelClientOptions = {}): Promise<KernelClient> {
  return KernelClient.start({ argv: KERNEL_ARGV, interruptMode: "message", cwd: REPO_ROOT, ...opts });
}

/**
 * Our kernel working in `work` (a test's temp dir), the way the magics tests need it:
 * - `cwd: work`: relative paths in cells (data files, local modules) resolve in the test's dir;
 * - `MLFLOW_TRACKING_URI=<work>/mlruns`: runs go to a file store the test reads back, not to
 *   whatever the environment tracks to;
 * - `TSLAB_MLFLOW_SPOOL_DIR=<work>/spool`: the durable logger's spool is the test's own, so no
 *   other test's leftovers are replayed and none are left behind;
 * - `JPY_SESSION_NAME=""`: outside any Jupyter session, so runs carry no notebook path unless
 *   a test sets one;
 * - `stdio: "pipe"`: the kernel's own output is kept for `stderrTail` instead of the test log.
 * `env` adds to or overrides these; `opts` (timeouts, input…) go to `startKernel` as they are.
 */
export function startKernelIn(work: string, env: NodeJS.ProcessEnv = {}, opts: KernelClientOptions = {}): Promise<KernelClient> {
  return startKernel({
    cwd: work,
    stdio: "pipe",
    ...opts,
    env: {
      ...process.env,
      MLFLOW_TRACKING_URI: path.join(work, "mlruns"),
      TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool"),
      JPY_SESSION_NAME: "",
      ...env,
    },
  });
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

/** The contents of the messages of one type (`stream`, `display_data`, `error`…) among a request's outputs. */
export function contentsOf(outputs: Message[], msgType: string): Record<string, any>[] {
  return outputs.filter((m) => m.header.msg_type === msgType).map((m) => m.content as Record<string, any>);
}

/** All that a request's outputs wrote to stdout, in order. */
export function stdoutOf(outputs: Message[]): string {
  return contentsOf(outputs, "stream")
    .filter((c) => c.name === "stdout")
    .map((c) => c.text)
    .join("");
}
