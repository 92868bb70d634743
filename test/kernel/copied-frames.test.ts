// A worker thread's ZeroMQ sends must not leave the I/O thread a Buffer to hand back after the
// worker has ended (kernel/copied-frames.ts): the kernel's control thread sends its last
// reply and ends while the process lives on, and aborted at exit now and then.
//
// The fault, made certain: a worker connects a PUSH socket to an address nobody listens on
// yet (ZeroMQ queues for it), sends 500 frames of 4 KiB, closes the socket and ends; then the
// main thread binds the address and takes them all, so every hand-back comes after the
// worker's end. MALLOC_PERTURB_ fills freed memory so a write there is caught at once.
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { copiedFrames } from "../../kernel/copied-frames.js";
import { ROOT } from "./helpers.js";

const FRAMES = 500;
/** A run still going after this has hung (corrupted memory can deadlock as well as crash): it is killed, and did not end cleanly. */
const HUNG_MS = 20_000;

function script(copied: boolean): string {
  const worker = `
    const { parentPort, workerData } = require("node:worker_threads");
    const zmq = require(workerData.zeromq);
    const { copiedFrames } = await import(workerData.copiedFrames);
    const push = new zmq.Push();
    push.connect(workerData.address);
    const frame = Buffer.alloc(4096, "x");
    for (let i = 0; i < ${FRAMES}; i++) await push.send(workerData.copied ? copiedFrames([frame]) : [Buffer.from(frame)]);
    push.close();`;
  return `
    const { Worker } = require("node:worker_threads");
    const zmq = require(${JSON.stringify(path.join(ROOT, "node_modules", "zeromq"))});
    (async () => {
      const pull = new zmq.Pull();
      await pull.bind("tcp://127.0.0.1:*");
      const address = pull.lastEndpoint;
      await pull.unbind(address);
      const worker = new Worker(${JSON.stringify(`(async () => {${worker}})()`)}, { eval: true, workerData: {
        address, copied: ${copied},
        zeromq: ${JSON.stringify(path.join(ROOT, "node_modules", "zeromq"))},
        copiedFrames: ${JSON.stringify(path.join(ROOT, "dist", "kernel", "copied-frames.js"))},
      } });
      await new Promise((resolve) => worker.once("exit", resolve));
      await pull.bind(address);
      for (let i = 0; i < ${FRAMES}; i++) await pull.receive();
      pull.close();
      process.stdout.write("received all");
      process.exit(0);
    })();`;
}

function run(copied: boolean): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script(copied)], {
      env: { ...process.env, MALLOC_PERTURB_: "165" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.resume();
    const hung = setTimeout(() => child.kill("SIGKILL"), HUNG_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(hung);
      resolve({ code, signal, stdout });
    });
  });
}

describe("copiedFrames", () => {
  it("sends UTF-8 frames over 128 bytes as strings and leaves the rest as they are", () => {
    const json = Buffer.from(JSON.stringify({ text: "é".repeat(100) }));
    const small = Buffer.from("<IDS|MSG>");
    const binary = Buffer.alloc(200, 0xff);
    const out = copiedFrames([small, json, binary]);
    expect(out[0]).toBe(small);
    expect(out[1]).toBe(json.toString("utf8"));
    expect(Buffer.from(out[1] as string)).toEqual(json);
    expect(out[2]).toBe(binary);
  });

  it("lets a worker end before ZeroMQ delivers what it sent, and the process exits cleanly", { timeout: 90_000 }, async () => {
    for (let i = 0; i < 3; i++) expect(await run(true)).toEqual({ code: 0, signal: null, stdout: "received all" });
  });

  it("(the check above can fail: the same sends as Buffers corrupt memory once the worker has ended)", { timeout: 90_000 }, async () => {
    const runs = [await run(false), await run(false), await run(false)];
    expect(runs.some((r) => r.code !== 0)).toBe(true);
  });
});
