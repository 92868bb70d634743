// Source maps from a cell's JavaScript (and a local module's it imports) back to the
// TypeScript the user wrote, so runtime tracebacks can name their lines
// (kernel/cell-positions.ts reads them).
//
// tslab compiles in two steps, neither with source maps: its program emits an ES module,
// which it then turns into CommonJS with transpileModule. Given TypeScript through this
// module, both steps also write a map, captured per conversion: `typescript` maps the emitted
// JavaScript to its source (a cell's is "export {};\n" + the cell), `commonjs` maps the
// CommonJS output to that. Where the emit writes CommonJS itself (commonjs-in-emit.ts), the
// second step hands the text back without a map, and `typescript` maps the output alone.
import path from "node:path";
import type * as TS from "@tslab/typescript-for-tslab";
import { CELL_JS, COMMONJS_INPUT } from "./tslab-files.js";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

export interface CellSourceMaps {
  typescript: string;
  /** Absent when the emit wrote the CommonJS output itself. */
  commonjs?: string;
}

export interface SourceMapping {
  /** TypeScript as tslab's converter should load it. */
  ts: TypeScript;
  /**
   * Runs a conversion (`convert`) and returns its result with the maps of the cell's output
   * and of each local module's emitted with it (by the path tslab gives that module's output).
   */
  capturing<T>(convert: () => T): { result: T; maps?: CellSourceMaps; moduleMaps: Record<string, CellSourceMaps> };
}

/** The comments the maps add at the end of the code: nothing reads them. */
const MAP_COMMENTS = /^\/\/# sourceMappingURL=.*(\n|$)/gm;

/** What one conversion wrote: each emitted ES module and its map by file name, each CommonJS map by its input. */
interface Capture {
  emitted: Map<string, { esModule?: string; typescript?: string }>;
  commonjs: Map<string, string>;
  /** Emitted JavaScript the CommonJS step handed back as it was (already CommonJS). */
  asWritten: Set<string>;
  /** tslab's outDir (where modules are emitted) and rootDir (the notebook's folder), of the converter that emitted. */
  dirs: Dirs;
}
type Dirs = { outDir: string; rootDir: string };

export function cellSourceMaps(ts: TypeScript): SourceMapping {
  let capture: Capture | undefined;

  /** The program's emit also hands each emitted ES module (the cell's, local modules') and its map to `capture`. */
  const capturingEmit = (builder: TS.BuilderProgram, dirs: Dirs): TS.BuilderProgram => {
    const emit = builder.emit;
    builder.emit = (target, writeFile, ...rest) =>
      emit.call(
        builder,
        target,
        writeFile &&
          ((name, text, ...more) => {
            if (capture && (name.endsWith(".js") || name.endsWith(".js.map"))) {
              capture.dirs = dirs;
              const js = name.replace(/\.map$/, "");
              const file = capture.emitted.get(js) ?? {};
              if (name === js) file.esModule = text;
              else file.typescript = text;
              capture.emitted.set(js, file);
            }
            return writeFile(name, text, ...more);
          }),
        ...rest,
      );
    return builder;
  };

  // Per converter (a shared compiler service holds one per kernel, each in its own folder).
  const createWatchCompilerHost = (...args: unknown[]) => {
    const options = args[1] as TS.CompilerOptions;
    const dirs: Dirs = { outDir: options.outDir ?? "", rootDir: options.rootDir ?? "" };
    args[1] = { ...options, sourceMap: true };
    const host = (ts.createWatchCompilerHost as (...a: unknown[]) => TS.WatchCompilerHostOfFilesAndCompilerOptions<TS.BuilderProgram>)(
      ...args,
    );
    const createProgram = host.createProgram;
    host.createProgram = (...a) => capturingEmit(createProgram(...a), dirs);
    return host;
  };

  const transpileModule = (input: string, options: TS.TranspileOptions): TS.TranspileOutput => {
    if (!capture || options.fileName !== COMMONJS_INPUT) return ts.transpileModule(input, options);
    const out = ts.transpileModule(input, { ...options, compilerOptions: { ...options.compilerOptions, sourceMap: true } });
    if (out.sourceMapText) capture.commonjs.set(input, out.sourceMapText);
    else if (out.outputText === input) capture.asWritten.add(input);
    return { ...out, outputText: out.outputText.replace(MAP_COMMENTS, "") };
  };

  return {
    ts: withOverrides(ts, { createWatchCompilerHost, transpileModule }),
    capturing(convert) {
      const current: Capture = { emitted: new Map(), commonjs: new Map(), asWritten: new Set(), dirs: { outDir: "", rootDir: "" } };
      capture = current;
      try {
        const result = convert();
        let maps: CellSourceMaps | undefined;
        const moduleMaps: Record<string, CellSourceMaps> = {};
        for (const [js, { esModule, typescript }] of current.emitted) {
          if (!typescript || esModule === undefined) continue;
          const commonjs = current.commonjs.get(esModule);
          if (!commonjs && !current.asWritten.has(esModule)) continue;
          const found = commonjs ? { typescript, commonjs } : { typescript };
          // tslab runs a module's output as <rootDir>/<its path below outDir>.
          if (CELL_JS.test(js)) maps = found;
          else moduleMaps[path.join(current.dirs.rootDir, path.relative(current.dirs.outDir, js))] = found;
        }
        return { result, maps, moduleMaps };
      } finally {
        capture = undefined;
      }
    },
  };
}
