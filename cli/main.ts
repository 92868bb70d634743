#!/usr/bin/env node
// The `tslab-mlflow` command. Only the compiler prestart is imported statically: as a kernel
// (`tslab-mlflow kernel --connection-file F`, how Jupyter starts us) the TypeScript compiler,
// the slowest part of a kernel start, begins before the command-line machinery loads.
import "../kernel/prestart.js";
import { kernelspecConnectionFile } from "./kernel.js";

// As the kernelspec starts a kernel: straight to it, without the command-line parser.
const connectionFile = kernelspecConnectionFile(process.argv.slice(2));
if (connectionFile !== undefined) await (await import("./kernel.js")).runKernel(connectionFile);

const { main } = await import("./program.js");
await main();
