// The cost of interruptible top-level await: a cell's own awaits run as
// generator steps, each under vm's breakOnSigint (see kernel/compiler/await-yield.ts).
// Baseline, in the same kernel and run: the same loop inside an async
// function, which keeps native await. Cells are run twice and the second run
// timed, so type-checking is out of the figure (re-run cells hit the compile cache).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KernelClient } from "../dist/jupyter-client/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const N = 20_000;
const REPS = 5;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function timed(k, code) {
  const t = performance.now();
  const { reply } = await k.execute(code, { timeout: 120_000 });
  if (reply.content.status !== "ok") throw new Error(`cell failed: ${code}\n${JSON.stringify(reply.content)}`);
  return performance.now() - t;
}

export async function run() {
  const k = await KernelClient.start({
    argv: [process.execPath, path.join(ROOT, "dist", "kernel", "main.js"), "--connection-file", "{connection_file}"],
    cwd: ROOT,
    interruptMode: "message",
    startTimeout: 60_000,
  });
  try {
    const top = `let awaited = 0; for (let i = 0; i < ${N}; i++) awaited += await Promise.resolve(1); awaited`;
    const fn = `async function awaitLoop() { let n = 0; for (let i = 0; i < ${N}; i++) n += await Promise.resolve(1); return n; } await awaitLoop()`;
    const tops = [];
    const fns = [];
    for (let r = 0; r < REPS + 1; r++) {
      const a = await timed(k, top);
      const b = await timed(k, fn);
      if (r > 0) {
        tops.push(a);
        fns.push(b);
      }
    }
    const t = median(tops);
    const f = median(fns);
    console.log(`${N.toLocaleString("en")} awaits per cell, median of ${REPS}`);
    console.log("measure                                   ms      per await");
    console.log(`top level (interruptible generator steps) ${t.toFixed(1).padStart(7)}  ${((t * 1000) / N).toFixed(1)} us`);
    console.log(`inside an async function (native await)   ${f.toFixed(1).padStart(7)}  ${((f * 1000) / N).toFixed(1)} us`);
    console.log(`ratio top level / native                  ${(t / f).toFixed(2)}x`);
  } finally {
    await k.close();
  }
}
