// Drives a generator-shaped cell (see compiler/await-yield.ts) as `async` would, but
// runs each step between awaits inside a breakOnSigint script, so SIGINT stops
// synchronous code that follows an await. Holding Node's SIGINT watchdog for
// the whole cell keeps each step cheap.
import vm from "node:vm";

const STEP = Symbol.for("tslab-mlflow.step");
/**
 * Runs one resumption of a cell generator; a script, so breakOnSigint can stop it. Named
 * after this file, so tracebacks leave its frame out with the rest of the kernel's.
 */
const stepScript = new vm.Script(`globalThis[Symbol.for("tslab-mlflow.step")]()`, { filename: `${import.meta.url}#step` });

/**
 * Node's SIGINT watchdog, held open while a generator cell runs. Each
 * breakOnSigint run otherwise starts and joins a watchdog thread (~80 us);
 * while it is held, a guarded step costs a few microseconds (the REPL uses
 * the same pair of functions).
 */
const watchdog = (() => {
  try {
    const c = (process as unknown as { binding(n: string): Record<string, unknown> }).binding("contextify");
    if (typeof c.startSigintWatchdog === "function" && typeof c.stopSigintWatchdog === "function") {
      return { start: c.startSigintWatchdog as () => boolean, stop: c.stopSigintWatchdog as () => boolean };
    }
  } catch {
    // Not available: every step starts its own watchdog (slower, same behaviour).
  }
  return undefined;
})();

/** How often a SIGINT recorded by the held watchdog is passed on. */
const PENDING_SIGINT_POLL_MS = 50;

/**
 * Holds the watchdog until `release()`. The process's SIGINT listeners are
 * detached meanwhile: vm re-attaches listeners around each guarded run, which
 * would hand SIGINT back to libuv (or to the default action) mid-cell. A
 * SIGINT that arrives between steps is only recorded by the watchdog; it is
 * polled and given to the detached listeners, so an idle await still hears it.
 */
let holds = 0;
let held: { listeners: ((s: NodeJS.Signals) => void)[]; poll: NodeJS.Timeout } | undefined;

function holdWatchdog(): { release(): void } {
  if (!watchdog) return { release() {} };
  // Overlapping runs (an extension's host.run during a cell) share one hold.
  if (holds++ === 0) {
    const listeners = process.rawListeners("SIGINT") as ((s: NodeJS.Signals) => void)[];
    process.removeAllListeners("SIGINT");
    watchdog.start();
    const poll = setInterval(() => {
      // start then stop keeps the count above zero, so the handler stays the watchdog's.
      watchdog.start();
      if (watchdog.stop()) listeners.forEach((l) => l("SIGINT"));
    }, PENDING_SIGINT_POLL_MS);
    held = { listeners, poll };
  }
  let released = false;
  return {
    release() {
      if (released || --holds > 0) {
        released = true;
        return;
      }
      released = true;
      const { listeners, poll } = held!;
      held = undefined;
      clearInterval(poll);
      const pending = watchdog.stop();
      for (const l of listeners) process.addListener("SIGINT", l);
      if (pending) listeners.forEach((l) => l("SIGINT"));
    },
  };
}

/**
 * Runs a generator-shaped cell (see compiler/await-yield.ts) as `async` would, but each
 * step between awaits runs inside a breakOnSigint script, so an interrupt
 * stops synchronous code that follows an await.
 */
export function drive(gen: Generator): Promise<unknown> {
  const g = globalThis as Record<symbol, unknown>;
  const held = holdWatchdog();
  return new Promise((resolve, reject) => {
    const step = (method: "next" | "throw", arg: unknown) => {
      let r: IteratorResult<unknown>;
      try {
        g[STEP] = () => gen[method](arg);
        r = stepScript.runInThisContext({ breakOnSigint: true }) as IteratorResult<unknown>;
      } catch (e) {
        reject(e);
        return;
      } finally {
        g[STEP] = undefined;
      }
      if (r.done) resolve(r.value);
      else Promise.resolve(r.value).then((v) => step("next", v), (e) => step("throw", e));
    };
    step("next", undefined);
  }).finally(() => held.release());
}
