// The key a project's compiler snapshot and shared compiler service go by
// (kernel/compiler/cache.ts) changes with this package's compiler code: a service started by
// an older build must not serve the kernels of a newer one (it would, until its idle exit).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import { tempDir } from "./helpers.js";

describe("the compiler snapshot's key", () => {
  it("is stable across calls and changes when a compiler module's code changes", async () => {
    // A copy of the built compiler folder, resolving packages from the repository.
    const pkg = tempDir("tslab-mlflow-key-");
    const compiler = path.join(pkg, "dist", "kernel", "compiler");
    fs.cpSync(path.join(REPO_ROOT, "dist", "kernel", "compiler"), compiler, { recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(pkg, "node_modules"), "dir");
    const cache = (await import(pathToFileURL(path.join(compiler, "cache.js")).href)) as typeof import("../../kernel/compiler/cache.js");
    const env = { TSLAB_MLFLOW_CACHE_DIR: path.join(pkg, "cache") };
    const key = () => path.basename(cache.snapshotFor(REPO_ROOT, env).blob);

    const first = key();
    expect(key()).toBe(first);
    // Rewritten with the same bytes (every build does): same key.
    fs.writeFileSync(path.join(compiler, "service.js"), fs.readFileSync(path.join(compiler, "service.js")));
    expect(key()).toBe(first);
    fs.appendFileSync(path.join(compiler, "service.js"), "\n// changed\n");
    expect(key()).not.toBe(first);
  });
});
