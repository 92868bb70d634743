// What a compiler snapshot's background build waits for (wait-for-idle.ts): a quiet machine,
// read from the system's CPU times, or long enough.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { busyCores, parseCpuTimes, waitForIdle } from "../../kernel/compiler/wait-for-idle.js";

const spinners: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const s of spinners.splice(0)) s.kill("SIGKILL");
});

describe("waiting for a quiet machine", () => {
  it("reads the CPU times of /proc/stat: all of them, and those not idle (idle and iowait are)", () => {
    const times = parseCpuTimes("cpu  100 5 50 800 40 1 2 3 0 0\ncpu0 50 2 25 400 20 0 1 1 0 0\n");
    expect(times).toEqual({ total: 1001, busy: 161 });
    expect(parseCpuTimes("intr 1 2 3")).toBeUndefined();
    expect(parseCpuTimes("cpu  1 2 x 4")).toBeUndefined();
  });

  it("counts busy time in cores: one core of two busy is one core", () => {
    const before = { total: 1000, busy: 100 };
    expect(busyCores(before, { total: 1200, busy: 200 }, 2)).toBe(1);
    expect(busyCores(before, { total: 1200, busy: 110 }, 2)).toBeCloseTo(0.1);
    expect(busyCores(before, before, 2)).toBe(0);
  });

  it("does not call a machine quiet while a core spins: it gives up, as a build that must still happen does", async (ctx) => {
    if (!fs.existsSync("/proc/stat")) ctx.skip();
    // Every core spinning: busy whatever else the machine does.
    for (let i = 0; i < os.availableParallelism(); i++) {
      spinners.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
    }
    expect(await waitForIdle({ windowMs: 100, giveUpMs: 1_500 })).toBe("gave up");
  });
});
