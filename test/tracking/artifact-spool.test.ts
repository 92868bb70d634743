// Artifact uploads the server does not take wait in the spool and are uploaded once it
// answers: the same bytes at the same path, oldest first; a process that exits with an
// upload under way spools it synchronously. A REST store against the recorded MLflow
// server's stand-in (runs/get 020, artifact PUT 087) on loopback.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ArtifactSpool } from "../../tracking/logging/artifact-spool.js";
import { RestStore } from "../../tracking/rest/store.js";
import { MlflowStandin } from "../support/mlflow-standin.js";
import { REPO_ROOT } from "../support/paths.js";
import { run } from "../support/run.js";

let server: MlflowStandin;
let spoolDir: string;
let store: RestStore;

const PUT = /^\/api\/2\.0\/mlflow-artifacts\/artifacts\//;
const puts = () => server.received.filter((r) => r.method === "PUT");
const waiting = (dir: string) =>
  existsSync(join(dir, "artifacts")) ? readdirSync(join(dir, "artifacts")).filter((f) => f.endsWith(".json")) : [];

beforeEach(async () => {
  server = await MlflowStandin.start();
  server.route("GET", "/api/2.0/mlflow/runs/get", "runs-get");
  server.route("PUT", PUT, "artifacts-upload-text");
  spoolDir = mkdtempSync(join(tmpdir(), "artifact-spool-"));
  store = new RestStore({ baseUrl: server.url, maxRetries: 0, timeoutMs: 5_000 });
});

afterEach(async () => {
  await store.close();
  await server.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe("artifact spool", () => {
  it("keeps uploads the server does not take, and uploads them, bytes and paths unchanged, once it answers", async () => {
    const runId = server.ids.RUN_A;
    const spool = new ArtifactSpool(spoolDir, store.uri);
    // The run's artifact root is known before the server goes away, as in a kernel.
    await store.getRun(runId);
    await server.refuse();
    expect(await spool.upload(store, runId, "hello.txt", "hello artifact\n")).toBe("spooled");
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 255, 1]);
    expect(await spool.upload(store, runId, "plots/loss.png", png)).toBe("spooled");
    expect(waiting(spoolDir)).toHaveLength(2);

    // Still down: nothing is lost, and both still wait.
    expect(await new ArtifactSpool(spoolDir, store.uri).deliver(store)).toMatchObject({ delivered: 0, left: 2, rejected: 0 });
    expect(waiting(spoolDir)).toHaveLength(2);

    await server.accept();
    const later = new ArtifactSpool(spoolDir, store.uri);
    expect(await later.deliver(store)).toMatchObject({ delivered: 2, left: 0, rejected: 0 });
    expect(puts().map((r) => [r.path, Buffer.from(r.body)])).toEqual([
      [`/api/2.0/mlflow-artifacts/artifacts/1/${runId}/artifacts/hello.txt`, Buffer.from("hello artifact\n")],
      [`/api/2.0/mlflow-artifacts/artifacts/1/${runId}/artifacts/plots/loss.png`, Buffer.from(png)],
    ]);
    expect(waiting(spoolDir)).toEqual([]);
    expect(await later.deliver(store)).toMatchObject({ delivered: 0, left: 0 });
    expect(server.mismatches).toEqual([]);
  });

  it("uploads directly when the server answers, spooling nothing", async () => {
    const spool = new ArtifactSpool(spoolDir, store.uri);
    expect(await spool.upload(store, server.ids.RUN_A, "hello.txt", "hello artifact\n")).toBe("uploaded");
    expect(puts()).toHaveLength(1);
    expect(waiting(spoolDir)).toEqual([]);
  });

  it("spools an upload still under way when the process exits, and the next process uploads it", async () => {
    server.failNext(2, { kind: "hang" }); // the child's runs/get and upload get no answer
    const dist = (p: string) => JSON.stringify(pathToFileURL(join(REPO_ROOT, "dist", "tracking", p)).href);
    const child = `
      const { ArtifactSpool } = await import(${dist("logging/artifact-spool.js")});
      const { RestStore } = await import(${dist("rest/store.js")});
      const [url, dir, runId] = process.argv.slice(1);
      const store = new RestStore({ baseUrl: url, maxRetries: 0, timeoutMs: 60000 });
      void new ArtifactSpool(dir, store.uri).upload(store, runId, "notes/last.txt", "written at exit\\n");
      setTimeout(() => process.exit(0), 500);
    `;
    const r = await run(process.execPath, ["--input-type=module", "-e", child, server.url, spoolDir, server.ids.RUN_A], {
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(waiting(spoolDir)).toHaveLength(1);

    server.reset();
    expect(await new ArtifactSpool(spoolDir, store.uri).deliver(store)).toMatchObject({ delivered: 1, left: 0 });
    const last = puts().at(-1)!;
    expect(last.path).toBe(`/api/2.0/mlflow-artifacts/artifacts/1/${server.ids.RUN_A}/artifacts/notes/last.txt`);
    expect(Buffer.from(last.body).toString()).toBe("written at exit\n");
  }, 60_000);
});
