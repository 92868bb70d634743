#!/usr/bin/env node
// The `tslab-mlflow` command. As a kernel (`tslab-mlflow kernel --connection-file F`, how
// Jupyter starts us) it goes straight to the kernel's start path, without the command-line
// machinery (commander and every subcommand's options): from the kernel bundle when it is
// current (cli/kernel-bundle.ts), else module by module from dist/. Any other argv, and a
// `kernel` argv with anything more or less, goes to commander (program.ts), as always.
import { currentKernelBundle } from "./kernel-bundle.js";
import { exitOnError } from "./exit-on-error.js";

/** The connection file of argv `kernel --connection-file F` or `kernel --connection-file=F`, exactly; else undefined. */
function kernelConnectionFile(args: string[]): string | undefined {
  if (args[0] !== "kernel") return undefined;
  if (args.length === 3 && args[1] === "--connection-file" && args[2] !== "" && !args[2].startsWith("-")) return args[2];
  const prefix = "--connection-file=";
  if (args.length === 2 && args[1].startsWith(prefix) && args[1].length > prefix.length) return args[1].slice(prefix.length);
  return undefined;
}

const connectionFile = kernelConnectionFile(process.argv.slice(2));
if (connectionFile !== undefined) {
  // The start path's first module starts the compiler while the rest loads (kernel/prestart.ts).
  const { runKernel }: typeof import("./kernel-start.js") = await import(currentKernelBundle() ?? "./kernel-start.js");
  await runKernel(connectionFile).catch(exitOnError);
} else {
  await import("../kernel/prestart.js"); // a kernel argv commander reads otherwise still starts the compiler early
  const { main } = await import("./program.js");
  await main();
}
