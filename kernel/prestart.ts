// Imported first by the kernel's entry points (kernel/main.ts, `tslab-mlflow kernel`):
// when this process is a kernel (it was given a connection file), the compiler starts now,
// while the rest of the kernel's modules load, instead of after them. Other commands do not
// even load the compiler's module.
const args = process.argv.slice(2);
const command = args[0] === "kernel" || args[0]?.startsWith("-"); // `main.js kernel ...` or `kernel/main.js -f ...`
const connectionFile = args.some((a) => a === "--connection-file" || a === "-f" || a.startsWith("--connection-file="));
if (command && connectionFile) (await import("./compiler/index.js")).prestartCompiler();

export {};
