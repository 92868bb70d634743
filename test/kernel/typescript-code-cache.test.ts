// tslab's TypeScript loaded with the build's V8 code cache of it
// (kernel/compiler/typescript-code-cache.ts, built by build/typescript-code-cache.mjs): used
// when it was made for this V8 and this TypeScript; compiled without it when there is none,
// when it was made for another, when its bytes are damaged (V8 would crash on them), or when
// V8 refuses it (made under other V8 flags; the build makes one for the compiler processes' flags
// and one for none). TypeScript works the
// same in every case. Each case in a process of its own, as a compiler process loads it.
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { COMPILER_V8_FLAGS } from "../../kernel/compiler/compiler-v8-flags.js";
import { REPO_ROOT } from "../support/paths.js";
import { run } from "../support/run.js";

const COMPILER = path.join(REPO_ROOT, "dist", "kernel", "compiler");
const BUILT = path.join(COMPILER, "typescript.code-cache");
const BUILT_FOR_COMPILER_FLAGS = path.join(COMPILER, "typescript.compiler-flags.code-cache");
const require = createRequire(import.meta.url);
const TS = createRequire(require.resolve("tslab/dist/converter.js")).resolve("@tslab/typescript-for-tslab");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-code-cache-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Loads TypeScript through the cache file given (the build's by default) and type-checks a line with it. */
async function load(cacheFile?: string, nodeFlags: string[] = []) {
  const script = `
    import { createRequire } from "node:module";
    import { requireTypeScript } from ${JSON.stringify(pathToFileURL(path.join(COMPILER, "typescript-code-cache.js")).href)};
    const { ts, codeCache } = requireTypeScript(${JSON.stringify(TS)}${cacheFile ? `, ${JSON.stringify(cacheFile)}` : ""});
    const same = createRequire(import.meta.url)(${JSON.stringify(TS)}) === ts;
    const out = ts.transpileModule("const n: number = 1 + 1;", { reportDiagnostics: true });
    console.log(JSON.stringify({ codeCache, same, version: ts.version, js: out.outputText.trim() }));
  `;
  const r = await run(process.execPath, [...nodeFlags, "--input-type=module", "-e", script], { timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim());
}

describe("TypeScript's code cache", () => {
  it("is built, and used by a process that loads TypeScript (which `require` then returns)", async () => {
    expect(fs.statSync(BUILT).size).toBeGreaterThan(1_000_000);
    const loaded = await load();
    expect(loaded).toMatchObject({ codeCache: "used", same: true, js: expect.stringMatching(/n = 1 \+ 1;/) });
    expect(loaded.version).toMatch(/^\d+\.\d+/);
  });

  it("is built a second time under the compiler processes' V8 flags, and a process with those flags (a shared service) uses that one", async () => {
    expect(fs.statSync(BUILT_FOR_COMPILER_FLAGS).size).toBeGreaterThan(1_000_000);
    const loaded = await load(undefined, [...COMPILER_V8_FLAGS]);
    expect(loaded).toMatchObject({ codeCache: "used", same: true, js: expect.stringMatching(/n = 1 \+ 1;/) });
    // The other cache, under those flags: V8 refuses it (why there are two).
    expect((await load(BUILT, [...COMPILER_V8_FLAGS])).codeCache).toBe("refused by V8");
  });

  it("is left alone when missing, made for another V8 or TypeScript, or damaged; refused by V8 under other flags; TypeScript works in each case", async () => {
    const missing = path.join(dir, "missing.code-cache");
    const other = path.join(dir, "other.code-cache");
    fs.copyFileSync(BUILT, other);
    const made = JSON.parse(fs.readFileSync(`${BUILT}.json`, "utf8"));
    fs.writeFileSync(`${other}.json`, JSON.stringify({ ...made, key: made.key.replace(/"v8":"[^"]*"/, '"v8":"0.0.0"') }));
    const damaged = path.join(dir, "damaged.code-cache");
    const bytes = fs.readFileSync(BUILT);
    for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 4096; i++) bytes[i] = bytes[i]! ^ 0xff;
    fs.writeFileSync(damaged, bytes);
    fs.copyFileSync(`${BUILT}.json`, `${damaged}.json`);
    // Whole, but made under other V8 flags than this process's: V8's own check refuses it.
    const results = await Promise.all([load(missing), load(other), load(damaged), load(undefined, ["--no-lazy"])]);
    expect(results.map((r) => r.codeCache)).toEqual(["none", "none", "damaged", "refused by V8"]);
    for (const r of results) expect(r).toMatchObject({ same: true, js: expect.stringMatching(/n = 1 \+ 1;/) });
  });
});
