// Recovery of the journals (journal.ts) that dead processes left: what they logged and had
// not made durable elsewhere goes into the spool (delivered by the usual spool delivery), and
// each run they still owned gets a KILLED status update with the journal's last write as its
// end time. The KILLED update is written first and overtakes the run's backlog in the spool
// (spool.ts: `ordered`), so the run leaves RUNNING within one request once the store answers;
// the backlog then flows into the ended run, which MLflow accepts.
//
// A journal is taken by renaming it `<name>.recovering-<pid>` (one recoverer at a time; a dead
// recoverer's claim is taken back). Every spool file written is recorded in the journal itself
// (`a`/`u` lines) before the next one, so a recoverer killed half-way resumes without writing
// any request twice.

import fs from "node:fs";
import { readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { RunQueue } from "./batcher.js";
import type { Batch } from "../entities.js";
import {
  JOURNAL_FORMAT,
  JOURNAL_SUFFIX,
  KEYS_PER_RUN,
  POINT_BYTES,
  RECORD_METRICS,
  RECORD_TEXT,
  journalDirOf,
  ownerAlive,
  processStart,
  textRecord,
} from "./journal.js";
import type { Spool, SpooledUpdate } from "./spool.js";

const RECOVERING = ".recovering-";

export interface RecoveryReport {
  /** Journals of dead processes taken and turned into spool files. */
  journals: number;
  /** Runs those processes left open, now waiting in the spool as KILLED. */
  killed: string[];
  /** Requests (and entities in them) written to the spool. */
  requests: number;
  entities: number;
}

interface Plan {
  runs: string[];
  /** Requests not yet durable: mark is `<gen>\t<idx>\t<k>` (undefined: the last, uncut entities). */
  batches: { runIdx: number; mark: string; batch: Batch }[];
  /** Open owned runs (KILLED) and handed-over status updates not yet durable. */
  updates: { runIdx: number; update: SpooledUpdate }[];
}

/** The first record's header, when it is one. */
function readHeader(buf: Buffer): { format?: string; pid?: number; procStart?: string } {
  if (buf.length < 5 || buf[0] !== RECORD_TEXT) return {};
  const len = buf.readUInt32LE(1);
  if (5 + len > buf.length) return {};
  try {
    return JSON.parse(buf.toString("utf8", 5, 5 + len)) as { format?: string };
  } catch {
    return {};
  }
}

/** Reads a journal into what is still to be delivered (a torn last record is ignored). */
export function planJournal(buf: Buffer, endTime: number): Plan {
  if (readHeader(buf).format !== JOURNAL_FORMAT) throw new Error(`not a ${JOURNAL_FORMAT} file`);
  const runs: string[] = [];
  const keys: string[] = [];
  const covered = new Set<string>();
  const open = new Set<number>();
  const ending = new Map<number, SpooledUpdate>();
  // Entities per generation (cut), per run; generation 0 closes at the first `c` line.
  const gens: { gen: string; queues: Map<number, RunQueue> }[] = [];
  let current = new Map<number, RunQueue>();
  const q = (i: number) => {
    let x = current.get(i);
    if (!x) current.set(i, (x = new RunQueue()));
    return x;
  };
  let pos = 5 + buf.readUInt32LE(1);
  while (pos + 5 <= buf.length) {
    const type = buf[pos]!;
    const len = buf.readUInt32LE(pos + 1);
    const start = pos + 5;
    if (start + len > buf.length) break; // torn: the process died inside this write
    pos = start + len;
    if (type === RECORD_METRICS) {
      const count = buf.readUInt32LE(start);
      for (let n = 0, at = start + 4; n < count; n++, at += POINT_BYTES) {
        const runKey = buf.readDoubleLE(at);
        q(Math.floor(runKey / KEYS_PER_RUN)).metrics.push({
          key: keys[runKey % KEYS_PER_RUN]!,
          value: buf.readDoubleLE(at + 8),
          timestamp: buf.readDoubleLE(at + 16),
          step: buf.readDoubleLE(at + 24),
        });
      }
      continue;
    }
    if (type !== RECORD_TEXT) continue; // a record of a later version: skipped
    const line = buf.toString("utf8", start, start + len);
    const tab = line.indexOf("\t");
    const kind = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    switch (kind) {
      case "k": {
        const t2 = rest.indexOf("\t");
        keys[Number(rest.slice(0, t2))] = JSON.parse(rest.slice(t2 + 1)) as string;
        break;
      }
      case "p":
      case "t": {
        const t2 = rest.indexOf("\t");
        const [key, value] = JSON.parse(rest.slice(t2 + 1)) as [string, string];
        const x = q(Number(rest.slice(0, t2)));
        if (kind === "p") x.params.push({ key, value });
        else x.tags.set(key, value);
        break;
      }
      case "r": {
        const t2 = rest.indexOf("\t");
        runs[Number(rest.slice(0, t2))] = JSON.parse(rest.slice(t2 + 1)) as string;
        break;
      }
      case "c":
        gens.push({ gen: rest, queues: current });
        current = new Map();
        break;
      case "a":
        covered.add(rest);
        break;
      case "o":
        open.add(Number(rest));
        break;
      case "e": {
        const t2 = rest.indexOf("\t");
        const i = Number(rest.slice(0, t2));
        open.delete(i);
        ending.set(i, JSON.parse(rest.slice(t2 + 1)) as SpooledUpdate);
        break;
      }
      case "u":
        ending.delete(Number(rest));
        break;
      default:
        break; // a line of a later version: skipped
    }
  }
  gens.push({ gen: "tail", queues: current });
  const batches: Plan["batches"] = [];
  for (const { gen, queues } of gens) {
    for (const [i, queue] of queues) {
      queue.cut().forEach((batch, k) => {
        const mark = `${gen}\t${i}\t${k}`;
        if (!covered.has(mark)) batches.push({ runIdx: i, mark, batch });
      });
    }
  }
  const updates: Plan["updates"] = [];
  for (const i of open) updates.push({ runIdx: i, update: { status: "KILLED", endTime } });
  for (const [i, update] of ending) updates.push({ runIdx: i, update });
  return { runs, batches, updates };
}

/** Turns one claimed journal into spool files, statuses first; deletes it when done. */
async function convert(file: string, spool: Spool, report: RecoveryReport, onStatuses?: () => void): Promise<void> {
  const bytes = fs.readFileSync(file);
  const endTime = Math.round((await stat(file)).mtimeMs);
  let plan: Plan;
  try {
    plan = planJournal(bytes, endTime);
  } catch (e) {
    // Not ours to read: kept aside with the reason rather than retried forever.
    await rename(file, `${file}.unreadable`).catch(() => undefined);
    throw new Error(`Journal ${file} could not be read (${(e as Error).message}); kept as ${file}.unreadable.`);
  }
  const fd = fs.openSync(file, "a");
  try {
    for (const { runIdx, update } of plan.updates) {
      const runId = plan.runs[runIdx];
      if (runId === undefined) continue;
      if (update.status === "KILLED") {
        // Recorded as handed over first: resumed later, the KILLED update is not written twice.
        fs.writeSync(fd, textRecord(`e\t${runIdx}\t${JSON.stringify(update)}`));
        report.killed.push(runId);
      }
      await spool.write(runId, {}, update);
      fs.writeSync(fd, textRecord(`u\t${runIdx}`));
      report.requests++;
    }
    // The statuses can go now, while the backlog is still being written.
    if (plan.updates.length) onStatuses?.();
    for (const { runIdx, mark, batch } of plan.batches) {
      const runId = plan.runs[runIdx];
      if (runId === undefined) continue;
      await spool.write(runId, batch);
      fs.writeSync(fd, textRecord(`a\t${mark}`));
      report.requests++;
      report.entities += (batch.metrics?.length ?? 0) + (batch.params?.length ?? 0) + (batch.tags?.length ?? 0);
    }
  } finally {
    fs.closeSync(fd);
  }
  await unlink(file);
  report.journals++;
}

const headerOf = (file: string): { pid?: number; procStart?: string } => {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return readHeader(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
};

/**
 * Recovers the journals of dead processes in the spool's directory (see the module comment).
 * `only`: the one journal a watchdog watches, taken without asking whether its writer lives
 * (the watchdog saw its pipe close). `onStatuses` is called once a journal's status updates
 * are in the spool, before its backlog: a caller may start delivering them then.
 */
export async function recoverJournals(spool: Spool, only?: string, onStatuses?: () => void): Promise<RecoveryReport> {
  const report: RecoveryReport = { journals: 0, killed: [], requests: 0, entities: 0 };
  const dir = journalDirOf(spool.dir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return report;
  }
  const mine = `${RECOVERING}${process.pid}`;
  const me = processStart()?.start;
  const errors: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    if (only && file !== only) continue;
    let claimed: string | undefined;
    try {
      if (name.endsWith(JOURNAL_SUFFIX)) {
        if (!only) {
          const h = headerOf(file);
          if (typeof h.pid !== "number" || ownerAlive(h.pid, h.procStart)) continue;
        }
        claimed = `${file}${mine}-${me ?? "x"}`;
        await rename(file, claimed);
      } else if (name.includes(`${JOURNAL_SUFFIX}${RECOVERING}`)) {
        const [pid, start] = name.slice(name.lastIndexOf(RECOVERING) + RECOVERING.length).split("-");
        if (ownerAlive(Number(pid), start === "x" ? undefined : start)) continue;
        claimed = `${file.slice(0, file.lastIndexOf(RECOVERING))}${mine}-${me ?? "x"}`;
        await rename(file, claimed);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") errors.push(String((e as Error).message ?? e));
      continue; // taken by another recoverer first, or written right now
    }
    if (!claimed) continue;
    try {
      await convert(claimed, spool, report, onStatuses);
    } catch (e) {
      errors.push(String((e as Error).message ?? e));
    }
  }
  if (errors.length) throw Object.assign(new Error(`Journal recovery in ${dir}: ${errors.join("; ")}`), { report });
  return report;
}
