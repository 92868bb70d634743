// The live run panel's cost to the cell, through a spawned kernel (file store): a %%mlflow_run
// cell logging 100,000 metric points with the panel on vs the same cell with it off
// (`%mlflow_autolog off --what panel`, switched by an untimed cell before each timed one), taking
// turns so a busy machine slows both alike; medians and their ratio, of the cell's wall time
// (run creation, logging, the run's end with delivery), of the logging loop alone as the cell
// times it, and the kernel's mean CPU time per cell (from /proc, less swayed by other processes
// than wall time on a busy machine). Two cells:
//  1. one synchronous loop (the timer cannot fire: the cost is recording each point, plus the
//     first and the final frame);
//  2. the same points in 100 awaited chunks (the timer fires: frames are rendered and
//     published while the cell runs).
// Target (issue 15): panel on within 1.05x of panel off.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KernelClient } from "../dist/jupyter-client/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REPS = 15;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (ms) => `${ms.toFixed(1)} ms`;

// CPU time of the kernel process from /proc (utime + stime; USER_HZ is 100 on Linux), in ms.
function kernelCpuMs(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function exec(client, code) {
  const t = performance.now();
  const { reply, outputs } = await client.execute(code, { timeout: 300_000 });
  const ms = performance.now() - t;
  if (reply.content.status !== "ok") throw new Error(`cell failed: ${code.split("\n")[0]}: ${reply.content.evalue}`);
  return { ms, outputs };
}

// Each cell's value is its logging loop's own time (ms).
const SYNC = `%%mlflow_run
(() => { const t = performance.now(); let s = 0; for (let i = 0; i < 100000; i++) { s += i * 0.5; mlflow.logMetric("m", i * 0.5, i); } return performance.now() - t; })()`;
const CHUNKED = `%%mlflow_run
const t = performance.now();
let s = 0;
for (let c = 0; c < 100; c++) {
  for (let i = c * 1000; i < (c + 1) * 1000; i++) { s += i * 0.5; mlflow.logMetric("m", i * 0.5, i); }
  await new Promise((ok) => setImmediate(ok));
}
performance.now() - t`;
const loopMs = (outputs) => Number(outputs.find((m) => m.header.msg_type === "execute_result")?.content.data["text/plain"]);

/** Medians of `cell` with the panel on and off, in turns; and the panel frames seen per on-run. */
async function onVsOff(client, cell) {
  const times = { on: [], off: [] };
  const loops = { on: [], off: [] };
  const cpu = { on: 0, off: 0 };
  let frames = 0;
  const timedWith = async (mode) => {
    await exec(client, `%mlflow_autolog ${mode} --what panel`);
    const before = kernelCpuMs(client.pid);
    const { ms, outputs } = await exec(client, cell);
    cpu[mode] += (kernelCpuMs(client.pid) - before) / REPS;
    loops[mode].push(loopMs(outputs));
    if (mode === "on") frames += outputs.filter((m) => m.header.msg_type === "update_display_data").length;
    return ms;
  };
  await timedWith("on"); // warm up both paths
  await timedWith("off");
  frames = 0;
  cpu.on = cpu.off = 0;
  loops.on.length = loops.off.length = 0;
  for (let r = 0; r < REPS; r++) {
    // Alternate which goes first, so neither always runs right after the other's delivery.
    const order = r % 2 ? ["off", "on"] : ["on", "off"];
    for (const mode of order) times[mode].push(await timedWith(mode));
  }
  return {
    on: median(times.on),
    off: median(times.off),
    loopOn: median(loops.on),
    loopOff: median(loops.off),
    cpu,
    frames: frames / REPS,
  };
}

export async function run() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-panel-"));
  const client = await KernelClient.start({
    argv: [process.execPath, path.join(ROOT, "dist", "cli", "main.js"), "kernel", "--connection-file", "{connection_file}"],
    interruptMode: "message",
    cwd: work,
    env: { ...process.env, MLFLOW_TRACKING_URI: path.join(work, "mlruns"), TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool") },
    startTimeout: 60_000,
  });
  const rows = [];
  try {
    for (const [name, cell] of [
      ["100k points, one synchronous loop", SYNC],
      ["100k points in 100 awaited chunks", CHUNKED],
    ]) {
      const r = await onVsOff(client, cell);
      rows.push([`${name}, panel off (baseline)`, fmt(r.off), `loop ${fmt(r.loopOff)}; kernel CPU ${fmt(r.cpu.off)}`]);
      rows.push([
        `${name}, panel on`,
        fmt(r.on),
        `${(r.on / r.off).toFixed(3)}x (target <= 1.05x); loop ${fmt(r.loopOn)} = ${(r.loopOn / r.loopOff).toFixed(3)}x; ` +
          `kernel CPU ${fmt(r.cpu.on)} = ${(r.cpu.on / r.cpu.off).toFixed(3)}x; ${r.frames.toFixed(1)} panel updates per cell`,
      ]);
    }
  } finally {
    await client.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  console.log(`${"case".padEnd(w[0])}  ${"median".padStart(w[1])}  vs baseline`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w[0])}  ${b.padStart(w[1])}  ${c}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
