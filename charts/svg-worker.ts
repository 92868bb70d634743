// The thread behind `renderSvgSync`: renders specs with the same code as `renderSpecToSvg`
// and wakes the waiting caller through a shared flag. Replies go over a dedicated port so
// the caller can read them synchronously (receiveMessageOnPort) while it is blocked.
// The renderer is imported lazily, so even a failing import is answered, not left waiting.

import { type MessagePort, parentPort, workerData } from "node:worker_threads";

interface Job {
  id: number;
  spec: object;
  flag: Int32Array;
}

const port = (workerData as { port: MessagePort }).port;
let render: Promise<typeof import("./render.js")> | undefined;

parentPort!.on("message", async ({ id, spec, flag }: Job) => {
  try {
    const { renderSpecToSvg } = await (render ??= import("./render.js"));
    port.postMessage({ id, svg: await renderSpecToSvg(spec) });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    port.postMessage({ id, error: { code: err.code ?? "BAD_SPEC", message: err.message ?? String(e) } });
  }
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
