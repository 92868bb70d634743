// `sync --to`: 50 runs x 10,000 metric points (plus params, tags, 3 artifacts each) copied
// from a local ./mlruns store to a real MLflow 2.22 server (one worker, sqlite, proxied
// artifacts; ../shared/mlflow-server), against the raw REST calls the same copy needs, in the
// same run and with the same number of runs in flight: runs/create, log-batch of params and
// tags, log-batch of the same points in 1,000-metric requests with pre-built bodies, the
// artifact PUTs and runs/update, sent with undici. A ratio near 1 means sync adds little over
// what the server itself must do. The raw copy goes first, so the sync meets a larger database.
// SYNC_BENCH_RUNS and SYNC_BENCH_POINTS scale it down for a quick look.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { DEFAULT_SYNC_CONCURRENCY, FileStore, RestStore, syncRuns } from "../dist/tracking/index.js";

const RUNS = Number(process.env.SYNC_BENCH_RUNS ?? 50);
const POINTS = Number(process.env.SYNC_BENCH_POINTS ?? 10_000);
const T0 = 1_700_000_000_000;
const KIT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "mlflow-server");

async function buildSource(dir, experiment) {
  const store = new FileStore(dir);
  const expId = await store.createExperiment(experiment);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const tags = [
      { key: "mlflow.user", value: "ada" },
      { key: "team", value: "vision" },
    ];
    const runId = (await store.createRun({ experimentId: expId, runName: `run-${i}`, startTime: T0 + i * 100_000, tags })).info.runId;
    const params = [
      { key: "lr", value: String(0.001 * (i + 1)) },
      { key: "layers", value: "3" },
    ];
    await store.logBatch(runId, { params });
    const points = Array.from({ length: POINTS }, (_, k) => ({
      key: "loss",
      value: 1 / (k + 1) + i,
      timestamp: T0 + i * 100_000 + k,
      step: k,
    }));
    for (let s = 0; s < POINTS; s += 1000) await store.logBatch(runId, { metrics: points.slice(s, s + 1000) });
    const artifacts = [
      ["notes.txt", `run ${i}\n`],
      ["model/MLmodel", `artifact_path: model\nrun_id: ${runId}\n`],
      ["model/weights.bin", Buffer.alloc(4096, i)],
    ];
    for (const [p, data] of artifacts) await store.logArtifact(runId, p, data);
    await store.updateRun(runId, { status: "FINISHED", endTime: T0 + i * 100_000 + POINTS });
    runs.push({ runName: `run-${i}`, startTime: T0 + i * 100_000, endTime: T0 + i * 100_000 + POINTS, tags, params, points, artifacts });
  }
  await store.close();
  return runs;
}

/** The raw REST calls of one run's copy, bodies built before the clock starts. */
function rawCalls(url, experimentId, run) {
  const post = (agent, p, body) =>
    request(`${url}/api/2.0/mlflow/${p}`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json" },
      dispatcher: agent,
    }).then(async (r) => {
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`${p}: HTTP ${r.statusCode} ${text}`);
      return text;
    });
  const toWire = (m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step });
  const batches = [];
  for (let s = 0; s < run.points.length; s += 1000)
    batches.push(JSON.stringify({ metrics: run.points.slice(s, s + 1000).map(toWire) }).slice(1));
  const create = JSON.stringify({
    experiment_id: experimentId,
    run_name: run.runName,
    start_time: run.startTime,
    tags: run.tags.slice(0, 1),
  });
  const meta = JSON.stringify({ params: run.params, tags: run.tags }).slice(1);
  return async (agent) => {
    const created = JSON.parse(await post(agent, "runs/create", create)).run.info;
    const runId = created.run_id;
    const head = `{"run_id":"${runId}",`;
    await post(agent, "runs/log-batch", head + meta);
    for (const b of batches) await post(agent, "runs/log-batch", head + b);
    const root = created.artifact_uri.replace(/^mlflow-artifacts:\//, `${url}/api/2.0/mlflow-artifacts/artifacts/`).replace(/\/+$/, "");
    for (const [p, data] of run.artifacts) {
      const r = await request(`${root}/${p}`, { method: "PUT", body: data, dispatcher: agent });
      await r.body.text();
    }
    await post(agent, "runs/update", JSON.stringify({ run_id: runId, status: "FINISHED", end_time: run.endTime }));
  };
}

async function inFlight(n, jobs) {
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let j = queue.shift(); j; j = queue.shift()) await j();
    }),
  );
}

export async function run() {
  if (!fs.existsSync(path.join(KIT, "start.sh"))) {
    console.log(`skipped: no MLflow server kit at ${KIT}`);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-sync-"));
  const dataDir = path.join(tmp, "server");
  try {
    const url = execFileSync(path.join(KIT, "start.sh"), ["2.22", "0", dataDir, "180"], { encoding: "utf8" }).trim().split("\n").pop();
    const source = path.join(tmp, "mlruns");
    const runs = await buildSource(source, "bench-sync");

    const agent = new Agent();
    const rawStore = new RestStore({ baseUrl: url });
    const rawExp = await rawStore.createExperiment("bench-sync-raw");
    await rawStore.close();
    const jobs = runs.map((r) => rawCalls(url, rawExp, r));
    let t = performance.now();
    await inFlight(
      DEFAULT_SYNC_CONCURRENCY,
      jobs.map((job) => () => job(agent)),
    );
    const tRaw = performance.now() - t;
    await agent.close();

    const src = new FileStore(source),
      dst = new RestStore({ baseUrl: url });
    t = performance.now();
    const report = await syncRuns(src, dst);
    const tSync = performance.now() - t;
    await src.close();
    await dst.close();
    if (report.failed) throw new Error(`sync failed: ${report.runs.find((r) => r.error)?.error}`);

    const pts = (ms) => Math.round((RUNS * POINTS) / (ms / 1000)).toLocaleString("en-US");
    console.log(
      `${RUNS} runs x ${POINTS.toLocaleString("en-US")} points + 3 artifacts each to MLflow 2.22 (1 worker), ${DEFAULT_SYNC_CONCURRENCY} runs in flight`,
    );
    console.log("case                                    s    points/s   ratio vs raw");
    console.log(`raw REST calls (undici, pre-built) ${(tRaw / 1000).toFixed(1).padStart(7)} ${pts(tRaw).padStart(11)}   1.00`);
    console.log(
      `syncRuns ./mlruns -> server        ${(tSync / 1000).toFixed(1).padStart(7)} ${pts(tSync).padStart(11)}   ${(tSync / tRaw).toFixed(2)}`,
    );
  } finally {
    try {
      execFileSync(path.join(KIT, "stop.sh"), [dataDir]);
    } catch {
      /* not started */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
