// A kernel killed with SIGKILL in the middle of a %%mlflow_run cell that has logged 100,001
// points, against real MLflow 2.22 and 3.4: its watchdog (a detached process the kernel started,
// woken by the EOF of a pipe) marks the run KILLED, with an end time, within 5 s of the kill,
// then delivers what the kernel's journal holds into the ended run (which the server accepts).
// Lost at most: the points logged in the last 50 ms before the kill. The cell writes its count
// and the time every 1,000 points to a side file synchronously, so the test knows what was
// logged when; it spins after its last point, so the kill lands inside the cell.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { RestStore } from "../../tracking/index.js";
import { forEachRealServer, type RealServer } from "../support/mlflow-servers.js";
import { type KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

const POINTS = 100_001;

/** Polls `check` until it returns a value (a condition, not a fixed sleep); throws after `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const spoolFiles = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      if (e.isDirectory()) {
        if (e.name !== "rejected") walk(path.join(d, e.name));
      } else out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
};

forEachRealServer("a kernel killed with SIGKILL inside a %%mlflow_run cell", (server: RealServer) => {
  const dirs: string[] = [];
  const kernels: KernelClient[] = [];
  afterAll(async () => {
    for (const k of kernels) await k.close().catch(() => undefined);
    for (const d of dirs) rmTempDir(d);
  });

  it("takes log-batch into a run already FINISHED or KILLED (what lets a status overtake its backlog)", async () => {
    const store = new RestStore({ baseUrl: server.url });
    try {
      const exp = await store.createExperiment(`ended-runs-${randomBytes(4).toString("hex")}`);
      for (const status of ["FINISHED", "KILLED"] as const) {
        const run = await store.createRun({ experimentId: exp, startTime: Date.now() });
        await store.updateRun(run.info.runId, { status, endTime: Date.now() });
        await store.logBatch(run.info.runId, {
          metrics: [
            { key: "late", value: 1, timestamp: 1, step: 0 },
            { key: "late", value: 2, timestamp: 2, step: 1 },
          ],
        });
        const after = await store.getRun(run.info.runId);
        expect(after.info.status).toBe(status);
        expect((await store.getMetricHistory(run.info.runId, "late")).map((m) => m.value)).toEqual([1, 2]);
      }
    } finally {
      await store.close();
    }
  });

  it(`loses at most the last 50 ms of ${POINTS} points, and the run is KILLED within 5 s by the watchdog`, async () => {
    const work = makeTempDir(`killed-kernel-${server.version}`);
    dirs.push(work);
    const spool = path.join(work, "spool");
    const side = path.join(work, "side.txt");
    const kernel = await startKernelIn(work, { MLFLOW_TRACKING_URI: server.url });
    kernels.push(kernel);
    const experiment = `killed-kernel-${randomBytes(4).toString("hex")}`;
    expect((await kernel.execute(`%mlflow_experiment ${experiment}`, { timeout: 120_000 })).reply.content.status).toBe("ok");

    let ended: string | undefined;
    void kernel
      .execute(
        [
          `%%mlflow_run doomed`,
          `import { openSync, writeSync } from "fs";`,
          `const side = openSync(${JSON.stringify(side)}, "w");`,
          `writeSync(side, "run " + mlflow.activeRun()!.runId + "\\n");`,
          `for (let i = 0; i < ${POINTS}; i++) {`,
          `  mlflow.logMetric("m", i, i);`,
          `  if (i % 1000 === 999) writeSync(side, (i + 1) + " " + Date.now() + "\\n");`,
          `}`,
          `writeSync(side, "done ${POINTS} " + Date.now() + "\\n");`,
          `while (true) {}`,
        ].join("\n"),
        { timeout: 600_000 },
      )
      .then(
        (r) => (ended = JSON.stringify(r.reply.content)),
        () => undefined,
      );

    const lines = await until("the cell's last point", 120_000, () => {
      if (ended) throw new Error(`the cell ended before its last point: ${ended}`);
      const text = fs.existsSync(side) ? fs.readFileSync(side, "utf8") : "";
      return text.includes("done ") ? text.trim().split("\n") : undefined;
    });
    const exited = kernel.exited;
    process.kill(kernel.pid!, "SIGKILL");
    const killedAt = Date.now();
    await exited;

    const runId = lines[0]!.split(" ")[1]!;
    const marks = lines.slice(1).map(
      (l) =>
        l
          .replace(/^done /, "")
          .split(" ")
          .map(Number) as [number, number],
    );
    const lastAt = marks.at(-1)![1];
    // Every point logged 50 ms or more before the last one must arrive.
    const mustHave = Math.max(0, ...marks.filter(([, t]) => t <= lastAt - 50).map(([n]) => n));

    const store = new RestStore({ baseUrl: server.url });
    try {
      const run = await until("the run KILLED on the server", 30_000, async () => {
        const r = await store.getRun(runId);
        return r.info.status === "RUNNING" ? undefined : r;
      });
      const killedWithin = Date.now() - killedAt;
      expect(run.info.status).toBe("KILLED");
      expect(run.info.endTime).toBeGreaterThan(0);
      expect(killedWithin, `KILLED ${killedWithin} ms after the kill`).toBeLessThan(5_000);

      // The watchdog delivers the backlog into the ended run, then its spool is empty.
      await until("the spool delivered", 540_000, () => (spoolFiles(spool).length === 0 ? true : undefined));
      const history = await store.getMetricHistory(runId, "m");
      const steps = new Set(history.map((m) => m.step));
      const missing: number[] = [];
      for (let s = 0; s < mustHave; s++) if (!steps.has(s)) missing.push(s);
      console.log(
        `MLflow ${server.version}: logged ${POINTS}, on the server ${steps.size} (${history.length} rows), ` +
          `KILLED ${killedWithin} ms after the kill; every point before ${mustHave} required`,
      );
      expect(missing.slice(0, 10), `${missing.length} points logged ≥50 ms before the last are missing`).toEqual([]);
      expect(history.length, "no point delivered twice").toBe(steps.size);
    } finally {
      await store.close();
    }
  }, 900_000);
});
