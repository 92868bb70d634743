// TypeScript's watch program with its timers folded into the one tslab's converter holds.
//
// tslab's converter runs the watch program's timer itself, when a cell is converted, and holds
// one timer at a time: a second is refused with "Unexpected pending rebuildTimer". The watch
// program keeps two: the program update, and the re-resolution of module lookups that failed
// once a folder it watches for them changes. So a cell importing a package not installed yet,
// then `npm install` in a terminal, left the second timer pending, and every later cell of
// the kernel failed. Here every timer the watch program sets waits in one queue behind one
// timer of tslab's, and they all run, in order, when it fires.
import type * as TS from "@tslab/typescript-for-tslab";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

interface Queued {
  run(): void;
}

export function withCombinedTimers(ts: TypeScript): TypeScript {
  const createWatchCompilerHost = (...args: unknown[]) => {
    args[2] = combiningTimers(args[2] as TS.System);
    return (ts.createWatchCompilerHost as (...a: unknown[]) => unknown)(...args);
  };
  return withOverrides(ts, { createWatchCompilerHost });
}

function combiningTimers(system: TS.System): TS.System {
  const { setTimeout, clearTimeout } = system;
  if (!setTimeout || !clearTimeout) return system;
  let queue: Queued[] | undefined;
  let timer: unknown;
  let running = false;

  const run = () => {
    running = true;
    try {
      // A callback may set another (re-resolving schedules the program update): it runs in this turn too.
      for (let next = queue?.shift(); next; next = queue?.shift()) next.run();
    } finally {
      running = false;
      queue = undefined;
      timer = undefined;
    }
  };

  const combined = Object.create(system) as TS.System;
  combined.setTimeout = (callback, ms, ...args) => {
    const queued: Queued = { run: () => callback(...args) };
    if (queue) queue.push(queued);
    else {
      queue = [queued];
      timer = setTimeout.call(system, run, ms);
    }
    return queued;
  };
  combined.clearTimeout = (id) => {
    const at = queue?.indexOf(id as Queued) ?? -1;
    if (at < 0) return; // already run
    queue!.splice(at, 1);
    if (queue!.length === 0 && !running) {
      clearTimeout.call(system, timer);
      queue = undefined;
      timer = undefined;
    }
  };
  return combined;
}
