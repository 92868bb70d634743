// %%mlflow_run against an MLflow server stand-in (answers recorded from MLflow 2.22) through a
// spawned kernel: the summary links to the run in the server's UI, and when the server refuses
// log-batch the user's cell is unaffected, a warning is shown, the run still ends, and the
// points wait in the durable spool until the server takes them.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, MlflowStandin, routeRunsCreate, type ReceivedRequest } from "../support/mlflow-standin.js";
import { contentsOf, KernelClient, startKernel } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;

let server: MlflowStandin;
let kernel: KernelClient;
let work: string;
let logBatchDown = true;
let lastRunId = "";
/** Metric points the server acknowledged. */
const accepted: Content[] = [];

const json = (body: unknown) => ({ status: 200, contentType: "application/json", body: JSON.stringify(body) });

beforeAll(async () => {
  server = await MlflowStandin.start();
  server.route("GET", "/api/2.0/mlflow/experiments/get", "experiments-get");
  routeRunsCreate(server, (runId) => {
    lastRunId = runId;
  });
  server.route("POST", "/api/2.0/mlflow/runs/log-batch", (req: ReceivedRequest) => {
    if (logBatchDown) return { status: 503, contentType: "text/html", body: "<html>down for maintenance</html>" };
    accepted.push(...(((req.json as Content).metrics ?? []) as Content[]));
    return s200();
  });
  server.route("PUT", /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//, "artifacts-upload-text");
  server.route("POST", "/api/2.0/mlflow/runs/update", (req: ReceivedRequest, s) => {
    const body = s.substitute(exchange("runs-update-finished").response.body) as Content;
    const sent = req.json as Content;
    Object.assign(body.run_info, { run_id: sent.run_id, run_uuid: sent.run_id, status: sent.status, end_time: sent.end_time });
    return json(body);
  });
  work = makeTempDir("magics-http");
  kernel = await startKernel({
    cwd: work,
    stdio: "pipe",
    env: {
      ...process.env,
      MLFLOW_TRACKING_URI: server.url,
      MLFLOW_EXPERIMENT_ID: "1",
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
      TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool"),
    },
  });
}, 60_000);
const s200 = () => json(exchange("runs-log-batch").response.body);
afterAll(async () => {
  await kernel?.close();
  await server?.close();
  rmTempDir(work);
});

const spooledFiles = (): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "rejected") walk(path.join(d, e.name));
      else if (e.isFile() && e.name.endsWith(".json") && !e.name.startsWith(".tmp")) out.push(path.join(d, e.name));
    }
  };
  walk(path.join(work, "spool"));
  return out;
};

describe("%%mlflow_run with a tracking server", () => {
  it("keeps the cell's own result, warns, ends the run, and spools the points when log-batch fails", async () => {
    const { reply, outputs } = await kernel.execute(
      `%%mlflow_run offline --param lr=0.1\nfor (let i = 0; i < 3; i++) mlflow.logMetric("loss", 1 / (i + 1), i);\n"cell value"`,
      { timeout: 60_000 },
    );
    expect((reply.content as Content).status).toBe("ok");
    expect(contentsOf(outputs, "execute_result")[0]!.data["text/plain"]).toContain("cell value");
    const stderr = contentsOf(outputs, "stream")
      .filter((c) => c.name === "stderr")
      .map((c) => c.text)
      .join("");
    expect(stderr).toMatch(/Warning: .*wait in the spool/);
    // The FINISHED status waits in the spool behind the run's points: never before them on the server.
    expect(stderr).toMatch(/marked FINISHED there once it does/);
    expect(server.received.some((r) => r.path === "/api/2.0/mlflow/runs/update")).toBe(false);
    const runId = lastRunId;
    const summary = contentsOf(outputs, "display_data").at(-1)!.data;
    expect(summary["text/plain"]).toContain(`${server.url}/#/experiments/1/runs/${runId}`);
    expect(summary["text/html"]).toContain(`href="${server.url}/#/experiments/1/runs/${runId}"`);
    const files = spooledFiles();
    expect(files.length).toBeGreaterThan(0);
    const spooled = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    expect(spooled).toContain(runId);
    expect(spooled).toContain('"loss"');
    const artifacts = server.received.filter((r) => r.method === "PUT").map((r) => r.path.split("/artifacts/").at(-1));
    expect(artifacts).toEqual(expect.arrayContaining(["source.ts", "notebook.ipynb"]));
  });

  it("delivers the spooled points once the server takes log-batch again", async () => {
    logBatchDown = false;
    const { reply } = await kernel.execute(`%%mlflow_run online\nmlflow.logMetric("acc", 0.9);`, { timeout: 60_000 });
    expect((reply.content as Content).status).toBe("ok");
    await kernel.execute(`await mlflow.flush();`, { timeout: 60_000 });
    const delivered = accepted;
    const losses = delivered.filter((m) => m.key === "loss").map((m) => m.step);
    expect(losses).toEqual([0, 1, 2]);
    expect(delivered.some((m) => m.key === "acc")).toBe(true);
    expect(spooledFiles()).toEqual([]);
    // The first run's FINISHED arrived, after its points.
    const firstRun = `${server.ids.RUN_A.slice(0, 28)}0001`;
    const ofFirst = (path: string) =>
      server.received.map((r, i) => ({ r, i })).filter(({ r }) => r.path === path && (r.json as Content).run_id === firstRun);
    const updates = ofFirst("/api/2.0/mlflow/runs/update");
    expect(updates.map(({ r }) => (r.json as Content).status)).toEqual(["FINISHED"]);
    expect(ofFirst("/api/2.0/mlflow/runs/log-batch").at(-1)!.i).toBeLessThan(updates[0]!.i);
  });
});
