// Minimal entry: `node dist/kernel/main.js --connection-file F` (or `-f F`).
// The `tslab-mlflow kernel` command does the same with extensions loaded.
import "./prestart.js"; // first: starts the compiler while the rest loads
import { startKernel } from "./index.js";

function connectionFileArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--connection-file" || a === "-f") return argv[i + 1];
    if (a.startsWith("--connection-file=")) return a.slice("--connection-file=".length);
  }
  return undefined;
}

const file = connectionFileArg(process.argv.slice(2));
if (!file) {
  process.stderr.write("usage: node dist/kernel/main.js --connection-file FILE\n");
  process.exit(2);
}
try {
  const kernel = await startKernel({ connectionFile: file });
  await kernel.exited;
  process.exit(0);
} catch (e) {
  process.stderr.write(`tslab-mlflow kernel: ${(e as Error).message}\n`);
  process.exit(1);
}
