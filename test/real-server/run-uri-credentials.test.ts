// A password in MLFLOW_TRACKING_URI (`http://user:pass@host`) is never shown: `tslab-mlflow run`
// against a real server with such a URI prints it nowhere, stores it in no notebook metadata,
// and neither the uploaded notebook and page nor the cells' `%mlflow_status` and run summary
// (which link to the run) carry it. The server ignores the credentials; they are only a secret.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachRealServer, type RealServer } from "../support/mlflow-servers.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { runCli, type RunResult } from "../support/run.js";
import { MlflowClient } from "../../tracking/index.js";
import { code, notebook, readJson, writeNotebook } from "../cli/notebooks.js";

const PASSWORD = `pw-${randomBytes(6).toString("hex")}`;

forEachRealServer("tslab-mlflow run with credentials in MLFLOW_TRACKING_URI", (server: RealServer) => {
  const experiment = `uri-credentials-${randomBytes(4).toString("hex")}`;
  let work: string;
  let result: RunResult;
  let uri: string;

  beforeAll(async () => {
    work = makeTempDir(`uri-credentials-${server.version}`);
    const u = new URL(server.url);
    u.username = "alice";
    u.password = PASSWORD;
    uri = u.toString();
    const input = writeNotebook(
      work,
      "creds.ipynb",
      notebook([code("%mlflow_status"), code(`%%mlflow_run child\nmlflow.logMetric("m", 1);\nconsole.log(mlflow.trackingUri);`)]),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_TRACKING_URI: uri, TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool") };
    delete env.MLFLOW_RUN_ID;
    delete env.MLFLOW_EXPERIMENT_ID;
    delete env.MLFLOW_EXPERIMENT_NAME;
    result = await runCli(["run", input, "--experiment", experiment], { cwd: work, env, timeout: 180_000 });
  }, 200_000);
  afterAll(() => rmTempDir(work));

  it("shows the password nowhere: output, notebook metadata and outputs, uploaded notebook and page", async () => {
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    const local = fs.readFileSync(path.join(work, "creds.out.ipynb"), "utf8");
    expect(local).not.toContain(PASSWORD);
    const nb = readJson(path.join(work, "creds.out.ipynb"));
    expect(nb.metadata.tslab_mlflow.tracking_uri).toBe(`http://[REDACTED]@${new URL(server.url).host}/`);
    // The cells' own displays: the status table and the run summary with its link.
    expect(local).toMatch(/tracking URI\s+http:\/\/\[REDACTED\]@127\.0\.0\.1/);
    expect(local).toContain(`href=\\"${server.url}/#/experiments/`);

    const client = new MlflowClient(server.url, {});
    const runId = nb.metadata.tslab_mlflow.run_id as string;
    for (const file of ["creds.out.ipynb", "creds.out.html"]) {
      expect(Buffer.from(await client.downloadArtifact(runId, file)).toString()).not.toContain(PASSWORD);
    }
    const exp = await client.getExperimentByName(experiment);
    const runs = (await client.store.searchRuns({ experimentIds: [exp!.experimentId], maxResults: 10 })).items;
    expect(runs.map((r) => r.info.runName).sort()).toEqual(["child", "creds"]);
    const child = runs.find((r) => r.info.runName === "child")!;
    expect(Buffer.from(await client.downloadArtifact(child.info.runId, "outputs/stdout.txt")).toString()).not.toContain(PASSWORD);
    await client.close();
  }, 60_000);
});
