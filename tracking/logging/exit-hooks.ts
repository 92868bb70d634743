// Process hooks that keep a script's last points: when the event loop runs dry with points
// still queued (a script that never flushed), flush them; on `exit`, where nothing async
// runs any more, write what is left to the spool synchronously. One pair of hooks serves
// every live logger.

export interface ExitAware {
  /** True when a flush would have something to do now. */
  hasWork(): boolean;
  flush(): Promise<void>;
  /** Makes what is still in memory durable, synchronously. */
  spoolSync(): void;
}

const live = new Set<ExitAware>();
let hooked = false;

export function watchExit(target: ExitAware): void {
  live.add(target);
  if (hooked) return;
  hooked = true;
  process.on("beforeExit", () => {
    // A flush keeps the loop busy; when it ends, beforeExit fires again with no work left.
    for (const t of live) if (t.hasWork()) void t.flush().catch(() => {});
  });
  process.on("exit", () => {
    for (const t of live) t.spoolSync();
  });
}

export function unwatchExit(target: ExitAware): void {
  live.delete(target);
}
