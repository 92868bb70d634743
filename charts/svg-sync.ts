// Synchronous SVG rendering, for display protocols that want a MIME bundle right away
// (a cell's value is shown through a synchronous `[Symbol.for("Jupyter.display")]()`).
// Vega renders asynchronously, so the work runs on a worker thread while this thread
// waits on a shared flag; the output is byte-identical to `renderSpecToSvg`.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";
import { ChartError, type ChartErrorCode } from "./errors.js";

interface Reply {
  id: number;
  svg?: string;
  error?: { code: string; message: string };
}

let renderer: { worker: Worker; port: MessagePort } | undefined;
let nextId = 0;

/** The compiled worker beside this module, or, when this module runs from TypeScript sources
 * (the test runner), the one the build put in dist/. */
function workerUrl(): URL {
  const candidates = [new URL("./svg-worker.js", import.meta.url), new URL("../dist/charts/svg-worker.js", import.meta.url)];
  const found = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!found) {
    throw new ChartError(
      "RENDER_UNAVAILABLE",
      `No compiled SVG worker at ${candidates.map((u) => fileURLToPath(u)).join(" or ")}; run the build`,
    );
  }
  return found;
}

function start(): { worker: Worker; port: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(workerUrl(), { workerData: { port: port2 }, transferList: [port2] });
  // Never keep the process alive just for this thread.
  worker.unref();
  port1.unref();
  worker.on("error", () => (renderer = undefined));
  worker.on("exit", () => (renderer = undefined));
  return { worker, port: port1 };
}

/** Renders a Vega-Lite (or Vega) spec to SVG, blocking this thread for at most `timeoutMs`. */
export function renderSvgSync(spec: object, timeoutMs = 30_000): string {
  const r = (renderer ??= start());
  const id = ++nextId;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  r.worker.postMessage({ id, spec, flag });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || Atomics.wait(flag, 0, 0, left) === "timed-out") {
      // A late answer must never be taken for the next job's: start afresh next time.
      renderer = undefined;
      void r.worker.terminate();
      throw new ChartError("RENDER_TIMEOUT", `Rendering the chart to SVG took longer than ${timeoutMs} ms`);
    }
    let msg: { message: Reply } | undefined;
    while ((msg = receiveMessageOnPort(r.port) as { message: Reply } | undefined)) {
      if (msg.message.id !== id) continue;
      const { svg, error } = msg.message;
      if (error) throw new ChartError(error.code as ChartErrorCode, error.message);
      return svg!;
    }
  }
}
