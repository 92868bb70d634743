// Run before a compiler snapshot's background build (cache.ts): waits until the machine has
// been quiet for a moment. The build takes a core for seconds, and even at the lowest
// priority it slowed the cells it overlapped (a fresh `tslab-mlflow run` of 20 cells: 0.75 s
// for the 19 after the first against 0.5 s without it). A kernel starts the build at its
// first answer, and it must: a client may kill the kernel right after that. So the build
// is started then, and waits here until its cells have stopped coming: while a notebook's
// cells run back to back (`run`, or a person running several at once) it waits; once the
// person reads a result, or the run ends, it goes. It waits at most GIVE_UP_MS (a machine
// that is never quiet still gets its snapshot). Where the system's CPU times cannot be read
// (no /proc/stat), it does not wait. Run as `node -e` code importing this module (cache.ts).
import fs from "node:fs";
import os from "node:os";

/** Quiet: less than this many cores' worth of CPU busy over each of the last QUIET_WINDOWS windows. */
const BUSY_CORES_BELOW = 0.5;
const WINDOW_MS = 250;
const QUIET_WINDOWS = 2;
const GIVE_UP_MS = 20_000;

/** The machine's CPU times since boot (ticks): all of them, and those not idle. */
export interface CpuTimes {
  total: number;
  busy: number;
}

/** The first line of /proc/stat (`cpu  user nice system idle iowait irq softirq steal ...`) as times. */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const fields = procStat.split("\n", 1)[0].trim().split(/\s+/);
  if (fields[0] !== "cpu" || fields.length < 5) return undefined;
  const ticks = fields.slice(1, 9).map(Number);
  if (ticks.some((t) => !Number.isFinite(t))) return undefined;
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + (ticks[4] ?? 0); // idle and iowait
  return { total, busy: total - idle };
}

/** How many cores' worth of CPU was busy between two readings of a machine with `cores` cores. */
export function busyCores(before: CpuTimes, after: CpuTimes, cores: number): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * cores : 0;
}

export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(fs.readFileSync("/proc/stat", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Resolves with why it stopped waiting: the machine was quiet, it waited long enough, or it
 * cannot tell. (`read` and `cores`: the machine's, unless a test gives others.)
 */
export async function waitForIdle({
  windowMs = WINDOW_MS,
  giveUpMs = GIVE_UP_MS,
  read = readCpuTimes,
  cores = os.availableParallelism(),
} = {}): Promise<"quiet" | "gave up" | "cannot tell"> {
  let last = read();
  if (!last) return "cannot tell";
  const until = Date.now() + giveUpMs;
  let quiet = 0;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = read();
    if (!now) return "cannot tell";
    quiet = busyCores(last, now, cores) < BUSY_CORES_BELOW ? quiet + 1 : 0;
    if (quiet >= QUIET_WINDOWS) return "quiet";
    last = now;
  }
  return "gave up";
}
