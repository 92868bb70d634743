// Runs that end while the tracking server is down, through a spawned kernel with MLflow's
// default retries (7, 2 s doubling: minutes per request against a dead server) and
// TSLAB_MLFLOW_FLUSH_TIMEOUT=1. The cell that ends the run returns with a warning instead of
// hanging; once the server is back (a later cell, or the next kernel start) the run ends
// FINISHED on the server, after every point it logged, each delivered once. The stand-in
// answers as recorded (runs/update like exchange 061).

import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import { exchange, MlflowStandin, routeRunsCreate, routeRunsUpdate, type ReceivedRequest } from "../support/mlflow-standin.js";
import { KernelClient, startKernel } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { runCli } from "../support/run.js";

type Content = Record<string, any>;
const UPDATE = "/api/2.0/mlflow/runs/update";
const LOG_BATCH = "/api/2.0/mlflow/runs/log-batch";

let server: MlflowStandin;
let kernel: KernelClient | undefined;
let work: string;
/** run|key|step -> times the stand-in accepted the point. */
const accepted = new Map<string, number>();
const created: string[] = [];

const json = (body: unknown) => ({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
const stderrOf = (outs: Message[]) =>
  outs
    .filter((m) => m.header.msg_type === "stream" && (m.content as Content).name === "stderr")
    .map((m) => (m.content as Content).text)
    .join("");

beforeEach(async () => {
  accepted.clear();
  created.length = 0;
  server = await MlflowStandin.start();
  server.route("GET", "/api/2.0/mlflow/experiments/get", "experiments-get");
  routeRunsCreate(server, (runId) => {
    created.push(runId);
  });
  server.route("POST", LOG_BATCH, (req: ReceivedRequest) => {
    const body = req.json as Content;
    for (const m of body.metrics ?? []) {
      const id = `${body.run_id}|${m.key}|${m.step ?? 0}`;
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
    }
    return json(exchange("runs-log-batch").response.body);
  });
  server.route("PUT", /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//, "artifacts-upload-text");
  routeRunsUpdate(server);
  work = makeTempDir("magics-offline");
}, 30_000);

afterEach(async () => {
  await kernel?.close();
  kernel = undefined;
  await server.close();
  rmTempDir(work);
});

function kernelEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLFLOW_TRACKING_URI: server.url,
    MLFLOW_EXPERIMENT_ID: "1",
    TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool"),
    TSLAB_MLFLOW_FLUSH_TIMEOUT: "1",
  };
  // MLflow's default retry policy, as a user gets it.
  for (const k of ["MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_TIMEOUT"]) delete env[k];
  return env;
}

async function until(what: string, condition: () => boolean, ms = 40_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms; received ${server.received.map((r) => r.method + " " + r.path).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Requests about one run, with their position among everything the stand-in received. */
const requestsOf = (runId: string, p: string) =>
  server.received.map((r, i) => ({ r, i })).filter(({ r }) => r.path === p && (r.json as Content | undefined)?.run_id === runId);

/** The run's status arrived once, as `status`, after every log-batch of the run; each of its `steps` loss points once. */
function expectEndedAfterPoints(runId: string, status: string, steps: number): void {
  const updates = requestsOf(runId, UPDATE);
  expect(updates.map(({ r }) => (r.json as Content).status)).toEqual([status]);
  expect(requestsOf(runId, LOG_BATCH).at(-1)!.i).toBeLessThan(updates[0]!.i);
  for (let step = 0; step < steps; step++) expect(accepted.get(`${runId}|loss|${step}`), `loss@${step}`).toBe(1);
}

describe("runs ending while the tracking server is down", () => {
  it("a %%mlflow_run cell returns with a warning; with the server back, the run ends FINISHED after its points", async () => {
    kernel = await startKernel({ cwd: work, stdio: "pipe", env: kernelEnv() });
    const cell = kernel.execute(
      `%%mlflow_run offline-end\nconst { existsSync } = await import("node:fs");\n` +
        `for (let i = 0; i < 5; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\nawait mlflow.flush();\n` +
        `while (!existsSync("server-down")) await new Promise((r) => setTimeout(r, 50));\n` +
        `for (let i = 5; i < 10; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\n"cell value"`,
      // MLflow's retries against a dead server take about 4 minutes: the cell must not wait for them.
      { timeout: 60_000 },
    );
    // The server goes away while the cell runs, after the first points arrived.
    await until("first points", () => created.length === 1 && requestsOf(created[0]!, LOG_BATCH).length > 0);
    await server.refuse();
    fs.writeFileSync(path.join(work, "server-down"), "");
    const { reply, outputs } = await cell;
    const runId = created[0]!;
    expect((reply.content as Content).status).toBe("ok");
    const stderr = stderrOf(outputs);
    expect(stderr).toContain(`run ${runId} is marked FINISHED there once it does`);
    expect(stderr).toMatch(/logged item\(s\) wait in the durable spool/);
    expect(requestsOf(runId, UPDATE)).toEqual([]);

    await server.accept();
    const later = await kernel.execute(`%%mlflow_run later\nmlflow.logMetric("loss", 0.5, 0);`, { timeout: 30_000 });
    expect((later.reply.content as Content).status).toBe("ok");
    await until("the first run's FINISHED", () => requestsOf(runId, UPDATE).length > 0);
    expectEndedAfterPoints(runId, "FINISHED", 10);
    await until("the later run's FINISHED", () => requestsOf(created[1]!, UPDATE).length > 0);
    expectEndedAfterPoints(created[1]!, "FINISHED", 1);
  }, 90_000);

  it("mlflow.endRun() while the server is down, and a script-style run still open at shutdown: the next kernel start ends both FINISHED", async () => {
    kernel = await startKernel({ cwd: work, stdio: "pipe", env: kernelEnv() });
    const started = await kernel.execute(
      `await mlflow.startRun({ runName: "script-a" });\nfor (let i = 0; i < 20; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\nawait mlflow.flush();`,
      { timeout: 30_000 },
    );
    expect((started.reply.content as Content).status).toBe("ok");
    const first = created[0]!;
    await server.refuse();
    const ended = await kernel.execute(`for (let i = 20; i < 40; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\nawait mlflow.endRun();`, {
      timeout: 30_000,
    });
    expect((ended.reply.content as Content).status).toBe("ok");
    expect(stderrOf(ended.outputs)).toContain(`run ${first} is marked FINISHED there once it does`);

    // A second run, opened while the server was up and still open when the kernel shuts down.
    await server.accept();
    const second = await kernel.execute(`await mlflow.startRun({ runName: "script-b" });\nmlflow.logMetric("loss", 1, 0);`, {
      timeout: 30_000,
    });
    expect((second.reply.content as Content).status).toBe("ok");
    const open = created[1]!;
    await server.refuse();
    for (let i = 1; i < 5; i++) await kernel.execute(`mlflow.logMetric("loss", ${1 / (i + 1)}, ${i});`, { timeout: 30_000 });
    await kernel.shutdown({ timeout: 20_000 });
    expect(requestsOf(open, UPDATE)).toEqual([]);

    await server.accept();
    kernel = await startKernel({ cwd: work, stdio: "pipe", env: kernelEnv() });
    await until("both runs FINISHED", () => requestsOf(first, UPDATE).length > 0 && requestsOf(open, UPDATE).length > 0);
    expectEndedAfterPoints(first, "FINISHED", 40);
    expectEndedAfterPoints(open, "FINISHED", 5);
  }, 120_000);

  it("artifacts the server does not take wait in the spool; `tslab-mlflow sync` uploads them and ends the run", async () => {
    // One attempt per request: the uploads fail as soon as the server is gone.
    const env = { ...kernelEnv(), MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
    kernel = await startKernel({ cwd: work, stdio: "pipe", env });
    const cell = kernel.execute(
      `%%mlflow_run offline-artifacts\nconst { existsSync } = await import("node:fs");\n` +
        `while (!existsSync("server-down")) await new Promise((r) => setTimeout(r, 50));\ndisplay.html("<b>made offline</b>");\n"done"`,
      { timeout: 60_000 },
    );
    await until("the run", () => created.length === 1);
    const runId = created[0]!;
    await server.refuse();
    fs.writeFileSync(path.join(work, "server-down"), "");
    const { reply, outputs } = await cell;
    expect((reply.content as Content).status).toBe("ok");
    expect(stderrOf(outputs)).toMatch(new RegExp(`Artifact \\S+ of run ${runId} waits in the spool`));
    await kernel.shutdown({ timeout: 20_000 });
    kernel = undefined;
    const artifactsDir = fs
      .readdirSync(path.join(work, "spool"))
      .map((d) => path.join(work, "spool", d, "artifacts"))
      .find((d) => fs.existsSync(d))!;
    const waiting = () => fs.readdirSync(artifactsDir).filter((f) => f.endsWith(".json"));
    expect(waiting().length).toBeGreaterThan(0);

    await server.accept();
    const sync = await runCli(["sync"], { env });
    expect(sync.status, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/Delivered \d+ of \d+ spooled requests and (\d+) of \1 artifact uploads/);
    expect(waiting()).toEqual([]);
    const uploaded = server.received.filter((r) => r.method === "PUT" && r.path.includes(`/${runId}/artifacts/`));
    const html = uploaded.find((r) => r.path.endsWith(".html"));
    expect(html && Buffer.from(html.body).toString()).toContain("<b>made offline</b>");
    expect(requestsOf(runId, UPDATE).map(({ r }) => (r.json as Content).status)).toEqual(["FINISHED"]);
  }, 90_000);
});
