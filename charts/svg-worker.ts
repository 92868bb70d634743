// The thread behind `renderSvgSync`: renders specs with the same code as `renderSpecToSvg`
// and wakes the waiting caller through a shared flag. Replies go over a dedicated port so
// the caller can read them synchronously (receiveMessageOnPort) while it is blocked.

import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { renderSpecToSvg } from "./render.js";

interface Job { id: number; spec: object; flag: Int32Array }

const port = (workerData as { port: MessagePort }).port;

parentPort!.on("message", async ({ id, spec, flag }: Job) => {
  try {
    port.postMessage({ id, svg: await renderSpecToSvg(spec) });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    port.postMessage({ id, error: { code: err.code ?? "BAD_SPEC", message: err.message ?? String(e) } });
  }
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
