// Real MLflow tracking servers for the suite's real-server tier. The global setup starts one
// server per version (a fresh database each) before any test, and stops them after the last;
// tests read where they are with `realServers()`. Where they come from:
//   - MLFLOW_TEST_SERVER_URL=http://host:port   use that running server (any MLflow version);
//   - MLFLOW_TEST_SERVER_CMD="cmd"               run `cmd VERSION 0 DATA_DIR`, which starts a server
//                                                and prints its URL on its last line;
//   - otherwise ../shared/mlflow-server/start.sh (real MLflow 2.22 and 3.4 on Debian's python3),
//     each through a watchdog process that stops it when this process ends, however it ends.
// MLFLOW_TEST_SERVER_VERSIONS picks the versions (default "2.22,3.4"). When no server can be
// started, the tier is skipped with the reason, and everything else runs.
// MLflow's own Python client of the same version reads back what we wrote (`mlflowPython`).

import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { describe, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT, SHARED_DIR } from "./paths.js";

export const SERVER_KIT = path.join(SHARED_DIR, "mlflow-server");

export interface RealServer {
  /** The version asked for ("2.22", "3.4"), or the server's own when given by URL. */
  version: string;
  /** Major version, for the few expectations that differ between MLflow 2 and 3. */
  major: number;
  url: string;
  /** Where its sqlite database and artifacts live; absent for a server given by URL. */
  dataDir?: string;
  /** Whether `mlflowPython(version, ...)` can run MLflow's Python client for this version. */
  python: boolean;
}

export interface RealServers {
  servers: RealServer[];
  skipReason?: string;
  /** Which MLflow Python clients can run here (checked once, in the global setup). */
  pythonClients?: Record<string, boolean>;
}

const ENV_KEY = "TSLAB_MLFLOW_TEST_REAL_SERVERS";

/** The servers the global setup started (or why there are none), in any test process. */
export function realServers(): RealServers {
  const raw = process.env[ENV_KEY];
  if (!raw) return { servers: [], skipReason: "the real-server tier runs under the suite's global setup (npm test)" };
  return JSON.parse(raw) as RealServers;
}

export const requestedVersions = (): string[] =>
  (process.env.MLFLOW_TEST_SERVER_VERSIONS ?? "2.22,3.4")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);

const kitAvailable = (): boolean => fs.existsSync(path.join(SERVER_KIT, "start.sh"));

/** True when MLflow's Python client of `version` can run here (importing it takes seconds: asked once per test run). */
export function pythonClientAvailable(version: string): boolean {
  const known = realServers().pythonClients?.[shortVersion(version)];
  if (known !== undefined) return known;
  if (!kitAvailable()) return false;
  const r = spawnSync(path.join(SERVER_KIT, "python.sh"), [shortVersion(version), "-c", "import mlflow"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return r.status === 0;
}

async function checkPythonClients(versions: string[]): Promise<Record<string, boolean>> {
  if (!kitAvailable()) return Object.fromEntries(versions.map((v) => [v, false]));
  const run = promisify(execFile);
  const ok = await Promise.all(
    versions.map((v) =>
      run(path.join(SERVER_KIT, "python.sh"), [v, "-c", "import mlflow"], { timeout: 120_000 }).then(
        () => true,
        () => false,
      ),
    ),
  );
  return Object.fromEntries(versions.map((v, i) => [v, ok[i]!]));
}

/** Starts the servers; the global setup calls it once. Never throws: a failure becomes skipReason. */
export async function startRealServers(baseDir: string): Promise<RealServers> {
  const [found, pythonClients] = await Promise.all([startServers(baseDir), checkPythonClients(requestedVersions())]);
  return publish({
    ...found,
    pythonClients,
    servers: found.servers.map((s) => ({ ...s, python: s.python && (pythonClients[shortVersion(s.version)] ?? true) })),
  });
}

async function startServers(baseDir: string): Promise<RealServers> {
  const run = promisify(execFile);
  const given = process.env.MLFLOW_TEST_SERVER_URL;
  if (given) {
    const url = given.replace(/\/+$/, "");
    try {
      const res = await fetch(url + "/version");
      const version = (await res.text()).trim();
      return { servers: [{ version, major: Number(version.split(".")[0]), url, python: kitAvailable() }] };
    } catch (err) {
      return { servers: [], skipReason: `MLFLOW_TEST_SERVER_URL=${url} does not answer /version (${(err as Error).message})` };
    }
  }
  const cmd = process.env.MLFLOW_TEST_SERVER_CMD;
  if (!cmd && !kitAvailable())
    return {
      servers: [],
      skipReason: `no MLflow server to start: ${SERVER_KIT} is missing (set MLFLOW_TEST_SERVER_CMD or MLFLOW_TEST_SERVER_URL)`,
    };
  const started = await Promise.allSettled(
    requestedVersions().map(async (version): Promise<RealServer> => {
      const dataDir = fs.mkdtempSync(path.join(baseDir, `mlflow-${version}-`));
      const server = (url: string): RealServer => ({ version, major: Number(version.split(".")[0]), url, dataDir, python: kitAvailable() });
      if (!cmd) return server(await startWatched(version, dataDir));
      try {
        const { stdout } = await run("bash", ["-c", `${cmd} "$@"`, "start", version, "0", dataDir, "180"], { timeout: 200_000 });
        return server(stdout.trim().split("\n").pop()!.trim());
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`MLflow ${version} did not start: ${(e.stderr || e.message).trim().split("\n").slice(-3).join(" | ")}`);
      }
    }),
  );
  const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failures = started.flatMap((s) => (s.status === "rejected" ? [(s.reason as Error).message] : []));
  return { servers, skipReason: failures.length ? failures.join("; ") : undefined };
}

/** The watchdog of each server this process started from the kit, by data directory. */
const watchdogs = new Map<string, ChildProcess>();
const WATCHDOG = path.join(REPO_ROOT, "test", "support", "server-watchdog.mjs");

/**
 * Starts a kit server through a watchdog (server-watchdog.mjs) that holds a pipe from this
 * process and stops the server when the pipe closes: when this process ends, however it ends
 * (a SIGKILLed vitest included), its servers go with it. Resolves the server's URL.
 */
function startWatched(version: string, dataDir: string): Promise<string> {
  // Its own process group: a Ctrl-C at the terminal must not kill the watchdog before it stops the server.
  const dog = spawn(process.execPath, [WATCHDOG, SERVER_KIT, version, dataDir, "180"], {
    stdio: ["pipe", "pipe", "ignore"],
    detached: true,
  });
  watchdogs.set(dataDir, dog);
  return new Promise<string>((resolve, reject) => {
    let text = "";
    const failed = (why: string) => {
      dog.stdin!.end();
      watchdogs.delete(dataDir);
      reject(new Error(`MLflow ${version} did not start: ${why}`));
    };
    dog.on("error", (e) => failed(e.message));
    dog.on("exit", (code) => failed(`its watchdog exited (${code}) before the server answered; see ${dataDir}/watchdog.log`));
    dog.stdout!.on("data", (d: Buffer) => {
      text += d.toString("utf8");
      if (!text.includes("\n")) return;
      dog.removeAllListeners("exit");
      dog.stdout!.destroy();
      const answer = JSON.parse(text.split("\n")[0]!) as { url?: string; error?: string };
      if (!answer.url) return failed(answer.error ?? "no URL");
      // The pipe and the watchdog must not keep this process alive: the pipe is only ever closed.
      (dog.stdin as unknown as { unref(): void }).unref();
      dog.unref();
      resolve(answer.url);
    });
  });
}

export async function stopRealServers(found: RealServers): Promise<void> {
  if (process.env.MLFLOW_TEST_SERVER_URL || process.env.MLFLOW_TEST_SERVER_CMD) return;
  await Promise.all(
    found.servers.map(async (s) => {
      if (!s.dataDir) return;
      const dog = watchdogs.get(s.dataDir);
      watchdogs.delete(s.dataDir);
      if (dog && dog.exitCode === null) {
        // Closing its pipe is the stop signal; it exits once the server's group is gone.
        const exited = new Promise((resolve) => dog.once("exit", resolve));
        // Held again while it stops: unref'd (see startWatched), vitest would exit mid-teardown.
        dog.ref();
        dog.stdin!.end();
        await exited;
      } else await promisify(execFile)(path.join(SERVER_KIT, "stop.sh"), [s.dataDir]).catch(() => undefined);
    }),
  );
}

function publish(found: RealServers): RealServers {
  process.env[ENV_KEY] = JSON.stringify(found);
  return found;
}

const shortVersion = (v: string) => v.split(".").slice(0, 2).join(".");

/**
 * Runs a Python script with MLflow's own client of `version` (MLFLOW_TRACKING_URI set to
 * `trackingUri`) and returns what it printed as JSON on its last line (NaN, Infinity and
 * -Infinity as strings).
 */
export async function mlflowPython<T = any>(
  version: string,
  trackingUri: string,
  script: string,
  extraEnv: Record<string, string> = {},
): Promise<T> {
  const { stdout } = await promisify(execFile)(path.join(SERVER_KIT, "python.sh"), [shortVersion(version), "-c", script], {
    env: { ...process.env, MLFLOW_TRACKING_URI: trackingUri, MLFLOW_ALLOW_FILE_STORE: "true", ...extraEnv },
    timeout: 120_000,
    maxBuffer: 64 << 20,
  }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`MLflow ${version}'s Python client failed: ${(err.stderr || err.message).trim().split("\n").slice(-8).join("\n")}`);
  });
  // Python's json writes NaN and ±Infinity bare; read them as the strings MLflow's REST API uses.
  const last = stdout
    .trim()
    .split("\n")
    .pop()!
    .replace(/(?<=[[:,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '"$1"');
  return JSON.parse(last) as T;
}

/**
 * One `describe` per requested MLflow version, given the running server; a version whose
 * server is not up is one skipped test that names the reason.
 */
export function forEachRealServer(title: string, body: (server: RealServer) => void): void {
  const { servers, skipReason } = realServers();
  for (const version of requestedVersionsOrGiven(servers)) {
    const server = servers.find((s) => s.version === version || shortVersion(s.version) === version);
    if (server) describe(`${title} (MLflow ${server.version})`, () => body(server));
    else describe(`${title} (MLflow ${version})`, () => it.skip(`skipped: ${skipReason ?? "server not started"}`, () => undefined));
  }
}

const requestedVersionsOrGiven = (servers: RealServer[]) =>
  process.env.MLFLOW_TEST_SERVER_URL ? servers.map((s) => s.version).concat(servers.length ? [] : ["(given by URL)"]) : requestedVersions();
