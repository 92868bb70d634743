// tslab's second step (its program's ES module output turned into CommonJS by transpileModule)
// without type-checking that JavaScript.
//
// transpileModule makes a program of the one file, and its emit asks the checker for an emit
// resolver, which first checks the whole file: diagnostics nobody reads, ~2 ms of a 30-line
// cell's conversion (and again for each local module). These are transpileModule's own steps,
// with the file marked as a default library's (`hasNoDefaultLib`), which the checker skips
// under `skipDefaultLibCheck`; what the emit asks of the resolver it answers lazily. Output and
// source map are TypeScript's own, byte for byte (test/kernel/unchecked-transpile.test.ts).
import type * as TS from "@tslab/typescript-for-tslab";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

/** Members of TypeScript's module object that its typings leave out. */
interface Internals {
  transpileOptionValueCompilerOptions: readonly { name: string; transpileOptionValue: unknown }[];
  getSetExternalModuleIndicator(options: TS.CompilerOptions): (file: TS.SourceFile) => void;
  getEmitScriptTarget(options: TS.CompilerOptions): TS.ScriptTarget;
  getNewLineCharacter(options: TS.CompilerOptions): string;
}

/** What tslab's CommonJS step asks for: anything else goes to TypeScript's own transpileModule. */
function isTslabsStep(options: TS.TranspileOptions): boolean {
  const given = options.compilerOptions ?? {};
  return (
    options.fileName === "custom.js" &&
    !options.reportDiagnostics &&
    !options.moduleName &&
    !options.renamedDependencies &&
    !options.transformers &&
    !given.verbatimModuleSyntax &&
    // Options named by strings are converted (and checked) by transpileModule.
    Object.values(given).every((v) => typeof v !== "string")
  );
}

export function withUncheckedTranspile(ts: TypeScript): TypeScript {
  const internals = ts as unknown as Internals;

  const transpileModule = (input: string, transpileOptions: TS.TranspileOptions): TS.TranspileOutput => {
    if (!isTslabsStep(transpileOptions)) return ts.transpileModule(input, transpileOptions);
    const options: TS.CompilerOptions = { ...transpileOptions.compilerOptions };
    for (const [key, value] of Object.entries(ts.getDefaultCompilerOptions())) if (options[key] === undefined) options[key] = value;
    for (const o of internals.transpileOptionValueCompilerOptions) options[o.name] = o.transpileOptionValue as TS.CompilerOptionsValue;
    Object.assign(options, { suppressOutputPathCheck: true, allowNonTsExtensions: true, skipDefaultLibCheck: true });

    const fileName = transpileOptions.fileName as string;
    const newLine = internals.getNewLineCharacter(options);
    let outputText: string | undefined;
    let sourceMapText: string | undefined;
    const host: TS.CompilerHost = {
      getSourceFile: (name) => (name === fileName ? sourceFile : undefined),
      writeFile: (name, text) => {
        if (name.endsWith(".map")) sourceMapText = text;
        else outputText = text;
      },
      getDefaultLibFileName: () => "lib.d.ts",
      useCaseSensitiveFileNames: () => false,
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => "",
      getNewLine: () => newLine,
      fileExists: (name) => name === fileName,
      readFile: () => "",
      directoryExists: () => true,
      getDirectories: () => [],
    };
    const sourceFile = ts.createSourceFile(fileName, input, {
      languageVersion: internals.getEmitScriptTarget(options),
      impliedNodeFormat: ts.getImpliedNodeFormatForFile(fileName as TS.Path, undefined, host, options),
      setExternalModuleIndicator: internals.getSetExternalModuleIndicator(options),
    });
    // Read by the checker's skip rule only: the file references no library either way (noLib).
    (sourceFile as { hasNoDefaultLib: boolean }).hasNoDefaultLib = true;
    ts.createProgram([fileName], options, host).emit();
    if (outputText === undefined) throw new Error(`transpiling ${fileName} wrote no output`);
    return { outputText, diagnostics: [], sourceMapText };
  };

  return withOverrides(ts, { transpileModule });
}
