// Run comparison speed: `compare` over 1,000 runs x 5 metrics including the SVG (the
// %mlflow_compare target is <= 1 s), for each chart kind, against two baselines measured in
// the same run: Vega-Lite compile + SVG render of a trivial 1-point chart, and building the
// data model + text table alone. Medians of REPS runs after one warm-up.
import { performance } from "node:perf_hooks";
import { compare, compareAsync, prepare, renderSvg, textTable } from "../dist/charts/index.js";

const RUNS = 1000;
const METRICS = 5;
const STEPS = 10;
const REPS = 5;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median wall time and median process CPU time (all threads; tells a busy machine apart). */
async function time(fn) {
  await fn(); // warm-up: module caches, JIT
  const wall = [];
  const cpu = [];
  for (let i = 0; i < REPS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await fn();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { ms: median(wall), cpu: median(cpu) };
}

/** Runs shaped like a sweep: lr (numeric, 3 decades), optimizer (text), layers; STEPS-point histories. */
function sweep(n, withHistory) {
  const metricKeys = Array.from({ length: METRICS }, (_, j) => `metric_${j}`);
  return Array.from({ length: n }, (_, i) => {
    const runId = ((i * 2654435761) >>> 0).toString(16).padStart(8, "0") + "0".repeat(24);
    const final = (j) => 1 / (1 + i / 100) + j * 0.1;
    const run = {
      info: {
        runId,
        experimentId: "1",
        runName: `run-${i}`,
        userId: "bench",
        status: "FINISHED",
        startTime: 1_700_000_000_000 + i,
        endTime: 1_700_000_000_500 + i,
        artifactUri: "",
        lifecycleStage: "active",
      },
      data: {
        metrics: metricKeys.map((key, j) => ({ key, value: final(j), timestamp: 1_700_000_000_000 + i, step: STEPS - 1 })),
        params: [
          { key: "lr", value: String(10 ** -(1 + (i % 4))) },
          { key: "optimizer", value: ["adam", "sgd", "rmsprop"][i % 3] },
          { key: "layers", value: String(1 + (i % 5)) },
        ],
        tags: [],
      },
    };
    if (!withHistory) return run;
    const history = Object.fromEntries(
      metricKeys.map((key, j) => [
        key,
        Array.from({ length: STEPS }, (_, s) => ({
          key,
          step: s,
          timestamp: 1_700_000_000_000 + s,
          value: final(j) * (1 + (STEPS - 1 - s) / STEPS),
        })),
      ]),
    );
    return { run, history };
  });
}

export async function run() {
  const finals = sweep(RUNS, false);
  const histories = sweep(RUNS, true);
  const trivial = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    data: { values: [{ a: 1, b: 2 }] },
    mark: "point",
    encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
  };
  const base = {
    render: await time(() => renderSvg(trivial)),
    table: await time(() => textTable(prepare(finals, {}))),
  };
  const cases = [
    ["auto (-> parallel), async", () => compareAsync(finals)],
    ["bar, async", () => compareAsync(finals, { kind: "bar" })],
    ["bar, sync display", () => compare(finals, { kind: "bar" }).bundle()],
    ["scatter lr, async", () => compareAsync(finals, { kind: "scatter", params: ["lr"] })],
    ["parallel, async", () => compareAsync(finals, { kind: "parallel" })],
    [`history ${STEPS} steps, async`, () => compareAsync(histories, { kind: "history" })],
  ];
  console.log(`compare over ${RUNS} runs x ${METRICS} metrics, SVG included; median of ${REPS}`);
  const row = (name, t, ...rest) =>
    console.log([name.padEnd(42), t.ms.toFixed(1).padStart(8), t.cpu.toFixed(0).padStart(7), ...rest].join(" "));
  console.log(
    ["case".padEnd(42), "ms".padStart(8), "cpu ms".padStart(7), "x A".padStart(6), "x B".padStart(6), "<= 1000 ms".padStart(11)].join(" "),
  );
  row("baseline A: compile + SVG of a 1-point chart", base.render);
  row("baseline B: data model + text table alone", base.table);
  for (const [name, fn] of cases) {
    const t = await time(fn);
    row(
      name,
      t,
      (t.ms / base.render.ms).toFixed(1).padStart(6),
      (t.ms / base.table.ms).toFixed(1).padStart(6),
      (t.ms <= 1000 ? "met" : "MISSED").padStart(11),
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
