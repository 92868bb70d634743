// Shared by the `tslab-mlflow run` tests: a temp dir with its own file store, the CLI run
// against it, and the tracked runs read back through tracking/.
import fs from "node:fs";
import path from "node:path";
import { MlflowClient, type Run } from "../../tracking/index.js";
import { makeTempDir } from "../support/paths.js";
import { runCli, type RunResult } from "../support/run.js";
import { paramsOf, tagsOf } from "../support/store-reads.js";
import { readJson } from "./notebooks.js";

export interface Workspace {
  dir: string;
  store: string;
  env: NodeJS.ProcessEnv;
}

export function workspace(prefix: string): Workspace {
  const dir = makeTempDir(prefix);
  const store = path.join(dir, "mlruns");
  const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_TRACKING_URI: store };
  delete env.MLFLOW_EXPERIMENT_ID;
  delete env.MLFLOW_EXPERIMENT_NAME;
  delete env.MLFLOW_RUN_ID;
  return { dir, store, env };
}

export function runNotebookCli(ws: Workspace, args: string[], timeout = 120_000): Promise<RunResult> {
  return runCli(["run", ...args], { cwd: ws.dir, env: ws.env, timeout });
}

/** The run id the CLI recorded in the executed notebook's metadata. */
export function runIdOf(outFile: string): string {
  return readJson(outFile).metadata.tslab_mlflow.run_id as string;
}

export async function readRun(
  ws: Workspace,
  runId: string,
): Promise<{ run: Run; tags: Record<string, string>; params: Record<string, string>; artifacts: string[]; client: MlflowClient }> {
  const client = new MlflowClient(ws.store, {});
  const run = await client.getRun(runId);
  const artifacts = (await client.listArtifacts(runId)).map((f) => f.path);
  return { run, tags: tagsOf(run), params: paramsOf(run), artifacts, client };
}

/** The status of the run the CLI recorded in `outFile`, read back from the workspace's store. */
export async function runStatusOf(ws: Workspace, outFile: string): Promise<string> {
  const { run, client } = await readRun(ws, runIdOf(outFile));
  await client.close();
  return run.info.status;
}

export function sourceOf(cell: { source: string | string[] }): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

export function exists(file: string): boolean {
  return fs.existsSync(file);
}
