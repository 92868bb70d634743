// The one atomic write (tracking/atomic-write.ts) on real files: a reader sees the old file or
// the whole new one, failures leave no temp file behind, and `durable` fsyncs the file and
// its directory (what the spool relies on) while the default does not.

import fs, { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { writeFileAtomic, writeFileAtomicSync } from "../../tracking/atomic-write.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "atomic-write-"));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ["async", (f: string, d: string | Uint8Array, o?: Parameters<typeof writeFileAtomicSync>[2]) => writeFileAtomic(f, d, o)],
  ["sync", async (f: string, d: string | Uint8Array, o?: Parameters<typeof writeFileAtomicSync>[2]) => writeFileAtomicSync(f, d, o)],
] as const)("writeFileAtomic (%s)", (_, write) => {
  it("replaces a file whole and leaves only the target in the directory", async () => {
    const file = join(dir, "notebook.ipynb");
    await write(file, "old");
    await write(file, Buffer.from("new content"));
    expect(readFileSync(file, "utf8")).toBe("new content");
    expect(readdirSync(dir)).toEqual(["notebook.ipynb"]);
  });

  it("removes its temp file when the rename fails, and says why", async () => {
    const target = join(dir, "taken");
    mkdirSync(join(target, "inside"), { recursive: true });
    await expect(write(target, "x")).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(["taken"]);
  });

  it("creates missing parent directories only when asked", async () => {
    const file = join(dir, "a", "b", "c.json");
    await expect(write(file, "{}")).rejects.toThrow(/ENOENT/);
    await write(file, "{}", { mkdir: true });
    expect(readFileSync(file, "utf8")).toBe("{}");
  });

  it("fsyncs the file and its directory when durable, and neither otherwise", async () => {
    // FileHandle is not exported: its prototype comes from a handle.
    const fh = await fs.promises.open(join(dir, "probe"), "w");
    const proto = Object.getPrototypeOf(fh) as { sync(): Promise<void> };
    await fh.close();
    rmSync(join(dir, "probe"));
    const syncs = [vi.spyOn(fs, "fsyncSync"), vi.spyOn(proto, "sync")];
    const calls = () => syncs.reduce((n, s) => n + s.mock.calls.length, 0);
    await write(join(dir, "plain"), "x");
    expect(calls()).toBe(0);
    await write(join(dir, "spooled.json"), "x", { durable: true, tmp: join(dir, ".tmp-spooled.json") });
    expect(calls()).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(["plain", "spooled.json"]);
  });
});
