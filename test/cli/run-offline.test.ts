// `tslab-mlflow run` when the tracking server goes away before the notebook ends: the run
// still exits 0 (every cell ran), says what waits, and `tslab-mlflow sync` later uploads the
// executed notebook and ends the run FINISHED, rather than leaving it RUNNING. The compiled
// CLI and our kernel against the recorded MLflow server's stand-in on loopback.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlflowStandin, routeRunsCreate, routeRunsUpdate } from "../support/mlflow-standin.js";
import { CLI_MAIN, makeTempDir, rmTempDir } from "../support/paths.js";
import { runCli } from "../support/run.js";
import { code, notebook, writeNotebook } from "./notebooks.js";

type Content = Record<string, any>;
const UPDATE = "/api/2.0/mlflow/runs/update";

let server: MlflowStandin;
let dir: string;
const created: string[] = [];

beforeEach(async () => {
  created.length = 0;
  server = await MlflowStandin.start();
  server.route("GET", "/api/2.0/mlflow/experiments/get", "experiments-get");
  routeRunsCreate(server, (runId) => void created.push(runId));
  server.route("POST", "/api/2.0/mlflow/runs/log-batch", "runs-log-batch");
  server.route("PUT", /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//, "artifacts-upload-text");
  routeRunsUpdate(server);
  dir = makeTempDir("run-offline");
});

afterEach(async () => {
  await server.close();
  rmTempDir(dir);
});

describe("run: the tracking server goes away before the end", () => {
  it("exits 0 saying what waits; sync then uploads the executed notebook and ends the run FINISHED", async () => {
    // The cell says when it runs, and waits until the server is gone.
    writeNotebook(
      dir,
      "offline.ipynb",
      notebook([
        code(
          'const fs = require("node:fs");\nfs.writeFileSync("running", "");\nwhile (!fs.existsSync("server-gone")) await new Promise((r) => setTimeout(r, 50));\n"finished offline"',
        ),
      ]),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MLFLOW_TRACKING_URI: server.url,
      MLFLOW_EXPERIMENT_ID: "1",
      TSLAB_MLFLOW_SPOOL_DIR: path.join(dir, "spool"),
      TSLAB_MLFLOW_FLUSH_TIMEOUT: "2",
      // One attempt per request: the server is gone, not slow.
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
    };
    delete env.MLFLOW_RUN_ID;
    const child = spawn(process.execPath, [CLI_MAIN, "run", "offline.ipynb"], { cwd: dir, env });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(path.join(dir, "running"))) {
      if (Date.now() > deadline) throw new Error(`the cell never ran: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await server.refuse();
    fs.writeFileSync(path.join(dir, "server-gone"), "");
    expect(await exited, stderr).toBe(0);
    const runId = created[0]!;
    expect(stdout).toContain(`MLflow run ${runId} FINISHED`);
    expect(stderr).toMatch(
      /warning: .* did not take offline\.out\.ipynb, offline\.out\.html, the run's FINISHED status in time: they wait in the spool/,
    );

    await server.accept();
    const sync = await runCli(["sync"], { cwd: dir, env });
    expect(sync.status, sync.stderr).toBe(0);
    const put = server.received.find((r) => r.method === "PUT" && r.path.endsWith(`/${runId}/artifacts/offline.out.ipynb`));
    expect(JSON.parse(Buffer.from(put!.body).toString()).cells[0].outputs[0].data["text/plain"]).toEqual(["'finished offline'"]);
    const updates = server.received.filter((r) => r.path === UPDATE && (r.json as Content).run_id === runId);
    expect(updates.map((r) => (r.json as Content).status)).toEqual(["FINISHED"]);
  }, 120_000);
});
