// Logging speed: 100,000 metric points (10 keys x 10,000 steps) through the run logger
// (dist/tracking/logging/logger.js), against baselines measured in the same run:
//  (a) the caller's loop, against pushing the same point objects into an array;
//  (b) loop + flush until all points are durable in the file store, against a tight loop
//      of raw 1,000-metric FileStore.logBatch calls;
//  (c) loop + flush until a log-batch server on loopback acknowledged all points, against
//      a tight loop of raw 1,000-metric log-batch requests to the same server.
// The server is a plain node:http process answering log-batch as MLflow does (200 `{}`
// after parsing the JSON body), run in its own process so it does not share our event loop.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { FileStore } from "../dist/tracking/file-store/index.js";
import { Logger } from "../dist/tracking/index.js";
import { RestStore } from "../dist/tracking/rest/store.js";

const KEYS = Array.from({ length: 10 }, (_, i) => `metric_${i}`);
const STEPS = 10_000;
const POINTS = KEYS.length * STEPS;
const REPS = 7;
const T0 = 1700000000000;
// FACTS.md: MLflow's Python client, synchronous log_metric against a real 2.22 server on loopback.
const PYTHON_POINTS_PER_S = 126;

const SERVER = `
import { createServer } from "node:http";
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method !== "POST" || req.url !== "/api/2.0/mlflow/runs/log-batch") { res.writeHead(404).end(); return; }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof body.run_id !== "string" || (body.metrics ?? []).length > 1000) {
      res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ error_code: "INVALID_PARAMETER_VALUE", message: "bad batch" }));
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

function startServer() {
  const child = spawn(process.execPath, ["--input-type=module", "-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve({ child, url: `http://127.0.0.1:${String(d).trim()}` }));
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Logs all points through a RunLogger; returns [loop ms, loop + flush ms]. */
async function throughLogger(logger, runId) {
  const run = logger.run(runId);
  const t0 = now();
  for (let step = 0; step < STEPS; step++) for (const key of KEYS) run.logMetric(key, step * 0.001, step, T0 + step);
  const loop = now() - t0;
  await logger.flush();
  return [loop, now() - t0];
}

function pushFloor() {
  const out = [];
  const t0 = now();
  for (let step = 0; step < STEPS; step++) for (const key of KEYS) out.push({ key, value: step * 0.001, timestamp: T0 + step, step });
  const ms = now() - t0;
  if (out.length !== POINTS) throw new Error("lost points");
  return ms;
}

function* rawBatches() {
  let batch = [];
  for (let step = 0; step < STEPS; step++)
    for (const key of KEYS) {
      batch.push({ key, value: step * 0.001, timestamp: T0 + step, step });
      if (batch.length === 1000) {
        yield batch;
        batch = [];
      }
    }
  if (batch.length) yield batch;
}

async function rawHttp(url, dispatcher, runId) {
  const t0 = now();
  for (const metrics of rawBatches()) {
    const res = await request(`${url}/api/2.0/mlflow/runs/log-batch`, {
      method: "POST",
      dispatcher,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ run_id: runId, metrics }),
    });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`raw log-batch answered ${res.statusCode}`);
  }
  return now() - t0;
}

async function rawFile(store, runId) {
  const t0 = now();
  for (const metrics of rawBatches()) await store.logBatch(runId, { metrics });
  return now() - t0;
}

export async function run() {
  const tmp = mkdtempSync(join(tmpdir(), "bench-tracking-"));
  const { child, url } = await startServer();
  const rest = new RestStore({ baseUrl: url });
  const files = new FileStore(join(tmp, "mlruns"));
  const dispatcher = new Agent();
  const r = { floor: [], loop: [], http: [], rawHttp: [], file: [], rawFile: [] };
  try {
    // Round 0 warms up the JIT and the connections and is not counted.
    for (let i = 0; i <= REPS; i++) {
      if (i === 1) for (const k of Object.keys(r)) r[k] = [];
      r.floor.push(pushFloor());

      // Alternate which side goes first, so warm-up and GC debt do not favour one of them.
      const pair = async (a, b) => {
        if (i % 2) {
          await b();
          await a();
        } else {
          await a();
          await b();
        }
      };
      await pair(
        async () => {
          const httpLogger = new Logger(rest, { spoolDir: join(tmp, "spool-http"), exitHooks: false });
          const [loop, acked] = await throughLogger(httpLogger, `bench-http-${i}`);
          await httpLogger.close();
          if (httpLogger.errors().length || httpLogger.pending().spooled) throw new Error("HTTP logger did not deliver everything");
          r.loop.push(loop);
          r.http.push(acked);
        },
        async () => r.rawHttp.push(await rawHttp(url, dispatcher, `bench-raw-${i}`)),
      );

      await pair(
        async () => {
          const fileRun = (await files.createRun({ experimentId: "0" })).info.runId;
          const fileLogger = new Logger(files, { spoolDir: join(tmp, "spool-file"), exitHooks: false });
          const [fileLoop, durable] = await throughLogger(fileLogger, fileRun);
          await fileLogger.close();
          if (fileLogger.errors().length) throw new Error("file logger reported errors");
          r.loop.push(fileLoop);
          r.file.push(durable);
        },
        async () => r.rawFile.push(await rawFile(files, (await files.createRun({ experimentId: "0" })).info.runId)),
      );
    }
    const histories = await Promise.all(
      KEYS.map(
        async (k) =>
          (
            await files.getMetricHistory(
              (
                await files.searchRuns({ experimentIds: ["0"], maxResults: 1, orderBy: ["start_time ASC"] })
              ).items[0].info.runId,
              k,
            )
          ).length,
      ),
    );
    if (histories.some((n) => n !== STEPS)) throw new Error(`file store holds ${histories} points per key, expected ${STEPS}`);
  } finally {
    await dispatcher.close();
    await rest.close();
    await files.close();
    child.kill();
    rmSync(tmp, { recursive: true, force: true });
  }

  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  const fmt = (ms) => `${ms.toFixed(1)} ms`;
  const rows = [
    [
      "(a) caller's loop, 100k logMetric",
      fmt(m.loop),
      `array push: ${fmt(m.floor)}`,
      `${(m.loop / m.floor).toFixed(2)}x`,
      `target < 200 ms: ${m.loop < 200 ? "met" : "MISSED"}`,
    ],
    ["(b) durable in the file store", fmt(m.file), `raw logBatch x100: ${fmt(m.rawFile)}`, `${(m.file / m.rawFile).toFixed(2)}x`, ""],
    [
      "(c) acknowledged by HTTP server",
      fmt(m.http),
      `raw log-batch x100: ${fmt(m.rawHttp)}`,
      `${(m.http / m.rawHttp).toFixed(2)}x`,
      `target <= 1.5x: ${m.http / m.rawHttp <= 1.5 ? "met" : "MISSED"}`,
    ],
  ];
  console.log(
    `${POINTS.toLocaleString("en")} points (${KEYS.length} keys x ${STEPS.toLocaleString("en")} steps), median of ${REPS} after a warm-up round`,
  );
  const widths = [0, 1, 2, 3].map((c) =>
    Math.max(...rows.map((row) => row[c].length), ["measure", "time", "baseline (same run)", "ratio"][c].length),
  );
  const line = (cells) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join("  ");
  console.log(line(["measure", "time", "baseline (same run)", "ratio", ""]));
  for (const row of rows) console.log(line(row));
  const perS = POINTS / (m.http / 1000);
  console.log(
    `HTTP delivery: ${Math.round(perS).toLocaleString("en")} points/s, ${Math.round(perS / PYTHON_POINTS_PER_S)}x MLflow's Python client with synchronous log_metric (~${PYTHON_POINTS_PER_S} points/s, FACTS.md)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
