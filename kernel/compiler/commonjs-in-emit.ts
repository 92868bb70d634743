// A cell's CommonJS written by its program's own emit, instead of tslab's second step.
//
// tslab's program emits an ES module, which it then turns into CommonJS with transpileModule:
// a second parse, a second program with its own type checker, a second emit and print. For a
// one-line cell that step was about a third of the conversion. Here the program's emit runs
// TypeScript's CommonJS module transform itself, after tslab's own transform (which rewrites
// the ES module: references to earlier cells' names, the last expression's variable), with
// the program's options (esModuleInterop, target, no "use strict"), and the second step hands
// back what it is given. The program's type checker, which checked the cell, answers the
// transform's questions (which imports are values, which names are exports).
// The output is tslab's but for where two shapes set their export: an enum's or a namespace's
// `exports.X = X` comes after its body instead of before, and a decorated class's after its
// decorators ran (test/kernel/commonjs-in-emit.test.ts).
import type * as TS from "@tslab/typescript-for-tslab";
import { COMMONJS_INPUT } from "./tslab-files.js";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

/** TypeScript's CommonJS transform (present at runtime, not in its typings). */
type Internals = { transformModule: TS.TransformerFactory<TS.SourceFile> };

/** Texts waiting for tslab's second step beyond which what failed conversions left is dropped. */
const MAX_WAITING = 16;

export function withCommonJsInEmit(ts: TypeScript): TypeScript {
  const { transformModule } = ts as unknown as Internals;
  /**
   * JavaScript the emit wrote as CommonJS already (by text, with how many times), until tslab's
   * second step asks for it: a module's within the emit, the cell's right after. What a failed
   * conversion left is dropped once more than a few are waiting.
   */
  const written = new Map<string, number>();
  const take = (text: string): boolean => {
    const n = written.get(text);
    if (n === undefined) return false;
    if (n > 1) written.set(text, n - 1);
    else written.delete(text);
    return true;
  };

  const inEmit = (builder: TS.BuilderProgram): TS.BuilderProgram => {
    const emit = builder.emit;
    builder.emit = (target, writeFile, cancellationToken, emitOnlyDts, transformers) => {
      // Only tslab's conversion passes transformers (its `after`): every emit it makes.
      if (!transformers || emitOnlyDts) return emit.call(builder, target, writeFile, cancellationToken, emitOnlyDts, transformers);
      if (written.size > MAX_WAITING) written.clear();
      // A file that is no module to TypeScript (a .js file of `exports.x = ...`) is left as it is
      // by the transform, yet tslab's own makes its last expression an `export`: that file
      // goes through tslab's second step as before.
      let converted = false;
      const commonJs: TS.TransformerFactory<TS.SourceFile> = (context) => {
        const transform = transformModule(context);
        return (file) => {
          const out = transform(file);
          converted = out !== file;
          return out;
        };
      };
      return emit.call(
        builder,
        target,
        writeFile &&
          ((name, text, ...more) => {
            if (name.endsWith(".js") && converted) written.set(text, (written.get(text) ?? 0) + 1);
            return writeFile(name, text, ...more);
          }),
        cancellationToken,
        emitOnlyDts,
        { ...transformers, after: [...(transformers.after ?? []), commonJs] },
      );
    };
    return builder;
  };

  const createWatchCompilerHost = (...args: unknown[]) => {
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHostOfFilesAndCompilerOptions<TS.BuilderProgram>)(
      ...args,
    );
    const createProgram = host.createProgram;
    host.createProgram = (...a) => inEmit(createProgram(...a));
    return host;
  };

  const transpileModule = (input: string, options: TS.TranspileOptions): TS.TranspileOutput => {
    if (options.fileName !== COMMONJS_INPUT || !take(input)) return ts.transpileModule(input, options);
    return { outputText: input, diagnostics: [] };
  };

  return withOverrides(ts, { createWatchCompilerHost, transpileModule });
}
