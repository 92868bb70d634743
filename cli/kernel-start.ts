// The start path of `tslab-mlflow kernel`, apart from the command-line machinery: main.ts
// loads it for the kernel's argv, and it is the entry of the kernel bundle (build/kernel-bundle.mjs),
// which puts this module and everything it imports into a few files.
import "../kernel/prestart.js"; // first: starts the compiler while the rest loads
export { runKernel } from "./kernel.js";
