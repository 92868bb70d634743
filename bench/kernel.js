// Kernel speed, side by side with stock tslab@1.0.22's own kernel in the same run,
// both driven over ZeroMQ by the product's KernelClient (dist/jupyter-client/client.js):
// cold start to the first kernel_info_reply, the median round trip of trivial
// executes (`1+1` through idle), a cell building a 100,000-element array, and a
// 1e6 top-level loop against the same loop inside a function. Our first cell is timed
// warm (the project's compiler snapshot built, see kernel/compiler/cache.ts, and the shared
// compiler service the cold kernel started still running, see kernel/compiler/shared.ts) and
// cold. bench/first-result.js times spawn to first result in every state of the cache.
// Also: a type-checked cell declaring a 30-line function after warm-up (ours, stock tslab's,
// and our JIT-cold first ten, run right after the kernel's first cell; back to back, one
// at a time with a pause before each, as a person runs cells, and in a second kernel started
// after everything else, as a second notebook of the day), a new one-line cell in
// a long notebook (after 200 more cells that declare something), and the 1e6 top-level loop
// against Deno's kernel (`deno jupyter --kernel`, the `deno` devDependency).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KernelClient } from "../dist/jupyter-client/index.js";
import { compilerSnapshotBuilt } from "./support/compiler-snapshot.js";
import { DENO } from "./support/deno.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STARTS = 3;
const TRIVIAL = 200;
const REPS = 5;

const FN_CELLS = 20;
/** The pause before each cell of the one-at-a-time row (a person reading the last result). */
const PAUSE_MS = 250;
/** Cells that declare something, run before the long-notebook row's one-line cells. */
const LONG_DECLS = 200;

/** A cell declaring a 30-line typed function (a fresh name each time) and calling it once. */
function fn30Cell(k) {
  const body = [];
  for (let i = 0; i < 27; i++) body.push(`  const v${i}: number = ${i === 0 ? "xs.length" : `v${i - 1} + (xs[${i}] ?? ${i}) * scale`};`);
  return [
    `function fn30_${k}(xs: readonly number[], scale: number, label: string): { label: string; total: number } {`,
    ...body,
    `  return { label: label.toUpperCase(), total: v26 };`,
    "}",
    `fn30_${k}([1, 2, 3], 2, "run").total`,
  ].join("\n");
}

const KERNELS = {
  "tslab-mlflow": {
    argv: [process.execPath, path.join(ROOT, "dist", "cli", "main.js"), "kernel", "--connection-file", "{connection_file}"],
    interruptMode: "message",
  },
  // Launched as its kernelspec does; run from the repo so @types/node resolves (stock tslab needs it).
  "stock tslab": {
    argv: [process.execPath, path.join(ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"],
    interruptMode: "signal",
  },
  ...(DENO ? { deno: { argv: [DENO, "jupyter", "--kernel", "--conn", "{connection_file}"], interruptMode: "signal" } } : {}),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Our kernels keep their compiler snapshots here, so the cold and warm figures are the bench's own.
const CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-bench-cache-"));

function start(name, env = {}) {
  return KernelClient.start({
    ...KERNELS[name],
    cwd: ROOT,
    startTimeout: 60_000,
    env: { ...process.env, TSLAB_MLFLOW_CACHE_DIR: CACHE_DIR, ...env },
  });
}

/** The first cell of a kernel started just now (its compiler still warming up). */
async function firstCellAfterStart(name, env) {
  const c = await start(name, env);
  try {
    return await timed(name, c, "1+1");
  } finally {
    await c.close();
  }
}

const lostIdle = { "tslab-mlflow": 0, "stock tslab": 0, deno: 0 };
const lostReply = { "tslab-mlflow": 0, "stock tslab": 0, deno: 0 };

/** Round trip of one cell through its idle status; a cell whose idle never came is run again. */
async function timed(name, client, code) {
  for (;;) {
    const t = performance.now();
    const { reply, idle } = await client.execute(code, { timeout: 120_000, idleGrace: 2000 });
    const ms = performance.now() - t;
    if (reply.content.status !== "ok") throw new Error(`cell failed: ${code}\n${JSON.stringify(reply.content)}`);
    if (idle) return ms;
    lostIdle[name]++;
  }
}

async function measure(name) {
  const starts = [];
  for (let i = 0; i < STARTS; i++) {
    const c = await start(name);
    starts.push(c.timings.firstReply - c.timings.spawned);
    await c.close();
  }
  let firstCellCold;
  if (name === "tslab-mlflow") {
    // The first kernel in the project compiles cold, then builds the snapshot the next one uses.
    firstCellCold = await firstCellAfterStart(name);
    await compilerSnapshotBuilt(CACHE_DIR);
  }

  const c = await start(name);
  try {
    const firstCell = await timed(name, c, "1+1");
    // JIT-cold: the kernel's first function cells, before any warm-up.
    const fnCold = [];
    for (let k = 0; k < 10; k++) fnCold.push(await timed(name, c, fn30Cell(k)));
    for (let i = 0; i < 10; i++) await timed(name, c, "1+1");
    const trivial = [];
    for (let i = 0; i < TRIVIAL; i++) trivial.push(await timed(name, c, "1+1"));
    // The transport's floor: a request the kernel answers without running anything.
    const info = [];
    while (info.length < TRIVIAL) {
      const t = performance.now();
      try {
        await c.request("shell", "kernel_info_request", {}, { timeout: 10_000 });
        info.push(performance.now() - t);
      } catch (e) {
        if (e.code !== "TIMEOUT") throw e;
        lostReply[name]++;
      }
    }

    const array = [];
    const topLoop = [];
    const fnLoop = [];
    for (let k = 0; k < REPS; k++) {
      // Fresh names per repetition: the cells stay independent of redeclaration rules.
      const s = k === 0 ? "s" : `s${k}`;
      array.push(await timed(name, c, `const arr${k}: number[] = []; for (let i = 0; i < 100000; i++) arr${k}.push(i); arr${k}.length`));
      topLoop.push(await timed(name, c, `let ${s} = 0; for (let i = 0; i < 1e6; i++) ${s} += i; ${s}`));
      fnLoop.push(await timed(name, c, `function loop${k}() { let s = 0; for (let i = 0; i < 1e6; i++) s += i; return s; } loop${k}()`));
    }
    // After warm-up (the trivial cells, loops and the cold ten above).
    const fn30 = [];
    for (let k = 10; k < 10 + FN_CELLS; k++) fn30.push(await timed(name, c, fn30Cell(k)));
    // The same cells one at a time, as a person runs them: a pause before each.
    const fn30Paced = [];
    for (let k = 100; k < 100 + FN_CELLS; k++) {
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
      fn30Paced.push(await timed(name, c, fn30Cell(k)));
    }
    // A long notebook: new one-line cells (not re-runs, which a kernel may answer from memory)
    // after LONG_DECLS more cells that each declare a constant and a function.
    for (let d = 0; d < LONG_DECLS; d++) {
      await timed(name, c, `const long${d}: number = ${d};\nfunction longF${d}(a: string): number { return a.length + long${d}; }`);
    }
    const late = [];
    for (let k = 0; k < FN_CELLS; k++) late.push(await timed(name, c, `${k} + 1000`));
    // A second notebook opened now: a new kernel's first function cells. Ours converts them in
    // the shared service, whose JIT the cells above warmed; stock tslab's new kernel starts cold.
    const second = await start(name);
    const fn30Second = [];
    try {
      for (let k = 300; k < 300 + FN_CELLS; k++) fn30Second.push(await timed(name, second, fn30Cell(k)));
    } finally {
      await second.close();
    }
    return {
      fn30Second: median(fn30Second),
      fnCold,
      fn30: median(fn30),
      fn30Paced: median(fn30Paced),
      late: median(late),
      start: median(starts),
      firstCell,
      firstCellCold,
      trivial: median(trivial),
      info: median(info),
      array: median(array),
      topLoop: median(topLoop),
      fnLoop: median(fnLoop),
    };
  } finally {
    await c.close();
  }
}

const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
const x = (r) => `${r.toFixed(2)}x`;

async function measureNamed(name) {
  try {
    return await measure(name);
  } catch (e) {
    e.message = `${name}: ${e.message}`;
    throw e;
  }
}

/** Deno's kernel: the loops only (after ten trivial cells), same cells as ours. */
async function measureDeno() {
  const c = await start("deno");
  try {
    for (let i = 0; i < 10; i++) await timed("deno", c, "1+1");
    const topLoop = [];
    const fnLoop = [];
    for (let k = 0; k < REPS; k++) {
      const s = k === 0 ? "s" : `s${k}`;
      topLoop.push(await timed("deno", c, `let ${s} = 0; for (let i = 0; i < 1e6; i++) ${s} += i; ${s}`));
      fnLoop.push(await timed("deno", c, `function loop${k}() { let s = 0; for (let i = 0; i < 1e6; i++) s += i; return s; } loop${k}()`));
    }
    return { topLoop: median(topLoop), fnLoop: median(fnLoop) };
  } finally {
    await c.close();
  }
}

export async function run() {
  let ours, stock, deno;
  try {
    ours = await measureNamed("tslab-mlflow");
    stock = await measureNamed("stock tslab");
    if (DENO) deno = await measureDeno();
  } finally {
    fs.rmSync(CACHE_DIR, { recursive: true, force: true });
  }
  const rows = [
    [
      "cold start to kernel_info_reply",
      fmt(ours.start),
      fmt(stock.start),
      x(ours.start / stock.start),
      "<= 0.2x stock",
      ours.start / stock.start <= 0.2,
    ],
    [
      "first cell after start (1+1), warm (compiler service)",
      fmt(ours.firstCell),
      fmt(stock.firstCell),
      x(ours.firstCell / stock.firstCell),
      "",
      null,
    ],
    [
      "first cell after start (1+1), cold (empty cache)",
      fmt(ours.firstCellCold),
      fmt(stock.firstCell),
      x(ours.firstCellCold / stock.firstCell),
      "",
      null,
    ],
    [
      `trivial cell, median of ${TRIVIAL}`,
      fmt(ours.trivial),
      fmt(stock.trivial),
      x(ours.trivial / stock.trivial),
      "<= 3 ms",
      ours.trivial <= 3,
    ],
    [`kernel_info round trip, median of ${TRIVIAL}`, fmt(ours.info), fmt(stock.info), x(ours.info / stock.info), "", null],
    ["100,000-element array cell", fmt(ours.array), fmt(stock.array), x(ours.array / stock.array), "", null],
    ["1e6 loop, top level", fmt(ours.topLoop), fmt(stock.topLoop), x(ours.topLoop / stock.topLoop), "", null],
    ["1e6 loop, in a function", fmt(ours.fnLoop), fmt(stock.fnLoop), x(ours.fnLoop / stock.fnLoop), "", null],
    [
      `30-line function cell, after warm-up (median of ${FN_CELLS})`,
      fmt(ours.fn30),
      fmt(stock.fn30),
      x(ours.fn30 / stock.fn30),
      "<= 15 ms",
      ours.fn30 <= 15,
    ],
    [
      `same, a second kernel's first ${FN_CELLS} (after the rows above)`,
      fmt(ours.fn30Second),
      fmt(stock.fn30Second),
      x(ours.fn30Second / stock.fn30Second),
      "",
      null,
    ],
    [
      `same, one at a time (${PAUSE_MS} ms pause before each)`,
      fmt(ours.fn30Paced),
      fmt(stock.fn30Paced),
      x(ours.fn30Paced / stock.fn30Paced),
      "",
      null,
    ],
    [
      `one-line cell after ${LONG_DECLS} more declaring cells (median of ${FN_CELLS})`,
      fmt(ours.late),
      fmt(stock.late),
      x(ours.late / stock.late),
      "",
      null,
    ],
    [
      "30-line function cell, JIT-cold first ten (median)",
      fmt(median(ours.fnCold)),
      fmt(median(stock.fnCold)),
      x(median(ours.fnCold) / median(stock.fnCold)),
      "",
      null,
    ],
    [
      "1e6 loop, top level: ours / deno",
      deno ? x(ours.topLoop / deno.topLoop) : "-",
      deno ? `deno ${fmt(deno.topLoop)}` : "deno not installed",
      "",
      "<= 2x",
      deno ? ours.topLoop / deno.topLoop <= 2 : null,
    ],
    [
      "top-level / function loop",
      x(ours.topLoop / ours.fnLoop),
      x(stock.topLoop / stock.fnLoop),
      "",
      "<= 2x",
      ours.topLoop / ours.fnLoop <= 2,
    ],
  ];
  const head = ["measure", "tslab-mlflow", "stock tslab", "ratio", "target", "met"];
  const cells = rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5] === null ? "" : r[5] ? "yes" : "NO"]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells) console.log(line(r));
  console.log(`our JIT-cold first ten 30-line function cells, ms: ${ours.fnCold.map((v) => v.toFixed(1)).join(" ")}`);
  console.log(`stock tslab's first ten, ms: ${stock.fnCold.map((v) => v.toFixed(1)).join(" ")}`);
  if (deno) console.log(`deno: 1e6 loop top level ${fmt(deno.topLoop)}, in a function ${fmt(deno.fnLoop)}`);
  console.log(`(medians; starts: ${STARTS} each, loops and arrays: ${REPS} each; ratio = tslab-mlflow / stock tslab)`);
  console.log(
    `idle statuses never published (cell re-run): tslab-mlflow ${lostIdle["tslab-mlflow"]}, stock tslab ${lostIdle["stock tslab"]}`,
  );
  console.log(
    `kernel_info replies not received within 10 s: tslab-mlflow ${lostReply["tslab-mlflow"]}, stock tslab ${lostReply["stock tslab"]}`,
  );
}
