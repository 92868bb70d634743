// The control thread (control-worker.ts) as the main thread holds it: started, made ready,
// listened to, stopped.
//
// A worker thread boots in 100–150 ms. Started only once the kernel's modules had loaded and
// its sockets were bound, that boot was the last thing before the first reply; prestart.ts now
// starts it as soon as the process knows its connection file, so it boots while the modules
// load, and the transport adopts it. Shell is still served only once it is ready.
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./control-worker.js";
import { InterruptState } from "./interrupt-state.js";

/** What the control thread binds and checks signatures with. */
export interface ControlAddress {
  control: string;
  hb: string;
  key: string;
}

type Message = Exclude<FromWorker, { ready: true }>;

export class ControlThread {
  /** Shared with the worker, which raises SIGINT for interrupt_request. */
  readonly interrupts = new InterruptState();
  /** Resolves once control and heartbeat are bound; rejects if they cannot be. */
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  /** Messages that came before anyone listened (a frontend may send on control at once). */
  private readonly early: Message[] = [];
  private listener: ((m: Message) => void) | undefined;
  private stopping: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  constructor(readonly address: ControlAddress) {
    this.worker = new Worker(new URL("./control-worker.js", import.meta.url), {
      workerData: { ...address, interrupts: this.interrupts.buffer },
    });
    this.exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on("message", (m: FromWorker) => {
        if ("ready" in m) return resolve();
        if (this.listener) this.listener(m);
        else if ("error" in m && !this.stopping) reject(new Error(m.error));
        else this.early.push(m);
      });
      this.worker.once("error", reject);
      this.worker.once("exit", (code) => reject(new Error(`control thread exited (${code}) before it was ready`)));
    });
    this.ready.catch(() => {});
  }

  /** Whether this thread serves `address` (a prestarted one is adopted only for its own connection file). */
  serves(address: ControlAddress): boolean {
    return this.address.control === address.control && this.address.hb === address.hb && this.address.key === address.key;
  }

  /** Whether the thread keeps the process alive (not while it merely waits to be adopted). */
  hold(held: boolean): void {
    if (held) this.worker.ref();
    else this.worker.unref();
  }

  listen(listener: (m: Message) => void): void {
    this.listener = listener;
    for (const m of this.early.splice(0)) listener(m);
  }

  post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /** Closes the thread's sockets and ends it. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.hold(true);
      this.worker.postMessage({ close: true } satisfies ToWorker);
      // The worker closes its sockets and exits (within about a second, see control-worker.ts).
      // Ending it with a socket open aborts the process, so this is a last resort for a stuck
      // worker, long enough that a loaded machine never reaches it.
      const timer = setTimeout(() => void this.worker.terminate(), 10_000);
      await this.exited;
      clearTimeout(timer);
    })());
  }
}

let prestarted: ControlThread | undefined;

/** Starts the control thread ahead of the kernel (prestart.ts); it does not keep the process alive until adopted. */
export function prestartControlThread(address: ControlAddress): void {
  prestarted = new ControlThread(address);
  prestarted.hold(false);
}

/** The prestarted thread if it serves `address`, else a new one (a prestarted thread for another address is stopped). */
export function controlThreadFor(address: ControlAddress): ControlThread {
  const early = prestarted;
  prestarted = undefined;
  if (early?.serves(address)) {
    early.hold(true);
    return early;
  }
  if (early) void early.stop();
  return new ControlThread(address);
}
