// Minimal entry: `node dist/kernel/main.js --connection-file F` (or `-f F`).
// The `tslab-mlflow kernel` command does the same with extensions loaded.
import { connectionFileArg } from "./prestart.js"; // first: starts the compiler and control thread while the rest loads
import { startKernel } from "./index.js";

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
