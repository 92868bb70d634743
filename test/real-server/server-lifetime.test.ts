// The real-server tier cannot leak servers: the global setup (test/setup/real-servers.ts) is
// run in a child process, compiled as it is, which starts a real MLflow server; the child is
// then SIGKILLed (as a killed vitest would be), and the server's process group must go away on
// its own (its watchdog sees the pipe from the child close and stops it).

import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { type RealServers, SERVER_KIT } from "../support/mlflow-servers.js";
import { REPO_ROOT } from "../support/paths.js";

const kit = fs.existsSync(path.join(SERVER_KIT, "start.sh"));

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Polls `done` every 100 ms until it holds; false after `ms`. */
async function within(ms: number, done: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** The first stdout line starting with `prefix`, or the child's exit as an error. */
function lineFrom(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString("utf8");
      const line = text.split("\n").find((l) => l.startsWith(prefix));
      if (line) resolve(line.slice(prefix.length));
    });
    child.on("exit", (code, signal) => reject(new Error(`the setup exited (${code ?? signal}) before its servers were up:\n${text}`)));
  });
}

describe("the real-server tier's servers", () => {
  it.skipIf(!kit)("stop when the process that started them is SIGKILLed", { timeout: 300_000 }, async () => {
    // Two levels below the repo, like test/setup/: the bundle's paths.ts finds the repo from there.
    const dir = fs.mkdtempSync(path.join(REPO_ROOT, "test-artifacts", "server-lifetime-"));
    const child = path.join(dir, "setup-child.mjs");
    await build({
      stdin: {
        contents: [
          'import setup from "./real-servers.ts";',
          "await setup();",
          "process.stdout.write(`READY ${process.env.TSLAB_MLFLOW_TEST_REAL_SERVERS}\\n`);",
          "setInterval(() => {}, 1 << 30); // stays until killed",
        ].join("\n"),
        resolveDir: path.join(REPO_ROOT, "test", "setup"),
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      outfile: child,
      logLevel: "silent",
    });
    const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_TEST_SERVER_VERSIONS: "2.22", TSLAB_MLFLOW_TEST_RUN_DIR: dir };
    delete env.MLFLOW_TEST_SERVER_URL;
    delete env.MLFLOW_TEST_SERVER_CMD;
    delete env.TSLAB_MLFLOW_TEST_REAL_SERVERS;
    const setup = spawn(process.execPath, [child], { env, stdio: ["ignore", "pipe", "inherit"] });
    let pgid: number | undefined;
    try {
      const found = JSON.parse(await lineFrom(setup, "READY ")) as RealServers;
      expect(
        found.servers.map((s) => s.version),
        found.skipReason,
      ).toEqual(["2.22"]);
      const server = found.servers[0]!;
      pgid = Number(fs.readFileSync(path.join(server.dataDir!, "server.pgid"), "utf8"));
      expect((await fetch(`${server.url}/health`)).status).toBe(200);

      const exited = new Promise((resolve) => setup.once("exit", resolve));
      setup.kill("SIGKILL");
      await exited;

      // The watchdog stops the group (SIGTERM; stop.sh escalates to SIGKILL after 10 s) and logs it.
      expect(await within(30_000, () => !groupAlive(pgid!)), `process group ${pgid} still alive`).toBe(true);
      await expect(fetch(`${server.url}/health`)).rejects.toThrow();
      const log = path.join(server.dataDir!, "watchdog.log");
      const read = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "");
      expect(await within(10_000, () => /stopping \(the owner's pipe closed\)[\s\S]*stopped/.test(read())), read()).toBe(true);
    } finally {
      setup.kill("SIGKILL");
      // Never leave a server behind, even when the test fails.
      if (pgid !== undefined && groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
