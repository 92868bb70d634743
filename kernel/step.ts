// Drives a generator-shaped cell (see compiler/await-yield.ts) as `async` would, but
// runs each step between awaits inside a breakOnSigint script, so SIGINT stops
// synchronous code that follows an await. Node's SIGINT watchdog is held for the
// whole cell, await gaps included, so a SIGINT that lands while the cell waits is
// recorded, not dropped; once an interrupt is taken the cell is never resumed.
import vm from "node:vm";
import { InterruptSignal } from "./interrupted.js";

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

/** How often a SIGINT recorded by the held watchdog is passed on while a cell waits. */
const PENDING_SIGINT_POLL_MS = 50;

/**
 * Holds the watchdog until `release()`. The process's SIGINT listeners are
 * detached meanwhile: vm re-attaches listeners around each guarded run, which
 * would hand SIGINT back to libuv (or to the default action) mid-cell. A
 * SIGINT that arrives while no guarded step runs is only recorded by the
 * watchdog; it is taken before every step and by a poll, and given to the
 * detached listeners, so an idle await still hears it.
 */
let holds = 0;
let held: { listeners: ((s: NodeJS.Signals) => void)[]; poll: NodeJS.Timeout } | undefined;

/**
 * Takes the SIGINT the held watchdog recorded while no guarded code ran, if any.
 * Start then stop keeps the count above zero (the handler stays the watchdog's);
 * a stop that leaves it above zero reports and clears the recorded signal.
 */
function takePendingSigint(): boolean {
  if (!watchdog || !held) return false;
  watchdog.start();
  return watchdog.stop();
}

function deliverSigint(): void {
  for (const l of held?.listeners ?? []) l("SIGINT");
}

/**
 * Gives a SIGINT recorded while no guarded code ran to the process's listeners (the
 * kernel's interrupt); true if there was one. Called first thing inside a guarded script,
 * so a signal either was recorded before it (taken here) or stops the script.
 */
export function deliverPendingSigint(): boolean {
  if (!takePendingSigint()) return false;
  deliverSigint();
  return true;
}

export function holdWatchdog(): { release(): void } {
  if (!watchdog) return { release() {} };
  // Overlapping runs (an extension's host.run during a cell) share one hold.
  if (holds++ === 0) {
    const listeners = process.rawListeners("SIGINT") as ((s: NodeJS.Signals) => void)[];
    process.removeAllListeners("SIGINT");
    watchdog.start();
    const poll = setInterval(() => {
      if (takePendingSigint()) deliverSigint();
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

/** What a guarded step returns instead of resuming the cell when a SIGINT was waiting. */
const SIGINT_PENDING = Symbol("sigint pending");

/**
 * Runs a generator-shaped cell (see compiler/await-yield.ts) as `async` would, but each
 * step between awaits runs inside a breakOnSigint script, so an interrupt stops
 * synchronous code that follows an await.
 *
 * `interrupt` aborts when the user interrupts this cell while it waits. The cell is then
 * resumed once more, by throwing InterruptSignal at the await it waits on (its `finally`
 * blocks run, before the reply), and never again: the awaited value arriving later is
 * dropped, and so is any await the cell reaches after catching the interrupt.
 */
export function drive(gen: Generator, interrupt?: AbortSignal): Promise<unknown> {
  const g = globalThis as Record<symbol, unknown>;
  const hold = holdWatchdog();
  return new Promise((resolve, reject) => {
    // waiting: an awaited value is due; stopping: interrupted, the throw-in is queued.
    let state: "stepping" | "waiting" | "stopping" | "done" = "stepping";
    let wait = 0; // numbers each wait, so a settlement of an abandoned one is dropped

    const finish = (settle: () => void) => {
      state = "done";
      interrupt?.removeEventListener("abort", onAbort);
      settle();
    };
    const stop = () => {
      if (state === "stopping" || state === "done") return;
      state = "stopping";
      wait++;
      // Not from inside the listener that took the interrupt: as its own job, still ahead
      // of everything the executor does with the interrupted wait.
      queueMicrotask(() => step("throw", interrupt?.reason ?? new InterruptSignal()));
    };
    const onAbort = () => stop();
    // A function, as the state changes under a step (TypeScript would narrow a plain test).
    const stopping = () => state === "stopping";

    const step = (method: "next" | "throw", arg: unknown) => {
      if (state === "done") return;
      const last = state === "stopping";
      state = "stepping";
      let r: IteratorResult<unknown> | typeof SIGINT_PENDING;
      try {
        // The pending check runs inside the guarded script: a SIGINT either landed before
        // its watchdog was armed (recorded, taken here) or after (it stops the step).
        g[STEP] = () => (!last && takePendingSigint() ? SIGINT_PENDING : gen[method](arg));
        r = stepScript.runInThisContext({ breakOnSigint: true }) as IteratorResult<unknown> | typeof SIGINT_PENDING;
      } catch (e) {
        finish(() => reject(e));
        return;
      } finally {
        g[STEP] = undefined;
      }
      // Interrupted while this step ran (not by its own SIGINT): the throw-in is queued.
      if (stopping()) return;
      if (r === SIGINT_PENDING) {
        // The kernel's listener takes it (and interrupts this cell through `interrupt`);
        // without one, the SIGINT is still this cell's interrupt.
        deliverSigint();
        stop();
        return;
      }
      if (last) {
        // The cell caught the interrupt and went on: the interrupt ended it all the same.
        finish(() => reject(arg));
        return;
      }
      if (r.done) {
        finish(() => resolve(r.value));
        return;
      }
      state = "waiting";
      const mine = ++wait;
      const resume = (method: "next" | "throw") => (v: unknown) => {
        if (mine === wait && state === "waiting") step(method, v);
      };
      Promise.resolve(r.value).then(resume("next"), resume("throw"));
    };

    if (interrupt?.aborted) {
      finish(() => reject(interrupt.reason));
      return;
    }
    interrupt?.addEventListener("abort", onAbort);
    step("next", undefined);
  }).finally(() => hold.release());
}
