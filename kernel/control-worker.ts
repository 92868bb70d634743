// Worker thread that owns the control ROUTER and heartbeat REP sockets.
//
// User code runs on the main thread and a `while(true){}` blocks its event
// loop, so the channels that must answer during such a cell live here: the
// heartbeat echoes, and a correctly signed interrupt_request raises SIGINT at
// once (vm's breakOnSigint then stops the loop; an idle main thread gets the
// signal as a normal SIGINT event), and again if it did not take (interrupt-state.ts). Every control message is then handed to
// the main thread, which replies through this worker.
import { parentPort, workerData } from "node:worker_threads";
import { createRequire } from "node:module";
import type * as Zmq from "zeromq";
import { decode } from "../protocol/wire.js";
import { copiedFrames } from "./copied-frames.js";
import { InterruptState } from "./interrupt-state.js";

interface Init {
  control: string;
  hb: string;
  key: string;
  interrupts: SharedArrayBuffer;
}
/** Main -> worker. */
export type ToWorker = { send: Uint8Array[] } | { close: true };
/** Worker -> main. */
export type FromWorker = { ready: true } | { frames: Uint8Array[] } | { error: string };

// Required, not imported: an ES import of a CommonJS package first scans its source for export
// names (~17 ms of this thread's start, which the kernel's first reply waits for).
const zmq = createRequire(import.meta.url)("zeromq") as typeof Zmq;
const { control: controlAddr, hb: hbAddr, key, interrupts: interruptBuffer } = workerData as Init;
const interrupts = new InterruptState(interruptBuffer);
const port = parentPort!;
const control = new zmq.Router({ handover: true });
const hb = new zmq.Reply();
let closing = false;
let sending: Promise<unknown> = Promise.resolve();

async function main(): Promise<void> {
  await control.bind(controlAddr);
  await hb.bind(hbAddr);
  port.postMessage({ ready: true } satisfies FromWorker);
  void echoHeartbeats();
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await control.receive();
    } catch (e) {
      if (closing) return;
      port.postMessage({ error: `control receive failed: ${(e as Error).message}` } satisfies FromWorker);
      continue;
    }
    const d = decode(frames, key);
    if (d.ok && d.msg.header.msg_type === "interrupt_request") interrupts.raise();
    port.postMessage({ frames } satisfies FromWorker);
  }
}

async function echoHeartbeats(): Promise<void> {
  while (!closing) {
    try {
      const msg = await hb.receive();
      await hb.send(copiedFrames(msg));
    } catch {
      if (closing) return;
    }
  }
}

port.on("message", (m: ToWorker) => {
  if ("send" in m) {
    const frames = m.send.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    // zeromq allows one send in flight per socket: chain them.
    sending = sending
      .then(() => control.send(copiedFrames(frames)))
      .catch((e) => {
        port.postMessage({ error: `control send failed: ${(e as Error).message}` } satisfies FromWorker);
      });
  } else if ("close" in m) {
    closing = true;
    // Sockets must be closed before the worker ends, or the addon aborts the process. A
    // send that cannot complete (its peer gone) must not hold the close: closing the socket
    // ends it, so wait for the last reply at most a second.
    void Promise.race([sending, new Promise((r) => setTimeout(r, 1000).unref())]).finally(() => {
      control.close();
      hb.close();
      port.close();
    });
  }
});

main().catch((e) => {
  port.postMessage({ error: `control worker failed: ${(e as Error).stack ?? e}` } satisfies FromWorker);
});
