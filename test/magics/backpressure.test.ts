// Logging faster than delivery, through a spawned kernel and an MLflow stand-in over HTTP: a
// %%mlflow_run cell calls mlflow.logMetric in a tight loop until it is interrupted, after it
// said (in a side file, synchronously) that it logged 2,000,000 points, four times the
// logger's bound. The interrupt is answered within 1 s; the run's KILLED status reaches the
// server before its backlog does; the backlog never passed the bound (points past it were
// dropped, said once while logging and counted at the run's end), the kernel's memory stays
// bounded, and every point not dropped reaches the server after the KILLED status.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BACKLOG } from "../../tracking/index.js";
import { exchange, MlflowStandin, routeRunsCreate, type ReceivedRequest } from "../support/mlflow-standin.js";
import { contentsOf, KernelClient, startKernel } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;

let server: MlflowStandin;
let kernel: KernelClient;
let work: string;
let accepted = 0;
/** Points the server had accepted when each status update arrived. */
const updates: { status: string; acceptedBefore: number; at: number }[] = [];

beforeAll(async () => {
  server = await MlflowStandin.start();
  server.route("GET", "/api/2.0/mlflow/experiments/get", "experiments-get");
  routeRunsCreate(server, () => {});
  server.route("POST", "/api/2.0/mlflow/runs/log-batch", (req: ReceivedRequest) => {
    accepted += ((req.json as Content).metrics ?? []).length;
    return { status: 200, contentType: "application/json", body: JSON.stringify(exchange("runs-log-batch").response.body) };
  });
  server.route("PUT", /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//, "artifacts-upload-text");
  server.route("POST", "/api/2.0/mlflow/runs/update", (req: ReceivedRequest, s) => {
    const sent = req.json as Content;
    updates.push({ status: sent.status, acceptedBefore: accepted, at: Date.now() });
    const body = s.substitute(exchange("runs-update-finished").response.body) as Content;
    Object.assign(body.run_info, { run_id: sent.run_id, run_uuid: sent.run_id, status: sent.status, end_time: sent.end_time });
    return { status: 200, contentType: "application/json", body: JSON.stringify(body) };
  });
  work = makeTempDir("magics-backpressure");
  kernel = await startKernel({
    cwd: work,
    stdio: "pipe",
    env: { ...process.env, MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_ID: "1", TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool") },
  });
}, 60_000);
afterAll(async () => {
  await kernel?.close();
  await server?.close();
  rmTempDir(work);
});

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

describe("a tight logging loop", () => {
  it("interrupted after 2,000,000 points: answered within 1 s, KILLED before the backlog, the backlog bounded, drops said once", async () => {
    const side = path.join(work, "count.txt");
    const rssBefore = rssMb(kernel.pid!);
    const running = kernel.execute(
      [
        `%%mlflow_run flood`,
        `import { openSync, writeSync } from "fs";`,
        `const side = openSync(${JSON.stringify(side)}, "w");`,
        `for (let i = 1; ; i++) {`,
        `  mlflow.logMetric("m", i, i);`,
        `  if (i % 100000 === 0) writeSync(side, i + "\\n");`,
        `}`,
      ].join("\n"),
      { timeout: 120_000 },
    );
    const deadline = Date.now() + 90_000;
    let logged = 0;
    while (logged < 2_000_000) {
      if (Date.now() > deadline) throw new Error(`the cell logged only ${logged} points`);
      await new Promise((r) => setTimeout(r, 50));
      const text = fs.existsSync(side) ? fs.readFileSync(side, "utf8").trim() : "";
      logged = Number(text.split("\n").at(-1) || 0);
    }
    const rssAtInterrupt = rssMb(kernel.pid!);
    const t0 = Date.now();
    await kernel.interrupt();
    const { reply, outputs } = await running;
    const answeredIn = Date.now() - t0;
    expect((reply.content as Content).status).toBe("error");
    expect(answeredIn, `interrupt answered after ${answeredIn} ms`).toBeLessThan(1_000);

    const killed = updates.find((u) => u.status === "KILLED");
    expect(killed, "the KILLED status reached the server").toBeDefined();
    // It overtook the backlog: most of what was logged had not arrived yet.
    expect(killed!.acceptedBefore).toBeLessThan(logged - 100_000);

    const stderr = contentsOf(outputs, "stream")
      .filter((c) => c.name === "stderr")
      .map((c) => c.text)
      .join("");
    expect(stderr.match(/backlog of undelivered points is at its bound/g)).toHaveLength(1);
    const dropped = Number(/(\d+) metric point\(s\) of run \w+ were dropped/.exec(stderr)?.[1]);
    expect(dropped).toBeGreaterThan(logged - MAX_BACKLOG - accepted - 1);

    // Every point not dropped arrives, after the status.
    const total = () => accepted + dropped;
    const until = Date.now() + 90_000;
    while (total() < logged && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(total()).toBeGreaterThanOrEqual(logged);
    console.log(
      `logged ≥${logged}, dropped ${dropped}, on the server when KILLED arrived ${killed!.acceptedBefore}, in the end ${accepted}; ` +
        `interrupt answered in ${answeredIn} ms; kernel RSS ${rssBefore.toFixed(0)} MB before, ${rssAtInterrupt.toFixed(0)} MB at the interrupt`,
    );
    expect(rssAtInterrupt - rssBefore, "memory grew by less than 400 MB").toBeLessThan(400);
  }, 240_000);
});
