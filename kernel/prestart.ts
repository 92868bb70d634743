// Imported first by the kernel's entry points (kernel/main.ts, `tslab-mlflow kernel`): when
// this process is a kernel (it was given a connection file), the two slow starters begin now,
// while the rest of the kernel's modules load, instead of after them: the TypeScript compiler,
// and the control thread (its worker boot). Other commands load neither.
import fs from "node:fs";
import { endpoint, parseConnection } from "../protocol/connection.js";
import { prestartControlThread } from "./control-thread.js";

const args = process.argv.slice(2);
const command = args[0] === "kernel" || args[0]?.startsWith("-"); // `main.js kernel ...` or `kernel/main.js -f ...`
const connectionFile = command ? connectionFileArg(args) : undefined;
if (connectionFile !== undefined) {
  (await import("./compiler/index.js")).prestartCompiler();
  startControlThread(connectionFile);
}

/** The connection file named by `--connection-file F`, `--connection-file=F` or `-f F`. */
export function connectionFileArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--connection-file" || a === "-f") return argv[i + 1];
    if (a.startsWith("--connection-file=")) return a.slice("--connection-file=".length);
  }
  return undefined;
}

/** Errors are left to the kernel's own start, which reads the file again and reports them. */
function startControlThread(file: string): void {
  try {
    const info = parseConnection(JSON.parse(fs.readFileSync(file, "utf8")));
    prestartControlThread({ control: endpoint(info, "control"), hb: endpoint(info, "hb"), key: info.key });
  } catch {
    // unreadable or invalid: startKernel says so
  }
}
