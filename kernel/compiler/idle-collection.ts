// Garbage collection while a compiler process has nothing to do.
//
// Each cell's conversion builds a whole type-checker (the types of the lib files it
// touched included) and leaves it behind when the next cell's program replaces it: a few
// MB a cell, all of it young. Left to V8, a young-generation collection falls in the middle
// of a later conversion and copies that conversion's half-built checker. Made once the
// process has sat idle for a moment (the user is reading a result, or the kernel is running
// a long cell), the next conversion starts with an empty young generation: for a cell of
// ordinary size, no collection at all. Cells sent back to back (`run`) never leave the
// process idle that long, so they are not delayed by it. A full collection instead was
// worse here: 70 ms, and the next conversions ran slower (34 ms against 13 ms).
//
// Only in a compiler process (a shared service, or one a kernel was handed): it turns on
// V8's `gc` for the process, which a kernel's own (worker-thread) compiler must not do
// to the user's process.
import v8 from "node:v8";
import vm from "node:vm";

/** How long a compiler process waits, after its last answer, before it collects. */
export const IDLE_COLLECTION_MS = 150;

type Collect = (options: { type: "minor" }) => void;

let collect: Collect | undefined;
let timer: NodeJS.Timeout | undefined;
let collections = 0;
/** When the last answer went (performance.now()). */
let lastAnswer = 0;

/** Called after each answer: collects once IDLE_COLLECTION_MS pass with no further answer. */
export function collectWhenIdle(): void {
  lastAnswer = performance.now();
  if (!timer) wake(IDLE_COLLECTION_MS);
}

function wake(ms: number): void {
  timer = setTimeout(whenIdle, ms);
  // An idle process may still exit (a shared service's idle exit, a closed channel).
  timer.unref();
}

function whenIdle(): void {
  // Node counts a timer from the event loop's time, taken before the request's own work (a
  // conversion of tens of ms): the idle time is counted here from the answer itself.
  const left = IDLE_COLLECTION_MS - (performance.now() - lastAnswer);
  if (left > 0) return wake(Math.ceil(left));
  timer = undefined;
  collectNow();
}

/** How many idle collections this process made (for tests). */
export function idleCollections(): number {
  return collections;
}

function collectNow(): void {
  if (!collect) {
    // `gc` is defined in contexts made after the flag is set; this process's own stays as it was.
    v8.setFlagsFromString("--expose-gc");
    collect = vm.runInNewContext("gc") as Collect;
  }
  collect({ type: "minor" });
  collections++;
}
