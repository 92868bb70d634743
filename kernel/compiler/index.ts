// The compiler's seam, all the rest of the kernel (and the CLI) sees of it: the `Compiler`
// client and what it returns (`Converted`, with its source maps), starting one ahead of the
// kernel (`prestartCompiler`, then `adoptCompiler`), and handing one to a kernel about to be
// spawned (`compilerForKernel`), and building a project's warm snapshot ahead of its first kernel
// (`prepareSnapshot`, at install). Everything else in this folder is how the compiler works.
export {
  Compiler,
  adoptCompiler,
  prestartCompiler,
  type Completions,
  type Converted,
  type ConvertResult,
  type Diagnostic,
  type QuickInfo,
} from "./compiler.js";
export { compilerForKernel, type CompilerHandOver } from "./process.js";
export { prepareSnapshot } from "./cache.js";
export type { CellSourceMaps } from "./cell-source-maps.js";
