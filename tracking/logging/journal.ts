// The logger's write-ahead journal: what a process logged, appended to a file in the spool
// directory (`journal/<pid>-<nonce>.wal`) at most JOURNAL_INTERVAL_MS after the log call, so
// that a process killed with SIGKILL loses at most that much logging. Page-cache writes
// survive the death of the process (only a machine crash loses them), so no fsync per append.
// The journal also names the runs the process owns while they are open ("end them KILLED if I
// die") and, as a watermark, which requests cut from it are already durable elsewhere
// (acknowledged by the store, or in the spool): recovery (journal-recovery.ts) delivers the
// rest exactly once. A watchdog process (watchdog.ts) holds the read end of a pipe; its EOF
// says this process is gone. A clean close deletes the journal.
//
// Lines (one record each, tab-separated; values that may hold anything are JSON):
//   {header JSON}                      format, version, uri, pid, procStart (see processStart)
//   r <idx> <runId JSON>               declares a run index
//   m <idx> <key> <value> <ts> <step>  a metric point (keys are validated: no tab or newline)
//   p <idx> <[key, value] JSON>        a param          t <idx> <[key, value] JSON>  a tag
//   c <gen>                            everything above belongs to cut <gen> or an earlier one
//   a <gen> <idx> <k>                  the k-th request of run <idx> in cut <gen> is durable
//   o <idx>                            the run is open and owned: KILLED if the process dies
//   e <idx> <update JSON>              the run's status update was handed to the logger
//   u <idx>                            ...and is durable (acknowledged or spooled)

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../atomic-write.js";
import type { RunQueue } from "./batcher.js";
import type { SpooledUpdate } from "./spool.js";

export const JOURNAL_FORMAT = "tslab-mlflow-journal";
export const JOURNAL_VERSION = 1;
/** Longest time between a log call and its journal append (ms): the most a SIGKILL can lose. */
export const JOURNAL_INTERVAL_MS = 50;
/** A journal this big is rewritten (only its open runs kept) once everything in it is durable. */
export const JOURNAL_COMPACT_BYTES = 8 * 1024 * 1024;
export const JOURNAL_SUFFIX = ".wal";

export const journalDirOf = (spoolDir: string) => join(spoolDir, "journal");

/** This process's start as the kernel counts it (Linux: /proc/<pid>/stat field 22); undefined elsewhere. */
export function processStart(pid: number | "self" = "self"): { start: string; zombie: boolean } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { start: fields[19]!, zombie: fields[0] === "Z" || fields[0] === "X" };
  } catch {
    return undefined;
  }
}

/** True while the process that wrote a journal header lives (same pid and same start: a reused pid is another process). */
export function ownerAlive(pid: number, procStart: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = processStart(pid);
  if (!now) return procStart === undefined || !fs.existsSync("/proc/self/stat");
  return !now.zombie && (procStart === undefined || now.start === procStart);
}

const encodeValue = (v: number): string => (Object.is(v, -0) ? "-0" : String(v));

export interface JournalOptions {
  /** The watchdog script to start (node), or false for none. */
  watchdog?: string | false;
}

/** The writing side, owned by one Logger. Opened lazily by the first record. */
export class Journal {
  readonly dir: string;
  readonly path: string;
  private fd = -1;
  private bytes = 0;
  private readonly runIdx = new Map<string, number>();
  /** Open owned runs, and status updates handed over but not yet durable: kept by a rewrite. */
  private readonly open = new Set<number>();
  private readonly ending = new Map<number, string>();
  private watchdog?: fs.WriteStream | NodeJS.WritableStream;
  private failed = false;
  closed = false;

  constructor(readonly spoolDir: string, readonly uri: string, private readonly options: JournalOptions = {}) {
    this.dir = journalDirOf(spoolDir);
    this.path = join(this.dir, `${process.pid}-${randomBytes(4).toString("hex")}${JOURNAL_SUFFIX}`);
  }

  /** The journal could not be written (a full disk, say): the logger goes on without it. */
  get broken(): boolean {
    return this.failed;
  }

  get size(): number {
    return this.bytes;
  }

  /** Owned runs still open, or status updates not yet durable. */
  get hasOpenRuns(): boolean {
    return this.open.size > 0 || this.ending.size > 0;
  }

  private header(): string {
    return JSON.stringify({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION, uri: this.uri.replace(/\/\/[^/@]*@/, "//"), pid: process.pid, procStart: processStart()?.start }) + "\n";
  }

  private ensureOpen(): boolean {
    if (this.fd >= 0) return true;
    if (this.failed || this.closed) return false;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      this.fd = fs.openSync(this.path, "a");
      this.bytes = 0;
      this.write(this.header());
      this.startWatchdog();
      return true;
    } catch {
      this.failed = true;
      return false;
    }
  }

  private write(text: string): void {
    if (this.fd < 0 && !this.ensureOpen()) return;
    try {
      fs.writeSync(this.fd, text);
      this.bytes += text.length;
    } catch {
      this.failed = true;
    }
  }

  private idx(runId: string, out: string[]): number {
    let i = this.runIdx.get(runId);
    if (i === undefined) {
      i = this.runIdx.size;
      this.runIdx.set(runId, i);
      out.push(`r\t${i}\t${JSON.stringify(runId)}\n`);
    }
    return i;
  }

  /** Appends what each queue holds beyond what was journaled before. */
  appendQueues(queues: Iterable<readonly [string, RunQueue]>): void {
    if (this.failed || this.closed) return;
    const out: string[] = [];
    for (const [runId, q] of queues) {
      const { metrics, params, tagLog } = q;
      if (q.journaledMetrics === metrics.length && q.journaledParams === params.length && tagLog.length === 0) continue;
      const i = this.idx(runId, out);
      let s = "";
      for (let j = q.journaledMetrics; j < metrics.length; j++) {
        const m = metrics[j]!;
        s += `m\t${i}\t${m.key}\t${encodeValue(m.value)}\t${m.timestamp}\t${m.step}\n`;
      }
      for (let j = q.journaledParams; j < params.length; j++) s += `p\t${i}\t${JSON.stringify([params[j]!.key, params[j]!.value])}\n`;
      for (const [k, v] of tagLog) s += `t\t${i}\t${JSON.stringify([k, v])}\n`;
      q.journaledMetrics = metrics.length;
      q.journaledParams = params.length;
      q.tagLog = [];
      out.push(s);
    }
    if (out.length) this.write(out.join(""));
  }

  /** Marks the end of cut `gen`: the run indexes of the queues cut are returned by `runIndex`. */
  cut(gen: number): void {
    if (this.fd >= 0) this.write(`c\t${gen}\n`);
  }

  runIndex(runId: string): number {
    const out: string[] = [];
    const i = this.idx(runId, out);
    if (out.length) this.write(out.join(""));
    return i;
  }

  /** A request cut from the journal is durable (acknowledged, spooled or quarantined). */
  covered(mark: string): void {
    if (this.fd >= 0) this.write(`a\t${mark}\n`);
  }

  opened(runId: string): void {
    const i = this.runIndex(runId);
    this.open.add(i);
    this.write(`o\t${i}\n`);
  }

  ended(runId: string, update: SpooledUpdate): void {
    const i = this.runIndex(runId);
    const line = `e\t${i}\t${JSON.stringify(update)}\n`;
    this.open.delete(i);
    this.ending.set(i, line);
    this.write(line);
  }

  endDurable(runId: string): void {
    const i = this.runIdx.get(runId);
    if (i === undefined || !this.ending.has(i)) return;
    this.ending.delete(i);
    this.write(`u\t${i}\n`);
  }

  /**
   * Once nothing of the journal's requests waits (the caller knows): rewrites it with only
   * the run declarations, open runs and status updates not yet durable, so it does not grow
   * for the whole life of a kernel. Atomic: a kill during the rewrite leaves the old or new one.
   */
  compact(): void {
    if (this.fd < 0 || this.failed) return;
    let text = this.header();
    for (const [runId, i] of this.runIdx) text += `r\t${i}\t${JSON.stringify(runId)}\n`;
    for (const i of this.open) text += `o\t${i}\n`;
    for (const line of this.ending.values()) text += line;
    try {
      writeFileAtomicSync(this.path, text);
      fs.closeSync(this.fd);
      this.fd = fs.openSync(this.path, "a");
      this.bytes = text.length;
    } catch {
      this.failed = true;
    }
  }

  /**
   * Closes the journal; `clean` (everything durable elsewhere, no run left open) deletes it,
   * else it stays for the watchdog, the next start or `sync`. Ends the watchdog's pipe.
   */
  close(clean: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd >= 0) {
      try { fs.closeSync(this.fd); } catch { /* closed already */ }
      this.fd = -1;
      if (clean) try { fs.unlinkSync(this.path); } catch { /* gone already */ }
    }
    this.watchdog?.end();
  }

  /** Starts the watchdog (detached: it outlives a killed process group) with the read end of a pipe. */
  private startWatchdog(): void {
    const script = this.options.watchdog;
    if (!script || !fs.existsSync(script)) return;
    try {
      // The URI (which may hold credentials) goes in the environment, not on a command line `ps` shows.
      const child = spawn(process.execPath, [script, this.path, this.spoolDir], {
        detached: true, stdio: ["pipe", "ignore", "ignore"], env: { ...process.env, TSLAB_MLFLOW_WATCHDOG_URI: this.uri },
      });
      child.on("error", () => undefined);
      child.stdin!.on("error", () => undefined);
      child.unref();
      // The pipe must not keep this process alive; the watchdog reads EOF when it ends.
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      this.watchdog = child.stdin!;
    } catch { /* no watchdog: the next start or `sync` recovers the journal */ }
  }
}
