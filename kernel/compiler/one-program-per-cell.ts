// One TypeScript program per cell instead of tslab's two.
//
// tslab's converter builds a cell's program, reads the names the cell declares from it,
// then builds it again with `export { those names }` appended: two program builds (each
// with a fresh type checker and builder state over every declaration file) for almost
// every cell. Here the names are found up front by binding the cell alone, and tslab's
// first read of the cell is answered with the final text, so its second build has nothing
// new to read: it keeps the program the first made. (The watch program would find that
// program up to date by itself only when it read every file itself; with declaration files
// served from a cache (snapshot.cts, declaration-cache.ts) it does not know their versions
// and builds again, a second program and type checker per cell.) Should the names found
// differ from tslab's, its second build simply happens as before: the result never depends
// on this.
import type * as TS from "@tslab/typescript-for-tslab";
import { CELL_FILE } from "./tslab-files.js";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

export interface CellPrograms {
  /** TypeScript as tslab's converter should load it. */
  ts: TypeScript;
  /**
   * Runs tslab's conversion of `src` (`convert`) with its first program built from the final
   * text; `convert` is given the cell as parsed (and bound) here to find its names, for other
   * passes over the cell's source.
   */
  converting<T>(src: string, convert: (cell: TS.SourceFile) => T): T;
}

/** tslab logs this when a cell's second build keeps the program, which is the point here. */
const UP_TO_DATE_WARNING = "builder is not recreated though contents are changed.";

/** A build of the cell being converted: the program it made and the root files' texts it read. */
interface Build {
  program: TS.BuilderProgram;
  texts: string[];
}

export function oneProgramPerCell(ts: TypeScript): CellPrograms {
  /** The cell text tslab will read first, the text it ends up compiling, and the conversion's first build. */
  let pending: { first: string; final: string; built?: Build } | undefined;

  const createWatchCompilerHost = (...args: unknown[]) => {
    const system = args[2] as TS.System;
    const reading = Object.create(system) as TS.System;
    reading.readFile = (file, encoding) => {
      const text = system.readFile(file, encoding);
      return pending && text === pending.first && CELL_FILE.test(file) ? pending.final : text;
    };
    args[2] = reading;
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHost<TS.BuilderProgram>)(...args);
    const createProgram = host.createProgram;
    host.createProgram = (rootNames, options, compilerHost, old, ...rest) => {
      // Only builds during a conversion are compared (not those of completions, inspections or re-resolution).
      if (!pending) return createProgram(rootNames, options, compilerHost, old, ...rest);
      const texts = (rootNames ?? []).map((name) => reading.readFile(name) ?? "");
      const built = pending.built;
      // tslab's second build of the cell: the same root files, read as the first build read them.
      if (built && old === built.program && texts.length === built.texts.length && texts.every((t, i) => t === built.texts[i])) {
        return old;
      }
      const program = createProgram(rootNames, options, compilerHost, old, ...rest);
      pending.built ??= { program, texts };
      return program;
    };
    return host;
  };
  /** The cell's text as tslab writes it, and with its top-level names exported as tslab appends them. */
  const texts = (src: string) => {
    const first = `export {};${ts.sys.newLine}${src}`;
    const file = ts.createSourceFile("__tslab__.ts", first, ts.ScriptTarget.ES2022);
    // Internal in TypeScript's typings, public at runtime: binding fills `locals` as the program would.
    (ts as unknown as { bindSourceFile(f: TS.SourceFile, o: TS.CompilerOptions): void }).bindSourceFile(file, {});
    const names = [...((file as unknown as { locals?: Map<string, unknown> }).locals?.keys() ?? [])];
    return { first, final: names.length ? `${first}\nexport {${names.join(", ")}}` : first, file };
  };

  return {
    ts: withOverrides(ts, { createWatchCompilerHost }),
    converting(src, convert) {
      const next = texts(src);
      if (next.final === next.first) return convert(next.file);
      const warn = console.warn;
      console.warn = (...data: unknown[]) => {
        if (data[0] !== UP_TO_DATE_WARNING) warn(...data);
      };
      pending = { first: next.first, final: next.final };
      try {
        return convert(next.file);
      } finally {
        pending = undefined;
        console.warn = warn;
      }
    },
  };
}
