// A compiler process collects its young garbage once it has sat idle after an answer: one
// young-generation collection after a burst of answers, not before the idle time has passed, and never
// holding an otherwise finished process open. Run in a process of its own, since it turns
// on V8's `gc` for the process it runs in.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import { run } from "../support/run.js";

const MODULE = pathToFileURL(path.join(REPO_ROOT, "dist", "kernel", "compiler", "idle-collection.js")).href;

const SCRIPT = `
import { PerformanceObserver, constants } from "node:perf_hooks";
import { collectWhenIdle, idleCollections, IDLE_COLLECTION_MS } from ${JSON.stringify(MODULE)};
const seen = [];
let onCollected;
const collected = new Promise((resolve) => (onCollected = resolve));
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
    seen.push({ start: e.startTime, collections: idleCollections() });
    if (idleCollections() > 0) onCollected();
  }
});
observer.observe({ entryTypes: ["gc"] });
// A burst of answers (one after another, as a session's requests come).
for (let i = 0; i < 5; i++) collectWhenIdle();
const lastAnswer = performance.now();
const collectionsRightAway = idleCollections();
// Held open (and turning: Node hands GC entries to observers on a later turn of the loop)
// only until the collection is seen; the idle timer itself holds nothing.
const keepAlive = setInterval(() => {}, 10);
await collected;
clearInterval(keepAlive);
observer.disconnect();
const afterCollection = idleCollections();
// One more answer, and nothing else to do: the process exits without waiting to collect.
collectWhenIdle();
process.on("exit", () =>
  console.log(JSON.stringify({ idleMs: IDLE_COLLECTION_MS, lastAnswer, collectionsRightAway, seen, afterCollection, atExit: idleCollections() })),
);
`;

describe("idle collection in a compiler process", () => {
  it("makes one young-generation collection once answers stop for the idle time, and lets an idle process exit", async () => {
    const r = await run(process.execPath, ["--input-type=module", "-e", SCRIPT], { timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.collectionsRightAway).toBe(0);
    // The idle collection is a young-generation one (counted by the time V8 reports it), and comes not
    // before the process had been idle that long (timers may fire up to a millisecond early).
    const idle = out.seen.find((e: { collections: number }) => e.collections === 1);
    expect(idle).toBeDefined();
    expect(idle.start).toBeGreaterThanOrEqual(out.lastAnswer + out.idleMs - 1);
    // Five answers in a burst made one collection; the answer before exit made none.
    expect(out.afterCollection).toBe(1);
    expect(out.atExit).toBe(1);
  });
});
