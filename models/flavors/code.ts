// The models-from-code flavour (`typescript_function`), our analog of MLflow's `PythonModel`
// logged from code: a `.ts` file whose default export has `predict(input, params?)` and an
// optional `loadContext(context)` that receives the logged artifacts. The file and the local
// modules it imports are bundled with esbuild into the model folder (npm packages stay
// imports, recorded with their versions), so loading needs only the folder and those packages.

import { cp, mkdir, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, extname, join, resolve } from "node:path";
import { runInThisContext } from "node:vm";
import { MlflowError, invalidParameter, notFound } from "../../tracking/index.js";
import { packageName } from "../environment.js";

export const CODE_FLAVOR = "typescript_function";
const BUNDLE = "code/model.cjs";

/** What `loadContext` receives: each logged artifact's local path, by the name it was logged under. */
export interface ModelContext {
  artifacts: Record<string, string>;
}

/** The contract of a model-from-code file's default export. */
export interface CodeModel {
  predict(input: any, params?: Record<string, unknown>): unknown;
  loadContext?(context: ModelContext): unknown;
}

export interface SavedCode {
  config: Record<string, unknown>;
  /** npm packages the bundle imports (for the environment file). */
  packages: string[];
}

/** Bundles `file` into `<dir>/code/` and copies `artifacts` into `<dir>/artifacts/`. */
export async function saveCodeModel(file: string, dir: string, artifacts: Record<string, string> = {}): Promise<SavedCode> {
  const entry = resolve(file);
  const ext = extname(entry);
  if (![".ts", ".mts", ".cts", ".js", ".mjs", ".tsx"].includes(ext))
    throw invalidParameter(
      `Invalid model file ${JSON.stringify(file)}: a model from code is a .ts (or .js) file whose default export has predict(input).`,
    );
  const s = await stat(entry).catch(() => undefined);
  if (!s?.isFile())
    throw notFound(
      `No model file at ${JSON.stringify(file)} (resolved to ${entry}): give the path of a .ts file whose default export has predict(input).`,
    );
  // esbuild is loaded on first use: a kernel that never logs a model never pays for it.
  const esbuild = await import("esbuild");
  const out = join(dir, BUNDLE);
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      outfile: out,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      packages: "external",
      metafile: true,
      sourcemap: "linked",
      logLevel: "silent",
      absWorkingDir: dirname(entry),
    });
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors ?? [];
    const first = errors[0];
    throw invalidParameter(
      `Cannot bundle the model file ${JSON.stringify(file)}: ${first ? `${first.text}${first.location ? ` (${first.location.file}:${first.location.line})` : ""}` : (err as Error).message}`,
    );
  }
  const packages = new Set<string>();
  for (const input of Object.values(result.metafile!.inputs))
    for (const imp of input.imports)
      if (imp.external) {
        const n = packageName(imp.path);
        if (n) packages.add(n);
      }
  const source = `code/${basename(entry)}`;
  await cp(entry, join(dir, source));
  // As pyfunc records its artifacts: the path inside the model folder and where it came from.
  const saved: Record<string, { path: string; uri: string }> = {};
  for (const [name, path] of Object.entries(artifacts)) {
    if (!/^[\w.-]+$/.test(name))
      throw invalidParameter(`Invalid artifact name ${JSON.stringify(name)}: use letters, digits, '_', '-' and '.'.`);
    const from = resolve(path);
    const st = await stat(from).catch(() => undefined);
    if (!st) throw notFound(`Artifact ${JSON.stringify(name)}: no file or folder at ${JSON.stringify(path)}.`);
    const rel = `artifacts/${name}${st.isDirectory() ? "" : extname(from)}`;
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await cp(from, join(dir, rel), { recursive: true });
    saved[name] = { path: rel, uri: from };
  }
  return {
    packages: [...packages].sort(),
    config: { code: BUNDLE, source, artifacts: saved, env: { npm: "package.json" }, node_version: process.versions.node },
  };
}

/** Resolves the bundle's npm imports from the model folder first, then from where it is loaded. */
function requireFor(bundle: string, fromDirs: string[]): NodeRequire {
  const requires = [bundle, ...fromDirs.map((d) => join(d, "noop.js"))].map((f) => createRequire(f));
  const req = ((id: string) => {
    let first: unknown;
    for (const r of requires) {
      try {
        return r(id);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
        first ??= err;
      }
    }
    throw new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `The model's code imports ${JSON.stringify(id)}, which is not installed here (looked beside the model and in ${fromDirs.join(", ")}): install the versions in the model's package.json.`,
      404,
      { cause: first },
    );
  }) as NodeRequire;
  return Object.assign(req, requires[0]!);
}

/** Loads a bundled model and runs its `loadContext`. */
export async function loadCodeModel(dir: string, config: Record<string, any>, fromDirs = [process.cwd()]): Promise<CodeModel> {
  const bundle = join(dir, String(config.code ?? BUNDLE));
  const code = await readFile(bundle, "utf8").catch(() => {
    throw notFound(
      `The model at ${JSON.stringify(dir)} has no code bundle ${JSON.stringify(config.code ?? BUNDLE)}: the folder is incomplete.`,
    );
  });
  const module = { exports: {} as any };
  // A CommonJS wrapper run in this context: the model shares the caller's globals and its
  // frames name the bundle file, whose source map leads back to the .ts file.
  const fn = runInThisContext(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename: bundle });
  fn(module.exports, requireFor(bundle, fromDirs), module, bundle, dirname(bundle));
  let model = module.exports?.default ?? module.exports;
  if (typeof model === "function") model = new model();
  if (!model || typeof model.predict !== "function")
    throw invalidParameter(
      `The model file ${JSON.stringify(config.source ?? bundle)} has no predict: its default export must be an object or class with predict(input, params?).`,
    );
  const artifacts: Record<string, string> = {};
  for (const [name, a] of Object.entries((config.artifacts ?? {}) as Record<string, { path: string }>)) artifacts[name] = join(dir, a.path);
  if (typeof model.loadContext === "function") await model.loadContext({ artifacts });
  return model as CodeModel;
}
