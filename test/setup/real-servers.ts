// Once per `vitest run` of the system tests: starts the real MLflow servers of the real-server
// tier on fresh databases (test/support/mlflow-servers.ts says where they come from), or says in
// one line why there are none; those tests are then counted as skipped.

import fs from "node:fs";
import path from "node:path";
import { startRealServers, stopRealServers } from "../support/mlflow-servers.js";
import { REPO_ROOT } from "../support/paths.js";

export default async function setup(): Promise<() => Promise<void>> {
  const dir = fs.mkdtempSync(path.join(process.env.TSLAB_MLFLOW_TEST_RUN_DIR ?? path.join(REPO_ROOT, "test-artifacts"), "servers-"));
  const servers = await startRealServers(dir);
  if (servers.servers.length) console.log(`real MLflow servers: ${servers.servers.map((s) => `${s.version} at ${s.url}`).join(", ")}`);
  if (servers.skipReason) console.log(`real-server tier: ${servers.servers.length ? "partly " : ""}skipped: ${servers.skipReason}`);
  return async () => {
    await stopRealServers(servers);
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
