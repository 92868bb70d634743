// Starts one real MLflow server (../shared/mlflow-server/start.sh) and ties its life to the
// process that started this watchdog: that process holds our stdin; when the pipe closes (it
// ended the pipe, exited, or was killed, even by SIGKILL) the server's process group is stopped
// (stop.sh) and the watchdog exits. start.sh runs the server in its own process group, so
// nothing else would ever stop it.
//
// usage: node server-watchdog.mjs KIT_DIR VERSION DATA_DIR TIMEOUT_S
// Prints one JSON line on stdout: {"url": ...} once the server answers, or {"error": ...}.
// Plain JavaScript: it runs under node directly, outside vitest.

import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import path from "node:path";

const [kit, version, dataDir, timeout = "180"] = process.argv.slice(2);
if (!kit || !version || !dataDir) {
  process.stderr.write("usage: node server-watchdog.mjs KIT_DIR VERSION DATA_DIR TIMEOUT_S\n");
  process.exit(2);
}
const log = (m) => appendFileSync(path.join(dataDir, "watchdog.log"), `${new Date().toISOString()} ${m}\n`);

let parentGone = false;
let starting; // start.sh's exit, while it runs
let stopped = false;

function stop(why) {
  if (stopped) return;
  stopped = true;
  void (async () => {
    log(`stopping (${why})`);
    // A start still under way has launched (or is about to launch) the server: let it finish, then stop what it started.
    await starting;
    await new Promise((resolve) => spawn(path.join(kit, "stop.sh"), [dataDir], { stdio: "ignore" }).on("close", resolve));
    log("stopped");
    process.exit(0);
  })();
}

// The pipe from the process that owns the server. Reading it keeps us alive; its end is our cue.
process.stdin.on("data", () => undefined);
process.stdin.on("end", () => ((parentGone = true), stop("the owner's pipe closed")));
process.stdin.on("error", () => ((parentGone = true), stop("the owner's pipe failed")));
// Ctrl-C reaches the terminal's foreground group; we run in our own, but a direct signal also stops the server first.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => stop(sig));
// Our stdout may be gone with the owner: never die of EPIPE before the server is stopped.
process.stdout.on("error", () => undefined);

const out = [];
const err = [];
const child = spawn(path.join(kit, "start.sh"), [version, "0", dataDir, timeout], { stdio: ["ignore", "pipe", "pipe"] });
child.stdout.on("data", (d) => out.push(d));
child.stderr.on("data", (d) => err.push(d));
starting = new Promise((resolve) =>
  child.on("close", (code) => {
    starting = undefined;
    const url = Buffer.concat(out).toString("utf8").trim().split("\n").pop()?.trim();
    if (code === 0 && url) {
      log(`MLflow ${version} at ${url}`);
      if (!parentGone) process.stdout.write(`${JSON.stringify({ url })}\n`);
    } else {
      const why = (Buffer.concat(err).toString("utf8") || `start.sh exited with ${code}`).trim().split("\n").slice(-3).join(" | ");
      log(`start failed: ${why}`);
      if (!parentGone) process.stdout.write(`${JSON.stringify({ error: why })}\n`);
    }
    resolve();
  }),
);
