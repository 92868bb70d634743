// What a compiler snapshot's background build waits for (wait-for-idle.ts): a quiet machine,
// read from the system's CPU times, or long enough. The waits are driven by given CPU
// readings (a test that made the machine busy would slow the tests beside it).
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { busyCores, type CpuTimes, parseCpuTimes, readCpuTimes, waitForIdle } from "../../kernel/compiler/wait-for-idle.js";

/** Readings of a 2-core machine whose busy time grows by `busyPerWindow` cores each reading (after the first). */
function machine(busyPerWindow: number[]): () => CpuTimes | undefined {
  let total = 1_000;
  let busy = 100;
  let i = -1;
  return () => {
    if (i >= 0) {
      const cores = busyPerWindow[Math.min(i, busyPerWindow.length - 1)];
      total += 200; // 100 ticks a core
      busy += cores * 100;
    }
    i++;
    return { total, busy };
  };
}

describe("waiting for a quiet machine", () => {
  it("reads the CPU times of /proc/stat: all of them, and those not idle (idle and iowait are)", (ctx) => {
    const times = parseCpuTimes("cpu  100 5 50 800 40 1 2 3 0 0\ncpu0 50 2 25 400 20 0 1 1 0 0\n");
    expect(times).toEqual({ total: 1001, busy: 161 });
    expect(parseCpuTimes("intr 1 2 3")).toBeUndefined();
    expect(parseCpuTimes("cpu  1 2 x 4")).toBeUndefined();
    if (!fs.existsSync("/proc/stat")) ctx.skip();
    const now = readCpuTimes();
    expect(now?.total).toBeGreaterThan(0);
    expect(now!.busy).toBeLessThanOrEqual(now!.total);
  });

  it("counts busy time in cores: one core of two busy is one core", () => {
    const before = { total: 1000, busy: 100 };
    expect(busyCores(before, { total: 1200, busy: 200 }, 2)).toBe(1);
    expect(busyCores(before, { total: 1200, busy: 110 }, 2)).toBeCloseTo(0.1);
    expect(busyCores(before, before, 2)).toBe(0);
  });

  it("goes once two windows in a row had less than half a core busy", async () => {
    // Busy (a notebook's cells back to back), one quiet window, busy again, then quiet.
    const read = machine([1, 0.1, 1, 0.2, 0.1, 1]);
    expect(await waitForIdle({ windowMs: 1, giveUpMs: 60_000, read, cores: 2 })).toBe("quiet");
  });

  it("gives up on a machine that is never quiet: the build must still happen", async () => {
    const read = machine([1, 0.6, 2]);
    expect(await waitForIdle({ windowMs: 1, giveUpMs: 50, read, cores: 2 })).toBe("gave up");
  });

  it("does not wait where the CPU times cannot be read", async () => {
    expect(await waitForIdle({ windowMs: 1, read: () => undefined, cores: 2 })).toBe("cannot tell");
  });
});
