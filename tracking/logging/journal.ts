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
// Records: a type byte, a u32 (little-endian) payload length, the payload. A torn last record
// (the process died inside a write) is ignored. Metric points are binary, because formatting
// 100,000 floats as text costs more than logging them: an `M` record holds a u32 count, then
// per point four little-endian f64: run index × 2^20 + key index, value, timestamp, step (32
// bytes; NaN, ±Infinity and -0 survive as they are; written through a Float64Array, which costs
// a few ns a point). Every other record is `T`, one line of UTF-8 text,
// tab-separated (values that may hold anything are JSON):
//   {header JSON}                      the first record: format, version, uri, pid, procStart
//   r <idx> <runId JSON>               declares a run index
//   k <idx> <key JSON>                 declares a metric key index
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

export const RECORD_TEXT = 0x54;
export const RECORD_METRICS = 0x4d;
/** Bytes per metric point in an `M` record. */
export const POINT_BYTES = 32;
/** Key indexes per run index in a point's first f64. */
export const KEYS_PER_RUN = 2 ** 20;
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** One `M` record of [run index, key index, value, timestamp, step] points (the writer fills its own buffer instead). */
export function metricsRecord(points: [number, number, number, number, number][]): Buffer {
  const b = Buffer.allocUnsafe(9 + points.length * POINT_BYTES);
  b[0] = RECORD_METRICS;
  b.writeUInt32LE(b.length - 5, 1);
  b.writeUInt32LE(points.length, 5);
  points.forEach(([r, k, v, t, s], n) => {
    const at = 9 + n * POINT_BYTES;
    b.writeDoubleLE(r * KEYS_PER_RUN + k, at);
    b.writeDoubleLE(v, at + 8);
    b.writeDoubleLE(t, at + 16);
    b.writeDoubleLE(s, at + 24);
  });
  return b;
}

/** One `T` record. */
export function textRecord(line: string): Buffer {
  const body = Buffer.from(line, "utf8");
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = RECORD_TEXT;
  out.writeUInt32LE(body.length, 1);
  body.copy(out, 5);
  return out;
}

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
  private readonly keyIdx = new Map<string, number>();
  /** Reused for `M` records' points: grown, never shrunk below what a busy append needed. */
  private scratch = new Float64Array(8 * 1024);
  /** Open owned runs, and status updates handed over but not yet durable: kept by a rewrite. */
  private readonly open = new Set<number>();
  private readonly ending = new Map<number, string>();
  private watchdog?: fs.WriteStream | NodeJS.WritableStream;
  private failed = false;
  closed = false;

  constructor(
    readonly spoolDir: string,
    readonly uri: string,
    private readonly options: JournalOptions = {},
  ) {
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

  private header(): Buffer {
    return textRecord(
      JSON.stringify({
        format: JOURNAL_FORMAT,
        version: JOURNAL_VERSION,
        uri: this.uri.replace(/\/\/[^/@]*@/, "//"),
        pid: process.pid,
        procStart: processStart()?.start,
      }),
    );
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

  /** Writes text records (one per line given) or records already framed, in one system call. */
  private write(data: string | Buffer | Buffer[]): void {
    if (this.fd < 0 && !this.ensureOpen()) return;
    const parts = typeof data === "string" ? data.split("\n").filter(Boolean).map(textRecord) : Array.isArray(data) ? data : [data];
    try {
      const total = parts.reduce((n, b) => n + b.length, 0);
      let done = fs.writevSync(this.fd, parts);
      if (done < total) {
        // A short write (rare: a full disk, a signal): the rest, in order.
        const all = Buffer.concat(parts);
        while (done < total) done += fs.writeSync(this.fd, all, done);
      }
      this.bytes += total;
    } catch {
      this.failed = true;
    }
  }

  private idx(runId: string, out: Buffer[]): number {
    let i = this.runIdx.get(runId);
    if (i === undefined) {
      i = this.runIdx.size;
      this.runIdx.set(runId, i);
      out.push(textRecord(`r\t${i}\t${JSON.stringify(runId)}`));
    }
    return i;
  }

  /** Appends what each queue holds beyond what was journaled before. */
  appendQueues(queues: Iterable<readonly [string, RunQueue]>): void {
    if (this.failed || this.closed) return;
    const out: Buffer[] = [];
    let points = 0;
    const pending: [number, RunQueue][] = [];
    for (const [runId, q] of queues) {
      const { metrics, params, tagLog } = q;
      if (q.journaledMetrics === metrics.length && q.journaledParams === params.length && tagLog.length === 0) continue;
      const i = this.idx(runId, out);
      for (let j = q.journaledParams; j < params.length; j++)
        out.push(textRecord(`p\t${i}\t${JSON.stringify([params[j]!.key, params[j]!.value])}`));
      for (const [k, v] of tagLog) out.push(textRecord(`t\t${i}\t${JSON.stringify([k, v])}`));
      q.journaledParams = params.length;
      q.tagLog = [];
      if (metrics.length > q.journaledMetrics) {
        points += metrics.length - q.journaledMetrics;
        pending.push([i, q]);
      }
    }
    if (points) {
      if (this.scratch.length < points * 4) this.scratch = new Float64Array(Math.max(points * 4, this.scratch.length * 2));
      const f = this.scratch;
      let at = 0;
      let lastKey = "";
      let lastK = -1;
      for (const [i, q] of pending) {
        const { metrics } = q;
        const base = i * KEYS_PER_RUN;
        for (let j = q.journaledMetrics; j < metrics.length; j++) {
          const m = metrics[j]!;
          let k = lastK;
          if (m.key !== lastKey) {
            k = this.keyIdx.get(m.key) ?? -1;
            if (k < 0) {
              k = this.keyIdx.size;
              this.keyIdx.set(m.key, k);
              out.push(textRecord(`k\t${k}\t${JSON.stringify(m.key)}`));
            }
            lastKey = m.key;
            lastK = k;
          }
          f[at] = base + k;
          f[at + 1] = m.value;
          f[at + 2] = m.timestamp;
          f[at + 3] = m.step;
          at += 4;
        }
        q.journaledMetrics = metrics.length;
      }
      const head = Buffer.allocUnsafe(9);
      head[0] = RECORD_METRICS;
      head.writeUInt32LE(4 + points * POINT_BYTES, 1);
      head.writeUInt32LE(points, 5);
      const body = Buffer.from(f.buffer, f.byteOffset, points * POINT_BYTES);
      // Declarations first: the points refer to them. The file is little-endian whatever the machine.
      if (!LITTLE_ENDIAN) body.swap64();
      out.push(head, body);
    }
    if (out.length) this.write(out);
  }

  /** Marks the end of cut `gen`: the run indexes of the queues cut are returned by `runIndex`. */
  cut(gen: number): void {
    if (this.fd >= 0) this.write(`c\t${gen}\n`);
  }

  runIndex(runId: string): number {
    const out: Buffer[] = [];
    const i = this.idx(runId, out);
    if (out.length) this.write(out[0]!);
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
    let text = "";
    for (const [runId, i] of this.runIdx) text += `r\t${i}\t${JSON.stringify(runId)}\n`;
    for (const [key, k] of this.keyIdx) text += `k\t${k}\t${JSON.stringify(key)}\n`;
    for (const i of this.open) text += `o\t${i}\n`;
    for (const line of this.ending.values()) text += line;
    const bytes = Buffer.concat([this.header(), ...text.split("\n").filter(Boolean).map(textRecord)]);
    try {
      writeFileAtomicSync(this.path, bytes);
      fs.closeSync(this.fd);
      this.fd = fs.openSync(this.path, "a");
      this.bytes = bytes.length;
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
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closed already */
      }
      this.fd = -1;
      if (clean)
        try {
          fs.unlinkSync(this.path);
        } catch {
          /* gone already */
        }
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
        detached: true,
        stdio: ["pipe", "ignore", "ignore"],
        env: { ...process.env, TSLAB_MLFLOW_WATCHDOG_URI: this.uri },
      });
      child.on("error", () => undefined);
      child.stdin!.on("error", () => undefined);
      child.unref();
      // The pipe must not keep this process alive; the watchdog reads EOF when it ends.
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      this.watchdog = child.stdin!;
    } catch {
      /* no watchdog: the next start or `sync` recovers the journal */
    }
  }
}
