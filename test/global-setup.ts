// Once per `vitest run`: every test run gets its own cache and spool directories (no test
// touches ~/.cache), and the real MLflow servers of the real-server tier are started on fresh
// databases. Test processes inherit both through the environment.

import fs from "node:fs";
import path from "node:path";
import { startRealServers, stopRealServers } from "./support/mlflow-servers.js";
import { REPO_ROOT } from "./support/paths.js";

export default async function setup(): Promise<() => Promise<void>> {
  const base = path.join(REPO_ROOT, "test-artifacts");
  fs.mkdirSync(base, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(base, "run-"));
  process.env.XDG_CACHE_HOME = path.join(runDir, "cache");
  process.env.TSLAB_MLFLOW_SPOOL_DIR = path.join(runDir, "spool");
  delete process.env.TSLAB_MLFLOW_CACHE_DIR;
  // The tier's tests talk to servers on loopback; a proxy in the environment must not intercept them.
  process.env.NO_PROXY = [process.env.NO_PROXY, "127.0.0.1,localhost"].filter(Boolean).join(",");

  const servers = await startRealServers(runDir);
  if (servers.servers.length) console.log(`real MLflow servers: ${servers.servers.map((s) => `${s.version} at ${s.url}`).join(", ")}`);
  if (servers.skipReason) console.log(`real-server tier: ${servers.servers.length ? "partly " : ""}skipped: ${servers.skipReason}`);
  return async () => {
    await stopRealServers(servers);
    fs.rmSync(runDir, { recursive: true, force: true });
  };
}
