// Test helpers: spawn the compiled kernel (dist/kernel/main.js, no extensions)
// with the project's KernelClient, and pick outputs out of an execute result.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KernelClient, type ExecuteResult, type KernelClientOptions } from "../../jupyter-client/index.js";
import type { Message } from "../../protocol/messages.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const KERNEL_ENTRY = path.join(ROOT, "dist", "kernel", "main.js");

/** A kernel of our own, started in `cwd` (a fresh temp dir by default). */
export async function startTestKernel(opts: KernelClientOptions & { entry?: string[] } = {}): Promise<KernelClient> {
  const cwd = opts.cwd ?? tempDir();
  return KernelClient.start({
    argv: opts.entry ?? [process.execPath, KERNEL_ENTRY, "--connection-file", "{connection_file}"],
    interruptMode: "message",
    stdio: "pipe",
    startTimeout: 60_000,
    ...opts,
    cwd,
  });
}

export function tempDir(prefix = "tslab-mlflow-kernel-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Installs a package `name` in `dir`/node_modules, as `npm install` would (JavaScript and its declarations): `greet(who)`. */
export function installGreetPackage(dir: string, name: string): void {
  const pkg = path.join(dir, "node_modules", name);
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name, version: "1.0.0", main: "index.js", types: "index.d.ts" }));
  fs.writeFileSync(path.join(pkg, "index.js"), "exports.greet = (who) => 'hello ' + who;\n");
  fs.writeFileSync(path.join(pkg, "index.d.ts"), "export declare function greet(who: string): string;\n");
}

export function ofType(r: ExecuteResult, type: string): Message[] {
  return r.outputs.filter((m) => m.header.msg_type === type);
}

export function stdout(r: ExecuteResult): string {
  return ofType(r, "stream")
    .filter((m) => m.content.name === "stdout")
    .map((m) => m.content.text)
    .join("");
}

export function resultText(r: ExecuteResult): string | undefined {
  const m = ofType(r, "execute_result")[0];
  return m ? ((m.content.data as Record<string, unknown>)["text/plain"] as string) : undefined;
}
