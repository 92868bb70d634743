// The program tslab's converter keeps per cell, without TypeScript's builder state.
//
// tslab's converter runs TypeScript's watch program, which wraps each new program in an
// "emit and semantic diagnostics" builder. Creating that builder maps the references of
// every file in the program (lib and @types declarations included, and for each file a pass
// over every ambient module): about a fifth of a warm cell's conversion, paid again for
// every cell. The converter uses three things of a builder: its program, the emit of one
// file, and the .ts/.js files one file depends on. This builder offers those over the plain
// program and finds a file's dependencies from that file on, when asked, by the same rules.
import path from "node:path";
import type * as TS from "@tslab/typescript-for-tslab";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

/** What TypeScript keeps internally on a source file and module symbols (present at runtime, not in its typings). */
interface SourceFileInternals {
  resolvedPath: TS.Path;
  imports?: readonly TS.StringLiteralLike[];
  moduleAugmentations: readonly (TS.StringLiteral | TS.Identifier)[];
  resolvedTypeReferenceDirectiveNames?: {
    forEach(f: (r: { resolvedTypeReferenceDirective?: { resolvedFileName?: string } }) => void): void;
  };
}
interface Internals {
  toPath(file: string, base: string, canonical: (name: string) => string): TS.Path;
  BuilderState: BuilderStateApi;
}
type CheckerInternals = TS.TypeChecker & { getAmbientModules(): TS.Symbol[] };
interface BuilderStateApi {
  getAllDependencies(
    state: { referencedMap: { getValues(path: TS.Path): ReadonlySet<TS.Path> | undefined } },
    program: TS.Program,
    file: TS.SourceFile,
  ): readonly string[];
}

/** TypeScript with the watch program creating light builders (tslab passes no builder factory of its own). */
export function withLightBuilder(ts: TypeScript): TypeScript {
  const createWatchCompilerHost = (...args: unknown[]) => {
    args[3] ??= (...a: Parameters<TS.CreateProgram<TS.BuilderProgram>>) => lightBuilder(ts, ...a);
    return (ts.createWatchCompilerHost as (...a: unknown[]) => unknown)(...args);
  };
  return withOverrides(ts, { createWatchCompilerHost });
}

function lightBuilder(
  ts: TypeScript,
  rootNames: readonly string[] | undefined,
  options: TS.CompilerOptions | undefined,
  host: TS.CompilerHost | undefined,
  old: TS.BuilderProgram | undefined,
  configFileParsingDiagnostics?: readonly TS.Diagnostic[],
  projectReferences?: readonly TS.ProjectReference[],
): TS.BuilderProgram {
  const oldProgram = (old as { getProgramOrUndefined?(): TS.Program | undefined } | undefined)?.getProgramOrUndefined?.();
  // The watch program asks for a builder with no root names when only its diagnostics changed.
  const program =
    rootNames === undefined && oldProgram
      ? oldProgram
      : ts.createProgram({
          rootNames: rootNames ?? [],
          options: options ?? {},
          host,
          oldProgram,
          configFileParsingDiagnostics,
          projectReferences,
        });
  // Binds every file (sets the parent links completions walk), as TypeScript's builder does on creation.
  program.getTypeChecker();
  const references = new Map<TS.Path, ReadonlySet<TS.Path> | undefined>();
  let sharedAmbientFiles: TS.SourceFile[] | undefined;
  const canonical = (name: string) => (host?.getCanonicalFileName ?? ((n: string) => n))(name);
  const internals = ts as unknown as Internals;
  const toPath = (name: string, base: string) => internals.toPath(name, base, canonical);

  /** The files one file refers to: what its imports resolve to, its references and type references, the modules it augments, and every ambient module declared in more than one file. */
  const referencesOf = (filePath: TS.Path): ReadonlySet<TS.Path> | undefined => {
    if (references.has(filePath)) return references.get(filePath);
    const file = program.getSourceFileByPath(filePath) as (TS.SourceFile & SourceFileInternals) | undefined;
    let found: Set<TS.Path> | undefined;
    const add = (p: TS.Path) => (found ??= new Set()).add(p);
    const addDeclaringFiles = (symbol: TS.Symbol | undefined) => {
      for (const d of symbol?.declarations ?? []) {
        const declaring = d.getSourceFile() as TS.SourceFile & SourceFileInternals;
        if (declaring !== file) add(declaring.resolvedPath);
      }
    };
    // A declaration file is where the walk stops: tslab keeps only the .ts and .js files a cell
    // depends on (to check them with it and emit the modules its code requires), and no code
    // is ever required through a declaration file. TypeScript's builder walks on through every
    // .d.ts, which is most of the cost this module saves.
    if (file && !file.isDeclarationFile) {
      const checker = program.getTypeChecker() as CheckerInternals;
      for (const literal of file.imports ?? []) addDeclaringFiles(checker.getSymbolAtLocation(literal));
      const dir = path.posix.dirname(file.resolvedPath);
      for (const ref of file.referencedFiles)
        add(
          toPath(
            (program as TS.Program & { getProjectReferenceRedirect?(f: string): string | undefined }).getProjectReferenceRedirect?.(
              ref.fileName,
            ) ?? ref.fileName,
            dir,
          ),
        );
      file.resolvedTypeReferenceDirectiveNames?.forEach(({ resolvedTypeReferenceDirective: r }) => {
        if (r?.resolvedFileName) add(toPath(r.resolvedFileName, dir));
      });
      for (const name of file.moduleAugmentations) if (ts.isStringLiteral(name)) addDeclaringFiles(checker.getSymbolAtLocation(name));
      sharedAmbientFiles ??= checker
        .getAmbientModules()
        .filter((m) => (m.declarations?.length ?? 0) > 1)
        .flatMap((m) => m.declarations!.map((d) => d.getSourceFile()));
      for (const declaring of sharedAmbientFiles ?? [])
        if (declaring !== file) add((declaring as TS.SourceFile & SourceFileInternals).resolvedPath);
    }
    references.set(filePath, found);
    return found;
  };

  const builder = {
    getProgram: () => program,
    getProgramOrUndefined: () => program,
    releaseProgram: () => {},
    getCompilerOptions: () => program.getCompilerOptions(),
    getSourceFile: (name: string) => program.getSourceFile(name),
    getSourceFiles: () => program.getSourceFiles(),
    getOptionsDiagnostics: (token?: TS.CancellationToken) => program.getOptionsDiagnostics(token),
    getGlobalDiagnostics: (token?: TS.CancellationToken) => program.getGlobalDiagnostics(token),
    getConfigFileParsingDiagnostics: () => program.getConfigFileParsingDiagnostics(),
    getSyntacticDiagnostics: (file?: TS.SourceFile, token?: TS.CancellationToken) => program.getSyntacticDiagnostics(file, token),
    getDeclarationDiagnostics: (file?: TS.SourceFile, token?: TS.CancellationToken) => program.getDeclarationDiagnostics(file, token),
    getSemanticDiagnostics: (file?: TS.SourceFile, token?: TS.CancellationToken) => program.getSemanticDiagnostics(file, token),
    getAllDependencies: (file: TS.SourceFile) =>
      internals.BuilderState.getAllDependencies({ referencedMap: { getValues: referencesOf } }, program, file),
    emit: (
      target?: TS.SourceFile,
      writeFile?: TS.WriteFileCallback,
      token?: TS.CancellationToken,
      emitOnlyDts?: boolean,
      transformers?: TS.CustomTransformers,
    ) => program.emit(target, writeFile, token, emitOnlyDts, transformers),
    getCurrentDirectory: () => program.getCurrentDirectory(),
  };
  return builder as unknown as TS.BuilderProgram;
}
