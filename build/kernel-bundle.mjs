// Builds the kernel bundle: `tslab-mlflow kernel`'s start path (dist/cli/kernel-start.js and
// everything it imports, tsc's output) as a few ES module files in dist/kernel-bundle/, so a
// kernel loads ~20 files instead of ~180 modules before its first reply. `npm run build` runs
// it after tsc; cli/kernel-bundle.ts decides at start whether the bundle may run.
//
// - What loads lazily (`import()` of models/, charts/, the magics' implementation, compiler
//   internals) stays lazy: code splitting makes each such import its own chunk.
// - Packages stay outside (node_modules resolves from dist/kernel-bundle/ as from any dist/
//   folder); so do the files started as workers or processes (control-worker.js, the
//   compiler's worker.js, service.js, snapshot.cjs, ...), which are loaded from dist/ by URL.
// - The CommonJS packages the start path imports (CJS_BY_REQUIRE) are loaded by `require`:
//   an ES `import` of CommonJS makes Node scan the package's source for its export names
//   first (~20 ms of CPU for zeromq and shell-quote); the names are read here, at build time.
// - `import.meta.url` in a bundled file means what it meant in that file (its dist/ URL), so
//   the siblings, packages and package.json it locates are the same ones.
// - The manifest names the entry and every dist/ file that went in (size, sha256, mtime):
//   a kernel runs the bundle only while those files are unchanged, so a bundle that tsc has
//   since outdated (someone ran tsc alone) never runs.
// - Files are named by content hash and the previous build's files are kept: a kernel that
//   started on the previous bundle still finds the chunks it imports lazily later.
//
// Usage: node build/kernel-bundle.mjs [DIST_DIR]   (default: dist/ next to this folder)
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.resolve(process.argv[2] ?? path.join(ROOT, "dist"));
const OUT = path.join(DIST, "kernel-bundle");
const ENTRY = path.join(DIST, "cli", "kernel-start.js");
const MANIFEST = "manifest.json";
// Read by cli/kernel-bundle.ts; a change of format changes this number.
const FORMAT = 1;
const KEEP_YOUNG_MS = 60 * 60_000;
const CJS_BY_REQUIRE = ["zeromq", "shell-quote"];

const posix = (p) => p.split(path.sep).join("/");

/** Reads a dist/ file for the bundle and records what it was; fails if it changes while read (a tsc running now). */
function readInput(file, inputs) {
  const before = fs.statSync(file);
  const bytes = fs.readFileSync(file);
  const after = fs.statSync(file);
  if (before.mtimeMs !== after.mtimeMs || bytes.length !== after.size) {
    throw new Error(`${file} changed while the kernel bundle read it (is tsc running?): run the build again`);
  }
  inputs[posix(path.relative(DIST, file))] = {
    size: bytes.length,
    mtimeMs: after.mtimeMs,
    sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
  };
  return bytes.toString("utf8");
}

// `import.meta.url` becomes this name everywhere (esbuild's define: expressions only, never
// strings or comments), and each file that uses it declares it first as its own dist/ URL.
const OWN_URL = "__tslabMlflowOwnUrl";
// The chunk's own URL, in a form the define does not match (it rewrites `import.meta["url"]` too).
const CHUNK_URL = "(() => { const meta = import.meta; return meta.url; })()";

/** Loads the dist/ files: recorded for the manifest, with `import.meta.url` meaning the file's own URL, relative to the chunk (which lives in OUT). */
function distInputs(inputs) {
  return {
    name: "dist-inputs",
    setup(build) {
      build.onLoad({ filter: /.*/ }, (args) => {
        if (!args.path.startsWith(DIST + path.sep)) return undefined;
        if (!/\.(m?js)$/.test(args.path)) throw new Error(`${args.path}: the kernel bundle takes dist/ JavaScript modules only`);
        const text = readInput(args.path, inputs);
        if (!text.includes("import.meta")) return { contents: text, loader: "js" };
        const rel = JSON.stringify(posix(path.relative(OUT, args.path)));
        return { contents: `const ${OWN_URL} = new URL(${rel}, ${CHUNK_URL}).href;\n${text}`, loader: "js" };
      });
    },
  };
}

/**
 * Imports of the CommonJS packages in `names` become a module that `require`s the package and
 * re-exports what it exports (`default`: module.exports, as an ES import of CommonJS gives).
 * A package that does not load here stays a plain import.
 */
function cjsByRequire(names) {
  const require = createRequire(path.join(DIST, "cli", "main.js"));
  const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`);
  return {
    name: "cjs-by-require",
    setup(build) {
      // (From inside such a module, the package itself: external.)
      build.onResolve({ filter }, (args) =>
        args.namespace === "cjs-by-require" ? undefined : { path: args.path, namespace: "cjs-by-require" },
      );
      build.onLoad({ filter: /.*/, namespace: "cjs-by-require" }, (args) => {
        let exported;
        try {
          exported = require(args.path);
        } catch {
          return {
            contents: `export * from ${JSON.stringify(args.path)};\nexport { default } from ${JSON.stringify(args.path)};\n`,
            loader: "js",
          };
        }
        const names = Object.keys(exported).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "default");
        const lines = [
          `import { createRequire } from "node:module";`,
          `const m = createRequire(${CHUNK_URL})(${JSON.stringify(args.path)});`,
          "export default m;",
          ...names.map((n) => `export const ${n} = m.${n};`),
        ];
        return { contents: `${lines.join("\n")}\n`, loader: "js" };
      });
    },
  };
}

/** Writes a file by rename, so a kernel starting now reads the old or the new file, never half of one. */
function writeAtomic(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

function readManifest() {
  try {
    return JSON.parse(fs.readFileSync(path.join(OUT, MANIFEST), "utf8"));
  } catch {
    return undefined;
  }
}

async function main() {
  if (!fs.existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run tsc first (npm run build does both)`);
  const inputs = {};
  const result = await esbuild.build({
    absWorkingDir: DIST,
    entryPoints: { "kernel-start": ENTRY },
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // Classes and functions keep their names (error names, `constructor.name`) where the
    // bundle has to rename one to avoid a clash between modules.
    keepNames: true,
    sourcemap: "linked",
    entryNames: "[name]-[hash]",
    chunkNames: "[name]-[hash]",
    metafile: true,
    write: false,
    logLevel: "warning",
    define: { "import.meta.url": OWN_URL },
    plugins: [cjsByRequire(CJS_BY_REQUIRE), distInputs(inputs)],
  });

  const outputs = result.outputFiles.map((f) => posix(path.relative(OUT, f.path)));
  // Lazily imported modules are entry points too: the entry is the chunk of kernel-start.js.
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === posix(path.relative(DIST, ENTRY)))?.[0];
  if (!entry) throw new Error("esbuild produced no entry chunk");
  const previous = readManifest();

  fs.mkdirSync(OUT, { recursive: true });
  for (const f of result.outputFiles) {
    // A chunk's name carries its content's hash: one already there is this one, and may be
    // in use. A source map is named after its chunk and only read when debugging.
    if (f.path.endsWith(".map") || !fs.existsSync(f.path)) writeAtomic(f.path, f.contents);
  }
  const files = Object.keys(inputs).sort();
  const manifest = {
    format: FORMAT,
    entry: posix(path.relative(OUT, path.resolve(DIST, entry))),
    outputs,
    // Parallel arrays: small to read and parse at each kernel start (cli/kernel-bundle.ts).
    inputs: {
      files,
      sizes: files.map((f) => inputs[f].size),
      sha256: files.map((f) => inputs[f].sha256),
      mtimes: files.map((f) => inputs[f].mtimeMs),
    },
  };
  // Last, so the bundle is complete before a kernel can pick it up.
  writeAtomic(path.join(OUT, MANIFEST), `${JSON.stringify(manifest)}\n`);

  // This build's and the previous build's files stay, and any file younger than an hour (a
  // build running at the same time writes its files before its manifest).
  const keep = new Set([MANIFEST, ...outputs, ...(previous?.outputs ?? [])]);
  for (const name of fs.readdirSync(OUT)) {
    const file = path.join(OUT, name);
    if (!keep.has(name) && Date.now() - fs.statSync(file).mtimeMs > KEEP_YOUNG_MS) fs.rmSync(file, { force: true });
  }
  const size = result.outputFiles.filter((f) => f.path.endsWith(".js")).reduce((n, f) => n + f.contents.length, 0);
  console.log(
    `kernel bundle: ${Object.keys(inputs).length} modules -> ${outputs.filter((o) => o.endsWith(".js")).length} files (${(size / 1024).toFixed(0)} KiB) in ${posix(path.relative(ROOT, OUT))}/`,
  );
}

await main();
