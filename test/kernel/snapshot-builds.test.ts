// Background builds of compiler snapshots (kernel/compiler/cache.ts): one at a time per
// snapshot, held by a lock that names the build's process, so a lock left by a process that is
// gone never holds builds back; a failed build's output stays, and the next build says so.
import { spawnSync } from "node:child_process";
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

/** A snapshot whose build fails at its first step (TypeScript's file is missing): quick, and it writes no blob. */
function brokenSnapshot() {
  const cache = tempDir("tslab-mlflow-builds-");
  const real = snapshotFor(REPO_ROOT, { TSLAB_MLFLOW_CACHE_DIR: cache });
  const snapshot = { ...real, buildEnv: { ...real.buildEnv, TSLAB_MLFLOW_SNAPSHOT_TS: path.join(cache, "missing", "typescript.js") } };
  const lock = `${snapshot.blob}.build`;
  const finished = () => waitForFolder(cache, () => !fs.existsSync(lock), "the build to end", 60_000);
  return { cache, snapshot, lock, finished };
}

describe("snapshot builds", () => {
  it("a failed build keeps its output, and the next build names it before building again", async () => {
    const { cache, snapshot, finished } = brokenSnapshot();
    const output = buildLogOf(snapshot.blob);

    const first: string[] = [];
    expect(buildInBackground(snapshot, REPO_ROOT, (l) => first.push(l))).toBe(true);
    await finished();
    expect(first).toEqual([`compiler snapshot: building ${snapshot.blob} for the next kernel start`]);
    expect(fs.existsSync(snapshot.blob)).toBe(false);
    expect(fs.readdirSync(cache).filter((n) => n.endsWith(".partial"))).toEqual([]);
    const text = fs.readFileSync(output, "utf8");
    expect(text).toContain("missing/typescript.js");
    const last = text.trimEnd().split("\n").at(-1);
    expect(last).toMatch(/^snapshot build failed: exit code [1-9]\d*$/);

    const second: string[] = [];
    expect(buildInBackground(snapshot, REPO_ROOT, (l) => second.push(l))).toBe(true);
    await finished();
    expect(second[0]).toBe(`compiler snapshot: the last build failed or was stopped (${last}; its output: ${output}); building again`);
    expect(second).toHaveLength(2);
  }, 120_000);

  it("a build under way is not started twice; a lock whose process is gone is taken over", async () => {
    const { snapshot, lock, finished } = brokenSnapshot();
    // Held by a live process (this one): another build is under way.
    fs.writeFileSync(lock, `${process.pid}\n`);
    expect(buildInBackground(snapshot, REPO_ROOT, () => {})).toBe(false);
    expect(fs.readFileSync(lock, "utf8")).toBe(`${process.pid}\n`);

    // Left by a kernel killed while it started a build: its process is gone.
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    fs.writeFileSync(lock, `${gone.stdout}\n`);
    const lines: string[] = [];
    expect(buildInBackground(snapshot, REPO_ROOT, (l) => lines.push(l))).toBe(true);
    expect(lines).toEqual([`compiler snapshot: building ${snapshot.blob} for the next kernel start`]);
    expect(fs.readFileSync(lock, "utf8")).not.toBe(`${gone.stdout}\n`);
    await finished();
  }, 120_000);

  it("a partial blob a killed build left is removed by a later build; a recent one is left to its build", async () => {
    const { cache, snapshot, finished } = brokenSnapshot();
    const abandoned = `${snapshot.blob}.1-1.partial`;
    const recent = `${snapshot.blob}.2-2.partial`;
    fs.writeFileSync(abandoned, "half a blob");
    fs.writeFileSync(recent, "half a blob");
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(abandoned, tenMinutesAgo, tenMinutesAgo);
    expect(buildInBackground(snapshot, REPO_ROOT, () => {})).toBe(true);
    await finished();
    expect(fs.readdirSync(cache).filter((n) => n.endsWith(".partial"))).toEqual([path.basename(recent)]);
  }, 120_000);
});
