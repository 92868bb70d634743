#!/usr/bin/env node
// The `tslab-mlflow` command. Only the compiler prestart is imported statically: as a kernel
// (`tslab-mlflow kernel --connection-file F`, how Jupyter starts us) the TypeScript compiler,
// the slowest part of a kernel start, begins before the command-line machinery loads.
import "../kernel/prestart.js";

const { main } = await import("./program.js");
await main();
