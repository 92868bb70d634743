// Entry of a V8 startup snapshot of the TypeScript compiler (`node --build-snapshot`).
//
// Building tslab's converter spends ~1.5 s loading TypeScript and parsing and binding the
// same declaration files every kernel start (lib.es2022*.d.ts and every @types package the
// project sees; @types/node alone is 2.4 MB). Built once per set of those files (see
// cache.ts), the snapshot holds TypeScript already loaded and those files already
// parsed and bound; a process started from it hands them to tslab's program instead of
// reading them again, and then serves the kernel like the worker does (service.ts).
//
// Only built-in modules may be required while a snapshot is built: TypeScript is evaluated
// from its file, and tslab and our own modules are loaded after the snapshot is restored.
// Plain require() calls (no import statements): this file must compile to a script
// without `exports`, which a snapshot entry does not have.
const fs: typeof import("node:fs") = require("node:fs");
const path: typeof import("node:path") = require("node:path");
const v8: typeof import("node:v8") = require("node:v8");
const vm: typeof import("node:vm") = require("node:vm");
const Module: typeof import("node:module") = require("node:module");
type TypeScript = typeof import("typescript");
declare namespace TS {
  type SourceFile = import("typescript").SourceFile;
  type CompilerOptions = import("typescript").CompilerOptions;
}
/** A parsed, bound declaration file and the file state it was read from. */
interface CachedFile {
  sourceFile: TS.SourceFile;
  mtimeMs: number;
  size: number;
}

interface BuildInputs {
  /** tslab's TypeScript (lib/typescript.js of @tslab/typescript-for-tslab). */
  typescriptFile: string;
  /** tslab's package folder (its converter, and the @types it falls back to). */
  tslabDir: string;
  /** file: URL of service.js. */
  serviceUrl: string;
}

function buildInputs(): BuildInputs {
  const {
    TSLAB_MLFLOW_SNAPSHOT_TS: typescriptFile,
    TSLAB_MLFLOW_SNAPSHOT_TSLAB: tslabDir,
    TSLAB_MLFLOW_SNAPSHOT_SERVICE: serviceUrl,
  } = process.env;
  if (!typescriptFile || !tslabDir || !serviceUrl)
    throw new Error("compiler snapshot: TSLAB_MLFLOW_SNAPSHOT_TS, _TSLAB and _SERVICE must be set");
  return { typescriptFile, tslabDir, serviceUrl };
}

/**
 * TypeScript's source as V8 should keep it. The source stays in the heap (V8 compiles
 * functions from it when first called), so it is in every snapshot. A single character
 * above U+00FF makes V8 store all 8 MB of it two bytes per character (five of them, in
 * comments, did so in tslab's TypeScript 5.x): written as `\uXXXX` escapes, which mean the
 * same character in a comment, string, template, regular expression or identifier, the
 * source stays one byte per character, the blob 8 MB smaller and its restore ~18% cheaper.
 */
function oneByteSource(text: string): string {
  // An odd run of backslashes before the character ends in one that escapes it (`\’` is `’`):
  // that one gives way to the `\u` escape; an even run is escaped backslashes and stays.
  // (A replace keeps its subject's two-byte form: the round trip through latin1 makes it one-byte.)
  const escaped = text.replace(
    /(\\*)([^\u0000-\u00ff])/g,
    (_, slashes: string, c: string) =>
      `${slashes.slice(0, slashes.length - (slashes.length % 2))}\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return Buffer.from(escaped, "latin1").toString("latin1");
}

/** Evaluates TypeScript's CommonJS file with the built-in `require` (its optional userland requires fail softly). */
function loadTypeScript(file: string): TypeScript {
  const module = { exports: {} as TypeScript };
  const body = new Function("exports", "require", "module", "__filename", "__dirname", oneByteSource(fs.readFileSync(file, "utf8")));
  body.call(module.exports, module.exports, require, module, file, path.dirname(file));
  return module.exports;
}

/**
 * The compiler options tslab's converter gives its program (as of tslab 1.0.22 on Node >= 18),
 * so declaration files parse exactly as they will there. A difference costs cache hits, not
 * correctness: a cached file is used only for the same name, language version and module format.
 */
function tslabProgramOptions(ts: TypeScript, cwd: string, tslabDir: string): TS.CompilerOptions {
  // Public in tslab's TypeScript fork (tslab calls it), internal in TypeScript's own typings.
  const defaultTypeRoots = (
    ts as unknown as { getDefaultTypeRoots(dir: string, host: { directoryExists(p: string): boolean }): string[] | undefined }
  ).getDefaultTypeRoots;
  const typeRoots = defaultTypeRoots(cwd, { directoryExists: ts.sys.directoryExists }) ?? [];
  if (!typeRoots.some((root) => fs.existsSync(path.join(root, "node", "package.json")))) {
    typeRoots.push(path.join(tslabDir, "node_modules", "@types"));
  }
  return {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    declaration: true,
    newLine: ts.NewLineKind.LineFeed,
    experimentalDecorators: true,
    resolveJsonModule: true,
    jsx: ts.JsxEmit.React,
    typeRoots,
    allowJs: true,
    checkJs: true,
    skipLibCheck: true,
    rootDir: cwd,
    outDir: "outDir",
  };
}

/** Parses and binds every declaration file a cell's program loads in `cwd`, and warms the checker and emitter. */
function prepareDeclarationFiles(ts: TypeScript, cwd: string, tslabDir: string): Map<string, CachedFile> {
  const options = tslabProgramOptions(ts, cwd, tslabDir);
  const cell = path.join(cwd, "__tslab__.ts");
  const previous = path.join(cwd, "__prev__.d.ts");
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile;
  const files = new Map<string, CachedFile>();
  host.getSourceFile = (fileName, languageVersion, onError, fresh) => {
    if (fileName === cell)
      return ts.createSourceFile(fileName, "export {};\nconst x: number[] = [1].map((v) => v * 2);\nx", languageVersion);
    if (fileName === previous) return ts.createSourceFile(fileName, "export {};\n", languageVersion);
    const sourceFile = read.call(host, fileName, languageVersion, onError, fresh);
    if (sourceFile) {
      const stat = fs.statSync(fileName);
      // Builder programs (tslab's watch program) need a version per file.
      (sourceFile as { version?: string }).version = ts.sys.createHash?.(sourceFile.text) ?? `${stat.size}-${stat.mtimeMs}`;
      files.set(fileName, { sourceFile, mtimeMs: stat.mtimeMs, size: stat.size });
    }
    return sourceFile;
  };
  const program = ts.createProgram([previous, cell], options, host);
  const cellFile = program.getSourceFile(cell);
  program.getSemanticDiagnostics(cellFile);
  program.emit(cellFile, () => {});
  return files;
}

/**
 * After restore: make `require` of tslab's TypeScript return ours, serve the kernel. (A file
 * changed since the build is read again when a program first asks for it: declaration-cache.ts.)
 */
async function serveFromSnapshot(ts: TypeScript, files: Map<string, CachedFile>, inputs: BuildInputs): Promise<void> {
  // TypeScript memoises the working directory on first use, which was during the build;
  // this process may serve another directory of the same project.
  const cwd = process.cwd();
  ts.sys.getCurrentDirectory = () => cwd;
  const tsModule = new Module(inputs.typescriptFile);
  Object.assign(tsModule, { filename: inputs.typescriptFile, loaded: true, exports: ts });
  // (This script's own require, a snapshot entry's, loads built-in modules only.)
  Module.createRequire(inputs.typescriptFile).cache[inputs.typescriptFile] = tsModule;

  // Ctrl-C in a terminal reaches the whole process group: it is for the kernel, not us.
  process.on("SIGINT", () => {});
  const script = new vm.Script(`import(${JSON.stringify(inputs.serviceUrl)})`, {
    importModuleDynamically: (vm as unknown as { constants: { USE_MAIN_CONTEXT_DEFAULT_LOADER: never } }).constants
      .USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const service = (await script.runInThisContext()) as typeof import("./service.js");
  // A shared compiler service (shared-service.ts) listens for kernels; otherwise the kernel's
  // end of the channel is our fd 3 (process.ts). Either serves the files from its cache of
  // declaration files (declaration-cache.ts).
  // (Parsed by the same TypeScript; typed from two copies of its declarations.)
  const parsed = files as unknown as Parameters<typeof service.serveShared>[0];
  if (process.env.TSLAB_MLFLOW_COMPILER_LISTEN) await service.serveShared(parsed);
  else service.serveOnChannel(3, parsed);
}

if (v8.startupSnapshot?.isBuildingSnapshot()) {
  const inputs = buildInputs();
  const ts = loadTypeScript(inputs.typescriptFile);
  const files = prepareDeclarationFiles(ts, process.cwd(), inputs.tslabDir);
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    serveFromSnapshot(ts, files, inputs).catch((e) => {
      process.stderr.write(`compiler snapshot: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    });
  });
}
