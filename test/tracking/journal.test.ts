// The logger's write-ahead journal: a process SIGKILLed with points queued, some already
// acknowledged, leaves a journal; `tslab-mlflow sync` and the next start each end its open run
// KILLED with the journal's last write as end time and delivers exactly the points the store
// had not acknowledged (the watermark), once; a second sync finds nothing. Recovery leaves a
// live process's journal alone, ignores a torn last line, and a journal with a cut partly
// acknowledged yields only the rest.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileStore, Logger, Spool, metricsRecord, planJournal, recoverJournals, textRecord } from "../../tracking/index.js";
import { CLI_MAIN, REPO_ROOT, makeTempDir, rmTempDir } from "../support/paths.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmTempDir(d);
});

// Logs FIRST points, waits until the store has them (acknowledged), logs SECOND more (fewer
// than one request, which would be sent at once; the flush timer is far off), says so in a side file, and spins until it is killed.
const CHILD = `
import fs from "node:fs";
const { FileStore, Logger } = await import(${JSON.stringify(path.join(REPO_ROOT, "dist", "tracking", "index.js"))});
const [root, spoolDir, side, first, second] = process.argv.slice(2);
const store = new FileStore(root);
const run = await store.createRun({ experimentId: "0", startTime: Date.now() });
const logger = new Logger(store, { spoolDir, journal: { watchdog: false }, exitHooks: false, flushIntervalMs: 600_000 });
const r = logger.run(run.info.runId);
r.opened();
r.logParam("lr", "0.1");
for (let i = 0; i < Number(first); i++) r.logMetric("m", i, i, 1000 + i);
await logger.flush();
for (let i = Number(first); i < Number(first) + Number(second); i++) r.logMetric("m", i, i, 1000 + i);
r.setTag("phase", "second");
await new Promise((res) => setTimeout(res, 80)); // the journal's timer appends what the loop left
fs.writeFileSync(side, run.info.runId);
while (true) {}
`;

async function killedChild(work: string, first: number, second: number): Promise<string> {
  const script = path.join(work, "child.mjs");
  fs.writeFileSync(script, CHILD);
  const side = path.join(work, "side.txt");
  const child = spawn(
    process.execPath,
    [script, path.join(work, "mlruns"), path.join(work, "spool"), side, String(first), String(second)],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(side) || fs.readFileSync(side, "utf8") === "") {
    if (child.exitCode !== null) throw new Error(`child ended: ${stderr}`);
    if (Date.now() > deadline) throw new Error("child did not get ready");
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await exited;
  return fs.readFileSync(side, "utf8");
}

describe("the logger's journal", () => {
  it("SIGKILL with points unsent: sync ends the run KILLED and delivers exactly the unacknowledged points, once; a second sync finds nothing", async () => {
    const work = makeTempDir("journal-kill");
    dirs.push(work);
    const runId = await killedChild(work, 5_000, 900);
    const journals = fs.readdirSync(path.join(work, "spool", "journal"));
    expect(journals).toHaveLength(1);
    const journalMtime = Math.round(fs.statSync(path.join(work, "spool", "journal", journals[0]!)).mtimeMs);
    const store = new FileStore(path.join(work, "mlruns"));
    expect((await store.getMetricHistory(runId, "m")).length).toBe(5_000);
    expect((await store.getRun(runId)).info.status).toBe("RUNNING");

    const sync = () =>
      spawnSync(process.execPath, [CLI_MAIN, "sync", "--tracking-uri", store.uri], {
        encoding: "utf8",
        env: { ...process.env, TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool-base") },
      });
    // The spool of a URI lives under the base: point the child's spool there.
    const { spoolDirFor } = await import("../../tracking/index.js");
    const target = spoolDirFor(store.uri, path.join(work, "spool-base"));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(path.join(work, "spool"), target);

    const first = sync();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`ended KILLED: ${runId}`);
    const history = await store.getMetricHistory(runId, "m");
    expect(history.length).toBe(5_900);
    expect(new Set(history.map((m) => m.step)).size).toBe(5_900);
    const run = await store.getRun(runId);
    expect(run.info.status).toBe("KILLED");
    expect(run.info.endTime).toBe(journalMtime);
    expect(run.data.tags.find((t) => t.key === "phase")?.value).toBe("second");
    expect(run.data.params).toEqual([{ key: "lr", value: "0.1" }]);

    const second = sync();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain("Nothing waits");
    expect((await store.getMetricHistory(runId, "m")).length).toBe(5_900);
    await store.close();
  }, 120_000);

  it("the next start (Logger.create) does the same in the background: KILLED, every unacknowledged point once", async () => {
    const work = makeTempDir("journal-start");
    dirs.push(work);
    const runId = await killedChild(work, 2_000, 500);
    const store = new FileStore(path.join(work, "mlruns"));
    const logger = Logger.create(store, { spoolDir: path.join(work, "spool"), journal: { watchdog: false }, exitHooks: false });
    try {
      const deadline = Date.now() + 30_000;
      while ((await store.getRun(runId)).info.status === "RUNNING" || (await store.getMetricHistory(runId, "m")).length < 2_500) {
        if (Date.now() > deadline) throw new Error("not recovered within 30 s");
        await new Promise((r) => setTimeout(r, 50));
      }
      await logger.flush();
      expect((await store.getRun(runId)).info.status).toBe("KILLED");
      expect((await store.getMetricHistory(runId, "m")).length).toBe(2_500);
      // Only the new logger's own journal is left (and it is empty of runs).
      expect(fs.readdirSync(path.join(work, "spool", "journal")).filter((n) => !n.startsWith(`${process.pid}-`))).toEqual([]);
    } finally {
      await logger.close();
      await store.close();
    }
  }, 120_000);

  it("leaves the journal of a live process alone; a clean close deletes it", async () => {
    const work = makeTempDir("journal-live");
    dirs.push(work);
    const store = new FileStore(path.join(work, "mlruns"));
    const runId = (await store.createRun({ experimentId: "0", startTime: 1 })).info.runId;
    const spoolDir = path.join(work, "spool");
    const logger = new Logger(store, { spoolDir, journal: { watchdog: false }, exitHooks: false });
    const r = logger.run(runId);
    r.opened();
    r.logMetric("m", 1, 0, 5);
    await logger.flush();
    expect(await recoverJournals(new Spool(spoolDir, store.uri))).toMatchObject({ journals: 0, killed: [] });
    expect(fs.readdirSync(path.join(spoolDir, "journal"))).toHaveLength(1);
    expect(await r.terminate("FINISHED", 10)).toBe("acknowledged");
    await logger.close();
    expect(fs.readdirSync(path.join(spoolDir, "journal"))).toEqual([]);
    expect((await store.getRun(runId)).info.status).toBe("FINISHED");
    await store.close();
  });

  it("plans only what no acknowledgement covers, ignores a torn last record, keeps NaN and -0, and kills open runs only", () => {
    const T = (line: string) => textRecord(line);
    const torn = metricsRecord([[0, 0, 99, 99, 99]]).subarray(0, 20);
    const text = Buffer.concat([
      T(JSON.stringify({ format: "tslab-mlflow-journal", version: 1, uri: "x", pid: 1 })),
      T(`r\t0\t"run-a"`),
      T(`r\t1\t"run-b"`),
      T(`k\t0\t"loss"`),
      T(`k\t1\t"acc"`),
      T(`o\t0`),
      T(`o\t1`),
      metricsRecord(Array.from({ length: 1500 }, (_, i) => [0, 0, i, 100 + i, i] as [number, number, number, number, number])),
      metricsRecord([
        [1, 1, NaN, 7, 0],
        [1, 1, -0, 8, 1],
      ]),
      T(`c\t1`),
      T(`a\t1\t0\t0`), // run-a's first 1000 points arrived; its last 500 and run-b's two did not
      T(`e\t1\t${JSON.stringify({ status: "FINISHED", endTime: 9 })}`),
      T(`u\t1`),
      T(`p\t0\t${JSON.stringify(["lr", "0.1"])}`),
      torn, // the process died inside this write
    ]);
    const plan = planJournal(text, 1234);
    expect(plan.updates).toEqual([{ runIdx: 0, update: { status: "KILLED", endTime: 1234 } }]);
    const a = plan.batches.filter((b) => b.runIdx === 0);
    expect(a.map((b) => b.batch.metrics?.length ?? 0)).toEqual([500, 0]);
    expect(a[0]!.batch.metrics![0]).toEqual({ key: "loss", value: 1000, timestamp: 1100, step: 1000 });
    expect(a[1]!.batch.params).toEqual([{ key: "lr", value: "0.1" }]);
    const b = plan.batches.filter((x) => x.runIdx === 1)[0]!.batch.metrics!;
    expect(Number.isNaN(b[0]!.value)).toBe(true);
    expect(Object.is(b[1]!.value, -0)).toBe(true);
  });
});
