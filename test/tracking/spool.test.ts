// The spool on real files in a temp dir: atomic lossless files, oldest-first order,
// claims that keep two senders apart, stale claims of dead processes taken back.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Spool, decodeSpoolFile, defaultSpoolBase, encodeSpoolFile, spoolDirFor } from "../../tracking/logging/spool.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "spool-test-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const odd = [
  { key: "nan", value: NaN, timestamp: 1700000000001, step: 1 },
  { key: "inf", value: Infinity, timestamp: 1700000000002, step: 2 },
  { key: "ninf", value: -Infinity, timestamp: 1700000000003, step: 3 },
  { key: "negzero", value: -0, timestamp: 1700000000004, step: 4 },
  { key: "train/loss", value: 0.1 + 0.2, timestamp: 1700000000005, step: 5 },
  { key: "big", value: 1.7976931348623157e308, timestamp: 1700000000006, step: 6 },
];

describe("spool files", () => {
  it("round-trips NaN, ±Infinity, -0 and full-precision doubles, with params and tags", async () => {
    const spool = new Spool(dir, "http://127.0.0.1:5000");
    const batch = { metrics: odd, params: [{ key: "lr", value: "0.01" }], tags: [{ key: "stage", value: "train" }] };
    const name = await spool.write("run-1", batch);
    const text = readFileSync(join(dir, name), "utf8");
    expect(text).toContain('"NaN"');
    expect(text).toContain('"-Infinity"');
    const back = decodeSpoolFile(text, name);
    expect(back.runId).toBe("run-1");
    expect(back.batch.params).toEqual(batch.params);
    expect(back.batch.tags).toEqual(batch.tags);
    expect(back.batch.metrics!.map((m) => m.key)).toEqual(odd.map((m) => m.key));
    back.batch.metrics!.forEach((m, i) => {
      expect(Object.is(m.value, odd[i].value)).toBe(true);
      expect(m.timestamp).toBe(odd[i].timestamp);
      expect(m.step).toBe(odd[i].step);
    });
    // Atomic write: no temp file is left next to the batch.
    expect(readdirSync(dir)).toEqual([name]);
  });

  it("writes the same format synchronously (for the exit hook)", () => {
    const spool = new Spool(dir, "http://x");
    const name = spool.writeSync("r", { metrics: odd.slice(0, 2) });
    const back = decodeSpoolFile(readFileSync(join(dir, name), "utf8"), name);
    expect(back.batch.metrics!.length).toBe(2);
    expect(Number.isNaN(back.batch.metrics![0].value)).toBe(true);
  });

  it("does not write credentials of the tracking URI to disk", async () => {
    const spool = new Spool(dir, "https://alice:s3cret@mlflow.example.com/prefix");
    const name = await spool.write("r", { tags: [{ key: "a", value: "b" }] });
    const text = readFileSync(join(dir, name), "utf8");
    expect(text).not.toContain("s3cret");
    expect(text).toContain("https://mlflow.example.com/prefix");
  });

  it("refuses a file that is not a spool file, naming it", () => {
    expect(() => decodeSpoolFile('{"hello": 1}', "/x/y.json")).toThrow(/\/x\/y\.json is not a version 1/);
    expect(() => decodeSpoolFile(encodeSpoolFile("u", "r", {}), "f")).not.toThrow();
  });
});

describe("spool directory", () => {
  it("is one directory per tracking URI under TSLAB_MLFLOW_SPOOL_DIR or the cache dir", () => {
    expect(defaultSpoolBase({ TSLAB_MLFLOW_SPOOL_DIR: "/s" })).toBe("/s");
    expect(defaultSpoolBase({ XDG_CACHE_HOME: "/c" })).toBe("/c/tslab-mlflow/spool");
    const a = spoolDirFor("http://a:5000", "/s"),
      b = spoolDirFor("http://b:5000", "/s");
    expect(a).not.toBe(b);
    expect(a).toBe(spoolDirFor("http://a:5000", "/s"));
    expect(a).toMatch(/^\/s\/[0-9a-f]{16}$/);
    // Credentials do not change where a server's batches wait.
    expect(spoolDirFor("http://u:old@a:5000", "/s")).toBe(spoolDirFor("http://u:new@a:5000", "/s"));
    expect(spoolDirFor("http://u:old@a:5000", "/s")).toBe(a);
  });
});

describe("delivery bookkeeping", () => {
  it("lists oldest first and counts entities per run", async () => {
    const spool = new Spool(dir, "u");
    const n1 = await spool.write("a", { metrics: odd.slice(0, 3) });
    const n2 = await spool.write("b", { params: [{ key: "p", value: "1" }] });
    const n3 = await spool.write("a", { metrics: odd.slice(0, 1), tags: [{ key: "t", value: "v" }] });
    const other = new Spool(dir, "u"); // another process: learns the files from disk
    expect(await other.scan()).toEqual([n1, n2, n3]);
    expect(Object.fromEntries(other.counts())).toEqual({ a: 5, b: 1 });
  });

  it("lets only one sender claim a file; release gives it back, remove deletes it", async () => {
    const s1 = new Spool(dir, "u"),
      s2 = new Spool(dir, "u");
    const name = await s1.write("a", { metrics: odd.slice(0, 2) });
    await s2.scan();
    const entry = await s1.claim(name);
    expect(entry?.count).toBe(2);
    expect(await s2.claim(name)).toBeUndefined();
    expect(await s2.scan()).toEqual([]);
    await s1.release(entry!);
    expect(await s2.scan()).toEqual([name]);
    const again = await s2.claim(name);
    await s2.remove(again!);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes back a claim left by a process that died", async () => {
    const spool = new Spool(dir, "u");
    const name = await spool.write("a", { metrics: odd.slice(0, 1) });
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const deadPid = Number(child.stdout.toString());
    const { renameSync } = await import("node:fs");
    renameSync(join(dir, name), join(dir, `${name}.sending-${deadPid}`));
    expect(await new Spool(dir, "u").scan()).toEqual([name]);
  });

  it("moves an unreadable file to rejected/ with the reason instead of retrying it forever", async () => {
    const spool = new Spool(dir, "u");
    writeFileSync(join(dir, "000000000000001-1-x-000000.json"), "{ not json");
    const names = await spool.scan();
    expect(names).toEqual(["000000000000001-1-x-000000.json"]);
    await expect(spool.claim(names[0])).rejects.toThrow(/Unreadable spool file .*000000000000001-1-x-000000\.json/);
    expect(readdirSync(join(dir, "rejected")).sort()).toEqual([
      "000000000000001-1-x-000000.json",
      "000000000000001-1-x-000000.json.reason.txt",
    ]);
    expect(await spool.scan()).toEqual([]);
  });

  it("quarantines a refused batch with its reason", async () => {
    const spool = new Spool(dir, "u");
    const file = await spool.quarantine("r", { params: [{ key: "p", value: "2" }] }, "MlflowError: Changing param values is not allowed");
    expect(decodeSpoolFile(readFileSync(file, "utf8"), file).batch.params).toEqual([{ key: "p", value: "2" }]);
    expect(readFileSync(file + ".reason.txt", "utf8")).toMatch(/Changing param values/);
  });
});
