// `tslab-mlflow sync`: what earlier processes spooled for a tracking server is delivered on
// demand, every point once; while the server is down it says what still waits (exit 1); a
// bad tracking URI is refused (exit 2). The CLI as a process, against a log-batch server on
// loopback that answers as the recorded MLflow server does.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../support/paths.js";
import { runCli } from "../support/run.js";
import { LogBatchServer } from "../tracking/logger-server.js";

type SpoolModule = typeof import("../../tracking/logging/spool.js");

const T0 = 1700000000000;
let server: LogBatchServer;
let base: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  server = await new LogBatchServer().start();
  base = mkdtempSync(join(tmpdir(), "tslab-mlflow-sync-"));
  // One attempt per request: a refused connection is reported at once.
  env = { ...process.env, TSLAB_MLFLOW_SPOOL_DIR: base, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
  delete env.MLFLOW_TRACKING_URI;
});

afterEach(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});

/** Spools two batches for `server`, as a process that could not reach it would have. */
async function spoolTwoBatches(): Promise<void> {
  const { Spool } = (await import(pathToFileURL(join(REPO_ROOT, "dist", "tracking", "logging", "spool.js")).href)) as SpoolModule;
  const spool = Spool.forUri(server.url, base);
  const points = (key: string) => Array.from({ length: 50 }, (_, step) => ({ key, value: step / 100, step, timestamp: T0 + step }));
  await spool.write("run-s", { metrics: points("loss") });
  await spool.write("run-s", { metrics: points("acc"), params: [{ key: "optimizer", value: "adam" }] });
}

describe("tslab-mlflow sync", () => {
  it("says what still waits while the server is down, then delivers every point once when it is back", async () => {
    await spoolTwoBatches();
    await server.setMode("refuse");
    const down = await runCli(["sync", "--tracking-uri", server.url], { env });
    expect(down.status, down.stderr).toBe(1);
    expect(down.stdout).toContain(`Delivered 0 of 2 spooled requests and 0 of 0 artifact uploads to ${server.url}`);
    expect(down.stderr).toMatch(/still waiting in .*: 101 metrics\/params\/tags, 0 run status updates and 0 artifact uploads/);

    await server.setMode("ok");
    const up = await runCli(["sync"], { env: { ...env, MLFLOW_TRACKING_URI: server.url } });
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain(`Delivered 2 of 2 spooled requests and 0 of 0 artifact uploads to ${server.url}`);
    expect(server.duplicates()).toEqual([]);
    expect(server.points.size).toBe(100);
    expect(server.points.get(`run-s|acc|49|${T0 + 49}`)).toBe(1);
    expect(server.params.get("run-s|optimizer")).toBe("adam");

    const again = await runCli(["sync", "--tracking-uri", server.url], { env });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^Nothing waits for /);
    expect(server.points.size).toBe(100);
  }, 60_000);

  it("refuses a tracking URI it cannot use, naming it (exit 2)", async () => {
    const r = await runCli(["sync", "--tracking-uri", "ftp://example.com/mlflow"], { env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: bad tracking URI "ftp:\/\/example\.com\/mlflow": .*/);
  });
});
