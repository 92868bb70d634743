// tslab's converter module loaded afresh with a TypeScript of the test's choosing (the
// compiler's TypeScript layers are checked against the converter left as it is).
import { createRequire } from "node:module";

export type ConverterModule = typeof import("tslab/dist/converter.js");
export type TypeScript = typeof import("@tslab/typescript-for-tslab");
export type Converter = ReturnType<ConverterModule["createConverter"]>;

const require = createRequire(import.meta.url);
const converterPath = require.resolve("tslab/dist/converter.js");
const tsPath = createRequire(converterPath).resolve("@tslab/typescript-for-tslab");

/** The TypeScript tslab loads. */
export const ts = require(tsPath) as TypeScript;

/** A fresh instance of tslab's converter module, seeing `tsForTslab` as its TypeScript. */
export function loadConverter(tsForTslab: TypeScript): ConverterModule {
  delete require.cache[converterPath];
  require.cache[tsPath]!.exports = tsForTslab;
  try {
    return require(converterPath) as ConverterModule;
  } finally {
    require.cache[tsPath]!.exports = ts;
  }
}
