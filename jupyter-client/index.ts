// The frontend side of the Jupyter protocol, as the CLI, the tests and the benchmarks use it:
// start a kernel (ours or any kernelspec's), execute, interrupt, restart, shut down.
export * from "./client.js";
export { KernelProcess, type ExitInfo, type SpawnOptions } from "./kernel-process.js";
export { freePorts, newConnectionInfo, writeConnectionFile } from "./connection-file.js";
