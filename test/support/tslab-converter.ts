// tslab's converter module loaded afresh with a TypeScript of the test's choosing (the
// compiler's TypeScript layers are checked against the converter left as it is).
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";

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

/**
 * tslab's converter as it is and given `layered` TypeScript, both for a fresh folder holding
 * `files` (tslab takes the folder from the process's): closed, and the folder left, when the
 * test ends.
 */
export function convertersSideBySide(layered: TypeScript, files: Record<string, string> = {}): { asIs: Converter; layered: Converter } {
  const before = process.cwd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-converter-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  process.chdir(dir);
  const converters = {
    asIs: loadConverter(ts).createConverter({ isJS: false, isBrowser: false }),
    layered: loadConverter(layered).createConverter({ isJS: false, isBrowser: false }),
  };
  onTestFinished(() => {
    converters.asIs.close();
    converters.layered.close();
    process.chdir(before);
  });
  return converters;
}
