// MLflow Projects: MLflow's own project runner (`mlflow run DIR -P k=v --env-manager local`,
// the Python CLI of 2.22 and 3.4) runs the example project in notebooks/project, whose entry
// point is `tslab-mlflow run line-fit.ipynb -p ...`. The runner creates the run and hands its
// id to the command as MLFLOW_RUN_ID; our `run` must log into that run (params, the executed
// notebook, tags it lacks, the cells' runs nested under it) and leave its end to the runner,
// which sets FINISHED or FAILED from the command's exit code. MLflow's Python client of the
// same version reads it all back.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SERVER_KIT, forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";
import { CLI_MAIN, REPO_ROOT } from "../support/paths.js";
import { run, runCli } from "../support/run.js";
import { MlflowClient } from "../../tracking/index.js";

const PROJECT = path.join(REPO_ROOT, "notebooks", "project");
const NOTEBOOK_OUT = "line-fit.out.ipynb";
/** A project run: the runner starts it, the kernel compiles, eight cells run, artifacts upload. */
const TIMEOUT = 300_000;

interface ProjectRun {
  runId: string;
  status: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  artifacts: string[];
}
interface ReadBack {
  runs: ProjectRun[];
}

let work: string;
let bin: string;

beforeAll(() => {
  // Outside the repo: the runner looks for a git work tree around the project, and a user's
  // copy of the project sits anywhere.
  work = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-project-"));
  // `tslab-mlflow` on PATH, as a global install or `npm link` puts it there for a user.
  bin = path.join(work, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, "tslab-mlflow"),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} "$@"\n`,
    { mode: 0o755 },
  );
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh copy of the example project (what a user's earlier runs wrote beside it left out). */
function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(work, "project-"));
  fs.cpSync(PROJECT, dir, { recursive: true, filter: (src) => !src.endsWith(".out.ipynb") });
  return dir;
}

/**
 * The environment of a test's processes: the server, its own spool, no inherited run. The
 * compiler cache is the suite run's (global setup): a warm one spares each kernel a cold start.
 */
function envFor(server: RealServer, dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
    MLFLOW_TRACKING_URI: server.url,
    TSLAB_MLFLOW_SPOOL_DIR: path.join(dir, ".spool"),
  };
  for (const key of ["MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"]) delete env[key];
  return { ...env, ...extra };
}

/** `mlflow run` on a fresh copy of the example project; resolves when the runner exits. */
async function mlflowRun(server: RealServer, params: Record<string, string>, experiment: string) {
  const dir = copyProject();
  const args = [
    "-m",
    "mlflow",
    "run",
    dir,
    ...Object.entries(params).flatMap(([k, v]) => ["-P", `${k}=${v}`]),
    "--env-manager",
    "local",
    "--experiment-name",
    experiment,
  ];
  const r = await run(path.join(SERVER_KIT, "python.sh"), [server.version, ...args], {
    env: envFor(server, dir),
    timeout: TIMEOUT - 20_000,
  });
  return { code: r.status, output: r.stdout + r.stderr, dir };
}

/** Every run of the experiment, read by MLflow's own client: status, params, tags, top-level artifacts. */
const readBack = (server: RealServer, experiment: string) =>
  mlflowPython<ReadBack>(
    server.version,
    server.url,
    `
import json, mlflow
client = mlflow.MlflowClient()
exp = client.get_experiment_by_name(${JSON.stringify(experiment)})
runs = client.search_runs([exp.experiment_id])
print(json.dumps({"runs": [{
  "runId": r.info.run_id, "status": r.info.status, "params": r.data.params, "tags": r.data.tags,
  "artifacts": sorted(a.path for a in client.list_artifacts(r.info.run_id)),
} for r in runs]}))
`,
  );

forEachRealServer("an MLflow project whose entry point is tslab-mlflow run", (server) => {
  const unique = () => `project-${randomBytes(4).toString("hex")}`;

  it(
    "logs into the runner's run: the notebook's params and artifacts, the cells' runs nested under it, FINISHED by the runner",
    async () => {
      const experiment = unique();
      // Written as the runner logs it ("0.50"), which is the notebook's 0.5: MLflow params cannot
      // change, so logging "0.5" over it would be refused.
      const ran = await mlflowRun(server, { learning_rate: "0.50" }, experiment);
      expect(ran.code, ran.output).toBe(0);
      const runId = /run with ID '([0-9a-f]+)'/.exec(ran.output)?.[1];
      expect(runId, ran.output).toBeDefined();
      // Our `run` said whose the run is rather than ending it.
      expect(ran.output).toContain(`MLflow run ${runId} (experiment`);
      expect(ran.output).toMatch(/notebook FINISHED; the run's own status is left to whoever started it/);

      const { runs } = await readBack(server, experiment);
      const project = runs.find((r) => r.runId === runId)!;
      const cells = runs.filter((r) => r.runId !== runId);
      // One run for the project, none of our own beside it: the notebook logged into it.
      expect(runs.filter((r) => !r.tags["mlflow.parentRunId"]).map((r) => r.runId)).toEqual([runId]);
      expect(project.status).toBe("FINISHED");
      // The value given to `mlflow run`, and the entry point's default for the other.
      expect(project.params).toEqual({ learning_rate: "0.50", epochs: "30" });
      expect(ran.output).not.toContain("note: param");
      expect(project.artifacts).toEqual(expect.arrayContaining([NOTEBOOK_OUT, "line-fit.out.html"]));
      // The runner's own tags stay; ours fill in only what it did not set.
      expect(project.tags).toMatchObject({
        "mlflow.source.type": "PROJECT",
        "mlflow.source.name": ran.dir,
        "mlflow.project.entryPoint": "main",
        "tslab_mlflow.notebook": path.join(ran.dir, "line-fit.ipynb"),
      });

      expect(cells.map((r) => r.tags["mlflow.runName"]).sort()).toEqual(["full-step", "tenth-step"]);
      for (const cell of cells) {
        expect(cell.tags["mlflow.parentRunId"]).toBe(runId);
        expect(cell.status).toBe("FINISHED");
      }

      // The executed notebook in the run is the one with the injected parameter.
      const logged = await mlflowPython<{ text: string }>(
        server.version,
        server.url,
        `
import json, mlflow, pathlib
p = mlflow.artifacts.download_artifacts(run_id=${JSON.stringify(runId)}, artifact_path=${JSON.stringify(NOTEBOOK_OUT)})
print(json.dumps({"text": pathlib.Path(p).read_text()}))
`,
      );
      const nb = JSON.parse(logged.text) as {
        cells: { source: string | string[]; outputs?: unknown[] }[];
        metadata: { tslab_mlflow: { run_id: string } };
      };
      expect(nb.metadata.tslab_mlflow.run_id).toBe(runId);
      expect(nb.cells.some((c) => [c.source].flat().join("").includes("learning_rate = 0.5"))).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "a failing notebook cell: the command exits non-zero and the runner ends the run FAILED",
    async () => {
      const experiment = unique();
      // The notebook refuses epochs below 1 in its third cell, before any %%mlflow_run cell.
      const ran = await mlflowRun(server, { epochs: "0" }, experiment);
      expect(ran.code, ran.output).not.toBe(0);
      expect(ran.output).toContain("epochs must be a positive whole number, got 0");
      const runId = /run with ID '([0-9a-f]+)'/.exec(ran.output)?.[1];
      expect(runId, ran.output).toBeDefined();
      expect(ran.output).toMatch(/notebook FAILED; the run's own status is left to whoever started it/);

      const { runs } = await readBack(server, experiment);
      expect(runs.map((r) => r.runId)).toEqual([runId]);
      const [project] = runs;
      expect(project!.status).toBe("FAILED");
      expect(project!.params).toEqual({ learning_rate: "0.1", epochs: "0" });
      // The executed notebook, with the error, is in the run all the same.
      expect(project!.artifacts).toContain(NOTEBOOK_OUT);
    },
    TIMEOUT,
  );

  it(
    "refuses an MLFLOW_RUN_ID that is not a RUNNING run on that server, naming it, and touches nothing",
    async () => {
      const client = new MlflowClient(server.url, {});
      try {
        const experiment = await client.getOrCreateExperiment(unique());
        const ended = await client.createRun(experiment.experimentId, { runName: "ended" });
        await client.setTerminated(ended.info.runId, "FINISHED");
        const unknown = "0123456789abcdef0123456789abcdef";
        const dir = copyProject();
        const tried = (runId: string) =>
          runCli(["run", path.join(dir, "line-fit.ipynb"), "-o", path.join(dir, `${runId}.out.ipynb`)], {
            env: envFor(server, dir, { MLFLOW_RUN_ID: runId }),
          });
        const [finished, missing] = await Promise.all([tried(ended.info.runId), tried(unknown)]);

        expect(finished.status, finished.stderr).toBe(1);
        expect(finished.stderr).toContain(`MLFLOW_RUN_ID=${ended.info.runId}: that run on ${server.url} is FINISHED, expected RUNNING`);
        expect(missing.status, missing.stderr).toBe(1);
        expect(missing.stderr).toContain(`MLFLOW_RUN_ID=${unknown}: cannot open that run on ${server.url}`);
        // No cell ran, no run was created in its place, and the ended run got nothing.
        expect(finished.stderr + missing.stderr).not.toMatch(/Executed \d+ of/);
        const { runs } = await readBack(server, experiment.name);
        expect(runs.map((r) => [r.runId, r.status, r.params])).toEqual([[ended.info.runId, "FINISHED", {}]]);
      } finally {
        await client.close();
      }
    },
    TIMEOUT,
  );
});
