// Worker thread that hosts tslab's TypeScript converter (see service.ts).
//
// Creating the converter takes over a second of synchronous work; doing it here keeps
// the main thread free to answer kernel_info (and everything else) at once.
import { parentPort } from "node:worker_threads";
import { serveCompiler } from "./service.js";

const port = parentPort!;
serveCompiler({
  postMessage: (m) => port.postMessage(m),
  onMessage: (listener) => port.on("message", listener),
  close: () => port.close(),
});
