// File store benchmark: logBatch throughput against raw appends of the same metric lines
// (the floor any mlruns writer pays); a filtered, ordered search over many runs against raw
// reads of the same files; and a %%mlflow_run's store work (create with tags, 2 artifacts,
// finish) against raw writes of the same files. Prints ratios measured in this run, with
// CPU time beside wall time (wall time on a busy machine mostly measures the others); run
// after `npm run build`.
import fsSync, { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../dist/tracking/file-store/index.js";

const KEYS = 10,
  BATCHES = 100,
  PER_BATCH = 1000; // 100,000 points, 1000 per batch (MLflow's limit)
const RUNS = 200;

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const cpuMs = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
const LIFECYCLES = 100;
const TAGS = [
  "mlflow.source.type",
  "mlflow.source.name",
  "mlflow.user",
  "mlflow.notebook.cellId",
  "mlflow.notebook.executionCount",
  "mlflow.source.git.commit",
];

function batches() {
  const out = [];
  for (let b = 0; b < BATCHES; b++) {
    const metrics = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const step = b * (PER_BATCH / KEYS) + Math.floor(i / KEYS);
      metrics.push({ key: `m${i % KEYS}`, value: Math.sin(step) * 0.5, timestamp: 1700000000000 + step, step });
    }
    out.push(metrics);
  }
  return out;
}

async function rawAppends(dir, all) {
  await fs.mkdir(dir, { recursive: true });
  const t0 = process.hrtime.bigint();
  for (const metrics of all) {
    const byKey = new Map();
    for (const m of metrics) byKey.set(m.key, (byKey.get(m.key) ?? "") + `${m.timestamp} ${m.value} ${m.step}\n`);
    await Promise.all([...byKey].map(([k, text]) => fs.appendFile(join(dir, k), text)));
  }
  return ms(t0);
}

async function rawReads(expDir) {
  const t0 = process.hrtime.bigint();
  for (const run of await fs.readdir(expDir)) {
    if (run === "meta.yaml" || run === "tags") continue;
    await fs.readFile(join(expDir, run, "meta.yaml"), "utf8");
    for (const sub of ["metrics", "params", "tags"])
      for (const f of await fs.readdir(join(expDir, run, sub))) await fs.readFile(join(expDir, run, sub, f), "utf8");
  }
  return ms(t0);
}

/** The same reads with synchronous calls: the cheapest way to read many small files. */
function rawReadsSync(expDir) {
  const t0 = process.hrtime.bigint();
  for (const run of fsSync.readdirSync(expDir)) {
    if (run === "meta.yaml" || run === "tags") continue;
    fsSync.readFileSync(join(expDir, run, "meta.yaml"), "utf8");
    for (const sub of ["metrics", "params", "tags"])
      for (const f of fsSync.readdirSync(join(expDir, run, sub))) fsSync.readFileSync(join(expDir, run, sub, f), "utf8");
  }
  return ms(t0);
}

/** A run's store work under %%mlflow_run: create (with tags), two artifacts, finish. */
async function lifecycles(store, exp) {
  const tags = TAGS.map((key, i) => ({ key, value: `value-${i}` }));
  const c0 = process.cpuUsage(),
    t0 = process.hrtime.bigint();
  for (let i = 0; i < LIFECYCLES; i++) {
    const { info } = await store.createRun({ experimentId: exp, startTime: Date.now(), tags });
    await Promise.all([
      store.logArtifact(info.runId, "source.ts", "void 0"),
      store.logArtifact(info.runId, "notebook.ipynb", "{}".repeat(500)),
    ]);
    await store.updateRun(info.runId, { status: "FINISHED", endTime: Date.now() });
  }
  return { wall: ms(t0) / LIFECYCLES, cpu: cpuMs(c0) / LIFECYCLES };
}

/** The floor for the same files: 5 directories, the tag files, meta.yaml and 2 artifacts written once, meta.yaml again. */
function rawLifecycles(dir) {
  const c0 = process.cpuUsage(),
    t0 = process.hrtime.bigint();
  for (let i = 0; i < LIFECYCLES; i++) {
    const run = join(dir, `r${i}`);
    for (const sub of ["metrics", "params", "tags", "artifacts"]) fsSync.mkdirSync(join(run, sub), { recursive: true });
    for (const t of [...TAGS, "mlflow.runName"]) fsSync.writeFileSync(join(run, "tags", t), "value");
    fsSync.writeFileSync(join(run, "meta.yaml"), "status: 1\n".repeat(15));
    fsSync.writeFileSync(join(run, "artifacts", "source.ts"), "void 0");
    fsSync.writeFileSync(join(run, "artifacts", "notebook.ipynb"), "{}".repeat(500));
    fsSync.writeFileSync(join(run, "meta.yaml"), "status: 3\n".repeat(15));
  }
  return { wall: ms(t0) / LIFECYCLES, cpu: cpuMs(c0) / LIFECYCLES };
}

export async function run() {
  const base = await fs.mkdtemp(join(tmpdir(), "bench-fs-"));
  try {
    const all = batches();
    const store = new FileStore(join(base, "mlruns"));
    const { info } = await store.createRun({ experimentId: "0", runName: "bench" });
    const raw = await rawAppends(join(base, "raw"), all);
    const t0 = process.hrtime.bigint();
    for (const metrics of all) await store.logBatch(info.runId, { metrics });
    const ours = ms(t0);
    const points = BATCHES * PER_BATCH;

    const exp = await store.createExperiment("search-bench");
    for (let r = 0; r < RUNS; r++) {
      const { info: ri } = await store.createRun({ experimentId: exp, runName: `r${r}`, startTime: 1700000000000 + r });
      await store.logBatch(ri.runId, {
        metrics: [
          { key: "acc", value: (r % 97) / 97, timestamp: 1, step: 0 },
          { key: "loss", value: 1 - (r % 89) / 89, timestamp: 1, step: 0 },
        ],
        params: [{ key: "lr", value: String(r % 7) }],
        tags: [{ key: "stage", value: r % 2 ? "train" : "eval" }],
      });
    }
    const rawSearch = await rawReads(join(base, "mlruns", exp));
    const rawSearchSync = rawReadsSync(join(base, "mlruns", exp));
    const s0 = process.hrtime.bigint(),
      sc = process.cpuUsage();
    const page = await store.searchRuns({
      experimentIds: [exp],
      filter: "metrics.acc > 0.5 AND tags.stage = 'train'",
      orderBy: ["metrics.loss DESC"],
      maxResults: 1000,
    });
    const search = ms(s0),
      searchCpu = cpuMs(sc);

    const lifeExp = await store.createExperiment("lifecycle-bench");
    const rawLife = rawLifecycles(join(base, "raw-runs"));
    const life = await lifecycles(store, lifeExp);

    console.table([
      {
        case: `logBatch ${points} points (${BATCHES}×${PER_BATCH})`,
        ms: ours.toFixed(1),
        "points/s": Math.round(points / (ours / 1000)),
        baseline: "raw appendFile of the same lines",
        "baseline ms": raw.toFixed(1),
        ratio: (ours / raw).toFixed(2),
      },
      {
        case: `searchRuns over ${RUNS} runs (${page.items.length} matched; CPU ${searchCpu.toFixed(1)} ms)`,
        ms: search.toFixed(1),
        "points/s": "",
        baseline: "fs.promises.readFile of every run file",
        "baseline ms": rawSearch.toFixed(1),
        ratio: (search / rawSearch).toFixed(2),
      },
      {
        case: "  (same search)",
        ms: search.toFixed(1),
        "points/s": "",
        baseline: "readFileSync of every run file",
        "baseline ms": rawSearchSync.toFixed(1),
        ratio: (search / rawSearchSync).toFixed(2),
      },
      {
        case: `run create+2 artifacts+finish (CPU ${life.cpu.toFixed(2)} ms)`,
        ms: life.wall.toFixed(2),
        "points/s": "",
        baseline: `raw sync writes of its files (CPU ${rawLife.cpu.toFixed(2)} ms)`,
        "baseline ms": rawLife.wall.toFixed(2),
        ratio: (life.wall / rawLife.wall).toFixed(2),
      },
    ]);
  } finally {
    await fs.rm(base, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
