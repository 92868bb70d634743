// REST store overhead: 1,000-metric log-batch requests sent through RestStore.logBatch
// (entity -> wire encoding, NaN handling, retry dispatcher, answer parsing) against a tight
// loop of raw undici requests with a pre-built body to the same loopback server, measured in
// the same run. A ratio near 1 means the store adds little over the network round trip.
import { spawn } from "node:child_process";
import { Agent, request } from "undici";
import { RestStore } from "../dist/tracking/rest/store.js";

const REQUESTS = 60;
const REPS = 5;
const SERVER = `
import { createServer } from "node:http";
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString("utf8"));
    res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

const metrics = (withNonFinite) =>
  Array.from({ length: 1000 }, (_, i) => ({
    key: `metric_${i % 10}`,
    value: withNonFinite && i % 100 === 0 ? NaN : i / 7,
    timestamp: 1700000000000 + i,
    step: i,
  }));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// Cases take turns within each repetition, so a busy machine slows all of them alike.
async function timeAll(cases) {
  const runs = cases.map(() => []);
  for (let r = 0; r < REPS; r++) {
    for (const [i, fn] of cases.entries()) {
      const t0 = performance.now();
      for (let n = 0; n < REQUESTS; n++) await fn();
      runs[i].push(performance.now() - t0);
    }
  }
  return runs.map(median);
}

export async function run() {
  const child = spawn(process.execPath, ["--input-type=module", "-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((res) => child.stdout.once("data", (d) => res(String(d).trim())));
  const url = `http://127.0.0.1:${port}`;
  const runId = "0123456789abcdef0123456789abcdef";
  const agent = new Agent();
  const store = new RestStore({ baseUrl: url });
  try {
    const rawBody = JSON.stringify({ run_id: runId, metrics: metrics(false) });
    const raw = () =>
      request(`${url}/api/2.0/mlflow/runs/log-batch`, {
        method: "POST",
        body: rawBody,
        headers: { "Content-Type": "application/json" },
        dispatcher: agent,
      }).then((r) => r.body.text());
    const finite = metrics(false),
      nonFinite = metrics(true);
    await raw();
    await store.logBatch(runId, { metrics: finite }); // warm up connections and JIT
    const [tRaw, tStore, tNaN] = await timeAll([
      raw,
      () => store.logBatch(runId, { metrics: finite }),
      () => store.logBatch(runId, { metrics: nonFinite }),
    ]);
    const pts = (ms) => Math.round((REQUESTS * 1000) / (ms / 1000)).toLocaleString("en-US");
    console.log(`${REQUESTS} log-batch requests x 1,000 metrics, median of ${REPS}`);
    console.log("case                                   ms    points/s   ratio vs raw");
    console.log(`raw undici, pre-built body     ${tRaw.toFixed(1).padStart(10)} ${pts(tRaw).padStart(11)}   1.00`);
    console.log(
      `RestStore.logBatch             ${tStore.toFixed(1).padStart(10)} ${pts(tStore).padStart(11)}   ${(tStore / tRaw).toFixed(2)}`,
    );
    console.log(`RestStore.logBatch, 1% NaN     ${tNaN.toFixed(1).padStart(10)} ${pts(tNaN).padStart(11)}   ${(tNaN / tRaw).toFixed(2)}`);
  } finally {
    await store.close();
    await agent.close();
    child.kill();
  }
}
