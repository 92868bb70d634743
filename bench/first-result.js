// Time to first result, the way a user feels it: from spawning a kernel to the
// execute_reply of its first cell (`1+1`), sent the moment the kernel is spawned (as a
// frontend that opens a notebook and runs a cell does; ZeroMQ holds the request until the
// kernel binds). Side by side in one run, medians of ROUNDS, interleaved round by round:
//   - ours with a warm cache (the project's compiler snapshot built): with the shared
//     compiler service already running (a kernel ran within its idle time), and without,
//   - ours on a machine where no kernel ever ran (a fresh, empty cache folder),
//   - ours as a second kernel while a first one is alive (a second notebook, a restart),
//   - each of those with the shared service off (each kernel its own compiler, as before),
//   - stock tslab@1.0.22 and Deno's kernel (`deno jupyter --kernel`, no type-checking),
//     first and second alike, since neither keeps anything between kernels.
// The client is a bare DEALER on the shell port: no kernel_info handshake in the way.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { newConnectionInfo, writeConnectionFile } from "../dist/jupyter-client/connection-file.js";
import { endpoint } from "../dist/protocol/connection.js";
import { newHeader } from "../dist/protocol/messages.js";
import { decode, encode } from "../dist/protocol/wire.js";
import { compilerSnapshotBuilt, pidsIn, stopServices } from "./support/compiler-snapshot.js";
import { DENO } from "./support/deno.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.BENCH_FIRST_RESULT_ROUNDS ?? 5);
const REPLY_TIMEOUT = 120_000;

const KERNELS = {
  ours: (file) => [process.execPath, path.join(ROOT, "dist", "cli", "main.js"), "kernel", "--connection-file", file],
  // As its kernelspec launches it; run from the repo so @types/node resolves (stock tslab needs it).
  stock: (file) => [process.execPath, path.join(ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", file],
  deno: (file) => [DENO, "jupyter", "--kernel", "--conn", file],
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A spawned kernel whose first `1+1` is already on its way; `reply` resolves with the ms from spawn to execute_reply. */
async function spawnAndRun(kind, env) {
  const info = await newConnectionInfo();
  const file = writeConnectionFile(info);
  const [cmd, ...args] = KERNELS[kind](file);
  const session = `bench-${process.pid}`;
  const shell = new zmq.Dealer({ linger: 0, routingId: session });
  const control = new zmq.Dealer({ linger: 0 });
  const msg = {
    header: newHeader("execute_request", session, "bench"),
    parent_header: {},
    metadata: {},
    content: { code: "1+1", silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
  };
  let tail = "";
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (d) => (tail = (tail + d).slice(-8000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((r) => child.once("exit", r));
  shell.connect(endpoint(info, "shell"));
  control.connect(endpoint(info, "control"));
  await shell.send(encode(msg, info.key));
  const reply = (async () => {
    exited.then(() => shell.closed || shell.close());
    const timer = setTimeout(() => shell.close(), REPLY_TIMEOUT);
    try {
      for await (const frames of shell) {
        const d = decode(frames, info.key);
        if (d.ok && d.msg.parent_header.msg_id === msg.header.msg_id && d.msg.header.msg_type === "execute_reply") {
          const ms = performance.now() - t0;
          const { status, evalue } = d.msg.content;
          if (status !== "ok") throw new Error(`${kind}: first cell failed: ${evalue}`);
          return ms;
        }
      }
      throw Object.assign(
        new Error(`${kind}: no execute_reply (${child.exitCode === null ? `within ${REPLY_TIMEOUT} ms` : "kernel exited"})\n${tail}`),
        {
          exited: child.exitCode !== null || child.signalCode !== null,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  })();
  reply.catch(() => {});
  const stop = async () => {
    // shutdown_request as a frontend sends it, then a kill if the kernel does not end.
    const bye = { ...msg, header: newHeader("shutdown_request", session, "bench"), content: { restart: false } };
    await control.send(encode(bye, info.key)).catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    if (!shell.closed) shell.close();
    control.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  };
  return { reply, stop, tail: () => tail };
}

/** Kernels that died before their first reply (measured again), by kind. */
const crashed = {};

/** One kernel: spawn, first result, shut down. */
async function firstResult(kind, env) {
  for (let attempt = 1; ; attempt++) {
    const k = await spawnAndRun(kind, env);
    try {
      return await k.reply;
    } catch (e) {
      // Stock tslab can crash when a request arrives while it binds its sockets ("Socket is
      // blocked by a bind or unbind operation"): counted, and measured again.
      if (!e.exited || attempt === 3) throw e;
      crashed[kind] = (crashed[kind] ?? 0) + 1;
    } finally {
      await k.stop();
    }
  }
}

/** A second kernel's first result while a first kernel of the same kind is alive (and has answered). */
async function secondResult(kind, env) {
  const first = await spawnAndRun(kind, env);
  try {
    await first.reply;
    return await firstResult(kind, env);
  } finally {
    await first.stop();
  }
}

/** Our kernel's environment: its cache folder; `perKernel` turns the shared compiler service off (each kernel its own compiler, as before it). */
function ourEnv(cacheDir, perKernel = false) {
  const env = { ...process.env, TSLAB_MLFLOW_CACHE_DIR: cacheDir };
  delete env.TSLAB_MLFLOW_COMPILER_SNAPSHOT;
  if (perKernel) env.TSLAB_MLFLOW_COMPILER_SERVICE = "0";
  else delete env.TSLAB_MLFLOW_COMPILER_SERVICE;
  return env;
}

/** A kernel on a machine where none ever ran: a fresh cache folder, then its background snapshot build stopped (it would slow the next measures). */
async function onFreshMachine(kind, perKernel, caches) {
  const cold = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-bench-cold-"));
  caches.push(cold);
  try {
    return await firstResult(kind, ourEnv(cold, perKernel));
  } finally {
    // The build is spawned once the compiler is ready: wait for its pid file, then stop it.
    const until = Date.now() + 10_000;
    while (pidsIn(cold, ".build").length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    stopServices(cold);
  }
}

export async function run() {
  const warmCache = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-bench-warm-"));
  const caches = [warmCache];
  const r = {
    running: [],
    fresh: [],
    cold: [],
    second: [],
    perKernelWarm: [],
    perKernelCold: [],
    perKernelSecond: [],
    stock: [],
    stockSecond: [],
    deno: [],
    denoSecond: [],
  };
  try {
    // Build the warm cache once, as the first kernel on a machine does.
    await firstResult("ours", ourEnv(warmCache));
    await compilerSnapshotBuilt(warmCache);
    if (DENO) await firstResult("deno", process.env); // Deno's own first run (its cache folder)
    for (let i = 0; i < ROUNDS; i++) {
      // The shared service: already running (a kernel ran within its idle time), then none running.
      r.running.push(await firstResult("ours", ourEnv(warmCache)));
      r.second.push(await secondResult("ours", ourEnv(warmCache)));
      stopServices(warmCache);
      r.fresh.push(await firstResult("ours", ourEnv(warmCache)));
      r.cold.push(await onFreshMachine("ours", false, caches));
      // Each kernel its own compiler (the shared service off): as before the service.
      r.perKernelWarm.push(await firstResult("ours", ourEnv(warmCache, true)));
      r.perKernelSecond.push(await secondResult("ours", ourEnv(warmCache, true)));
      r.perKernelCold.push(await onFreshMachine("ours", true, caches));
      r.stock.push(await firstResult("stock", process.env));
      r.stockSecond.push(await secondResult("stock", process.env));
      if (DENO) {
        r.deno.push(await firstResult("deno", process.env));
        r.denoSecond.push(await secondResult("deno", process.env));
      }
    }
  } finally {
    for (const dir of caches) {
      stopServices(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length ? median(v) : Number.NaN]));
  const s = (ms) => (Number.isNaN(ms) ? "-" : `${(ms / 1000).toFixed(2)} s`);
  const rows = [
    ["warm cache, compiler service running", m.running, m.perKernelWarm, m.stock, m.deno, "<= 0.4 s", m.running <= 400],
    ["warm cache, no compiler service yet", m.fresh, m.perKernelWarm, m.stock, m.deno, "", null],
    ["empty cache (no kernel ever ran)", m.cold, m.perKernelCold, m.stock, m.deno, "<= 0.9 s", m.cold <= 900],
    ["second kernel while a first is alive", m.second, m.perKernelSecond, m.stockSecond, m.denoSecond, "<= 0.4 s", m.second <= 400],
  ];
  const head = ["spawn -> first 1+1 execute_reply", "tslab-mlflow", "per-kernel compiler", "stock tslab", "deno", "target", "met"];
  const cells = rows.map(([what, ours, per, stock, deno, target, met]) => [
    what,
    s(ours),
    s(per),
    s(stock),
    s(deno),
    target,
    met === null ? "" : met ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row) => row.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of cells) console.log(line(row));
  console.log(
    `(medians of ${ROUNDS}, interleaved; per-kernel compiler: TSLAB_MLFLOW_COMPILER_SERVICE=0, each kernel its own, as before the shared service; ${
      DENO ? `deno: ${DENO}` : "deno: not installed (npm install deno)"
    })`,
  );
  if (Object.keys(crashed).length) console.log(`kernels that died before their first reply (measured again): ${JSON.stringify(crashed)}`);
  for (const [k, v] of Object.entries(r)) console.log(`  ${k.padEnd(16)} ms: ${v.map((x) => Math.round(x)).join(" ")}`);
}
