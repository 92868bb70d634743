// Builds V8's code cache of tslab's TypeScript (dist/kernel/compiler/typescript.code-cache, see
// kernel/compiler/typescript-code-cache.ts): loads TypeScript as a compiler process does,
// converts, completes and inspects a few cells so the code they run is compiled, then saves
// the cache. `npm run build` runs it after tsc, as a plain `node`; it then runs itself again
// under the compiler processes' V8 flags (kernel/compiler/compiler-v8-flags.ts), since V8 refuses
// a cache made under other flags: one cache for a kernel's own compiler (a worker thread of the
// kernel, no flags), one for a shared service.
//
// Usage: node build/typescript-code-cache.mjs
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const COMPILER = path.join(ROOT, "dist", "kernel", "compiler");
const CELLS = [
  "1 + 1",
  "const xs: number[] = [1, 2, 3].map((v) => v * 2);\nxs",
  "function scaled(x: number, by = 2): number {\n  return x * by;\n}\nscaled(xs[0] ?? 0)",
  "import fs from 'fs';\nconst here: string[] = fs.readdirSync('.');",
  "const wrong: string = 1;",
  "class Point {\n  constructor(readonly x: number, readonly y: number) {}\n}\nnew Point(1, 2)",
  "await new Promise((r) => setTimeout(r, 1));",
];

const cache = await import(pathToFileURL(path.join(COMPILER, "typescript-code-cache.js")).href);
const { COMPILER_V8_FLAGS, hasCompilerV8Flags } = await import(pathToFileURL(path.join(COMPILER, "compiler-v8-flags.js")).href);
const cacheFile = cache.codeCacheFile();
for (const file of [cacheFile, `${cacheFile}.json`]) fs.rmSync(file, { force: true });
const service = await import(pathToFileURL(path.join(COMPILER, "service.js")).href);
service.shareDeclarationFiles(new Map());

let listener;
const answers = new Map();
// In the project's folder: @types/node resolves from its node_modules, as for a notebook here.
service.serveCompiler({ postMessage: (m) => m.id && answers.get(m.id)?.(m), onMessage: (l) => (listener = l), close() {} }, ROOT);
let id = 0;
const ask = (request) =>
  new Promise((resolve) => {
    answers.set(++id, resolve);
    listener({ id, ...request });
  });
let prevDecl = "";
for (const src of CELLS) {
  const { result } = await ask({ op: "convert", prevDecl, src });
  if (result.diagnostics.length === 0) prevDecl = result.declOutput ?? prevDecl;
}
await ask({ op: "complete", prevDecl, src: "xs.", pos: 3 });
await ask({ op: "inspect", prevDecl, src: "Math.max", pos: 6 });
await ask({ op: "isComplete", src: "function f() {" });
const bytes = cache.saveTypeScriptCodeCache();
console.log(`typescript code cache: ${(bytes / 2 ** 20).toFixed(1)} MiB in ${path.relative(ROOT, cacheFile)}`);
if (!hasCompilerV8Flags()) {
  const again = spawnSync(process.execPath, [...COMPILER_V8_FLAGS, fileURLToPath(import.meta.url)], { stdio: "inherit" });
  if (again.status !== 0) process.exit(again.status ?? 1);
}
// tslab's converter keeps watches open.
process.exit(0);
