// The V8 flags every compiler process runs with (a shared service, cold or from a snapshot; a
// process started from a snapshot; a snapshot's build), in one place: a snapshot loads only
// under the flags it was built with, and V8 refuses a code cache made under other flags, so the
// build makes TypeScript's code cache under these too (see typescript-code-cache.ts).
//
// A young generation of fixed size, twice V8's largest default: a cell's conversion leaves
// several MB of checker behind, and with the default a young collection came every other cell,
// each copying the live half of a conversion. Measured with kernels fed 30-line function cells
// back to back: the service's conversions 19.6-19.9 ms with the default, 16.7-17.5 ms with this
// (64 MB: no better); in process, 13.1 against 10.7 ms (medians of 100 after warm-up). A cold
// converter (parsing every declaration file) is made as fast either way: 648-724 ms against
// 638-708 ms. It once looked 0.15 s slower, when the code cache it loaded was made without them.
export const COMPILER_V8_FLAGS: readonly string[] = ["--min-semi-space-size=32", "--max-semi-space-size=32"];

/** Whether this process (or worker) runs with the compiler processes' V8 flags. */
export function hasCompilerV8Flags(execArgv: readonly string[] = process.execArgv): boolean {
  return COMPILER_V8_FLAGS.every((f) => execArgv.includes(f));
}
