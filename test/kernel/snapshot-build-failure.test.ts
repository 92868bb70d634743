// A compiler snapshot build that fails (kernel/compiler/cache.ts): it leaves no blob and no
// partial file, its output stays beside where the blob would be, and the next build says so
// in one line before it tries again.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import { waitForFolder } from "../support/wait-for-file.js";
import { tempDir } from "./helpers.js";

// The built module: its snapshot entry is the compiled one beside it.
const { buildInBackground, buildLogOf, snapshotFor } = (await import(
  pathToFileURL(path.join(REPO_ROOT, "dist", "kernel", "compiler", "cache.js")).href
)) as typeof import("../../kernel/compiler/cache.js");

describe("a snapshot build that fails", () => {
  it("keeps its output, and the next build names it before building again", async () => {
    const cache = tempDir("tslab-mlflow-failed-build-");
    const real = snapshotFor(REPO_ROOT, { TSLAB_MLFLOW_CACHE_DIR: cache });
    // TypeScript's file is missing: the build stops at its first step.
    const broken = { ...real, buildEnv: { ...real.buildEnv, TSLAB_MLFLOW_SNAPSHOT_TS: path.join(cache, "missing", "typescript.js") } };
    const output = buildLogOf(broken.blob);
    const finished = () => waitForFolder(cache, () => !fs.existsSync(`${broken.blob}.build`), "the build to end", 60_000);

    const first: string[] = [];
    expect(buildInBackground(broken, REPO_ROOT, (l) => first.push(l))).toBe(true);
    await finished();
    expect(first).toEqual([`compiler snapshot: building ${broken.blob} for the next kernel start`]);
    expect(fs.existsSync(broken.blob)).toBe(false);
    expect(fs.existsSync(`${broken.blob}.partial`)).toBe(false);
    const text = fs.readFileSync(output, "utf8");
    expect(text).toContain("missing/typescript.js");
    expect(text.trimEnd().split("\n").at(-1)).toMatch(/^snapshot build failed: exit code [1-9]\d*$/);

    const second: string[] = [];
    expect(buildInBackground(broken, REPO_ROOT, (l) => second.push(l))).toBe(true);
    await finished();
    expect(second[0]).toBe(
      `compiler snapshot: the last build failed or was stopped (${text.trimEnd().split("\n").at(-1)}; its output: ${output}); building again`,
    );
    expect(second).toHaveLength(2);
  }, 120_000);
});
