// A durable on-disk spool of log-batch requests (and run status updates, which must follow
// their run's batches) that could not be delivered yet. One JSON file per request, written
// atomically and durably (atomic-write.ts: temp file, fsync, rename, directory fsync) so a
// crash never leaves half a batch; a file is removed only after the store acknowledged it.
// A sender claims a file by renaming it (`.sending-<pid>`), so two processes sharing a spool
// never deliver the same batch twice; claims left by a dead process are taken back on the
// next scan.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, writeFileAtomicSync } from "../atomic-write.js";
import { isRunStatus, type Batch, type Metric, type RunStatus } from "../entities.js";

const FORMAT = "tslab-mlflow-spool";
const VERSION = 1;
// Status updates are version 2: a version-1 reader moves them to rejected/ instead of
// sending them as an empty batch and deleting them.
const UPDATE_VERSION = 2;
const SUFFIX = ".json";
const CLAIM = ".sending-";

/** One spooled batch, claimed by this process while it is being delivered. */
export interface SpoolEntry {
  /** File name (without the claim suffix) inside the spool directory. */
  name: string;
  runId: string;
  batch: Batch;
  /** Metrics + params + tags in the batch. */
  count: number;
  /** Set for a run status update (then `batch` is empty). */
  update?: SpooledUpdate;
  /** Deliveries the server answered with an error (5xx) so far, across processes. */
  attempts?: number;
}

/** Deliveries of one spool file answered with a server error (5xx) before it is parked in rejected/. */
export const MAX_DELIVERY_ATTEMPTS = 3;

/** A run's status update as it waits in the spool (MLflow's runs/update). */
export interface SpooledUpdate {
  status: RunStatus;
  endTime?: number;
  runName?: string;
}

/** What the spool knows of one deliverable file without reading it again. */
interface IndexEntry {
  runId: string;
  count: number;
  gen: number;
  /** The status of an update file. */
  status?: RunStatus;
  /** Delivered only after every older file of its run (status updates but KILLED, batches with tags). */
  ordered: boolean;
}

/** Base directory of all spools: `$TSLAB_MLFLOW_SPOOL_DIR`, else the user's cache dir. */
export function defaultSpoolBase(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSLAB_MLFLOW_SPOOL_DIR) return env.TSLAB_MLFLOW_SPOOL_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cache, "tslab-mlflow", "spool");
}

/**
 * The spool directory of one tracking URI: `<base>/<first 16 hex of sha256(uri)>`, the URI
 * taken without credentials so a changed password still finds what was spooled before.
 */
export function spoolDirFor(uri: string, base = defaultSpoolBase()): string {
  return join(base, createHash("sha256").update(redactUri(uri)).digest("hex").slice(0, 16));
}

// Credentials in a URI must not land on disk.
const redactUri = (uri: string) => uri.replace(/\/\/[^/@]*@/, "//");

export const batchSize = (b: Batch) => (b.metrics?.length ?? 0) + (b.params?.length ?? 0) + (b.tags?.length ?? 0);

// JSON has no NaN or infinities: keep non-finite values (and -0) as the strings MLflow's
// wire uses, which Number() reads back exactly.
const encodeValue = (v: number): number | string => (Number.isFinite(v) && !Object.is(v, -0) ? v : Object.is(v, -0) ? "-0" : String(v));

export function encodeSpoolFile(uri: string, runId: string, batch: Batch, update?: SpooledUpdate, attempts?: number): string {
  const metrics = batch.metrics?.map((m) => ({ key: m.key, value: encodeValue(m.value), timestamp: m.timestamp, step: m.step }));
  return JSON.stringify({
    format: FORMAT,
    version: update ? UPDATE_VERSION : VERSION,
    uri: redactUri(uri),
    runId,
    createdAt: Date.now(),
    batch: { metrics: metrics ?? [], params: batch.params ?? [], tags: batch.tags ?? [] },
    ...(update ? { update: { status: update.status, endTime: update.endTime, runName: update.runName } } : {}),
    ...(attempts ? { attempts } : {}),
  });
}

export function decodeSpoolFile(text: string, file: string): { runId: string; batch: Batch; update?: SpooledUpdate; attempts?: number } {
  const doc = JSON.parse(text) as {
    format?: string;
    version?: number;
    runId?: unknown;
    attempts?: unknown;
    update?: { status?: unknown; endTime?: unknown; runName?: unknown };
    batch?: {
      metrics?: { key: string; value: number | string; timestamp: number; step: number }[];
      params?: Batch["params"];
      tags?: Batch["tags"];
    };
  };
  const u = doc.update;
  const badUpdate =
    doc.version === UPDATE_VERSION &&
    !(
      u &&
      isRunStatus(u.status) &&
      (u.endTime === undefined || Number.isInteger(u.endTime)) &&
      (u.runName === undefined || typeof u.runName === "string")
    );
  if (
    doc.format !== FORMAT ||
    (doc.version !== VERSION && doc.version !== UPDATE_VERSION) ||
    typeof doc.runId !== "string" ||
    !doc.batch ||
    badUpdate
  )
    throw new Error(`Spool file ${file} is not a version ${VERSION} or ${UPDATE_VERSION} ${FORMAT} file.`);
  const metrics: Metric[] = (doc.batch.metrics ?? []).map((m) => ({
    key: m.key,
    value: typeof m.value === "string" ? Number(m.value) : m.value,
    timestamp: m.timestamp,
    step: m.step,
  }));
  const batch: Batch = {};
  if (metrics.length) batch.metrics = metrics;
  if (doc.batch.params?.length) batch.params = doc.batch.params;
  if (doc.batch.tags?.length) batch.tags = doc.batch.tags;
  const attempts = Number.isInteger(doc.attempts) ? { attempts: doc.attempts as number } : {};
  if (doc.version !== UPDATE_VERSION) return { runId: doc.runId, batch, ...attempts };
  const update: SpooledUpdate = { status: u!.status as RunStatus };
  if (u!.endTime !== undefined) update.endTime = u!.endTime as number;
  if (u!.runName !== undefined) update.runName = u!.runName as string;
  return { runId: doc.runId, batch, update, ...attempts };
}

// A KILLED status overtakes its run's backlog: the run must leave RUNNING at once (a killed
// kernel, an interrupted cell), and MLflow takes log-batch requests into an ended run.
const indexEntry = (runId: string, batch: Batch, gen: number, update?: SpooledUpdate): IndexEntry => ({
  runId,
  count: batchSize(batch),
  gen,
  status: update?.status,
  ordered: (!!update && update.status !== "KILLED") || !!batch.tags?.length,
});

// Claims held by this process, so a scan can tell our live claims from stale ones left by
// an earlier process that happened to have the same pid.
const ourClaims = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class Spool {
  /** Points per run in spool files this process knows about and has not claimed. */
  private index = new Map<string, IndexEntry>();
  // Scans count up; an entry added during a scan is newer than that scan's listing.
  private gen = 0;
  /** Names being claimed right now: still counted as spooled until the claim completes. */
  private readonly claiming = new Set<string>();
  private seq = 0;
  private readonly nonce = randomBytes(4).toString("hex");

  constructor(
    readonly dir: string,
    readonly uri: string,
  ) {}

  static forUri(uri: string, base?: string): Spool {
    return new Spool(spoolDirFor(uri, base), uri);
  }

  get rejectedDir(): string {
    return join(this.dir, "rejected");
  }

  /** A new file name; names sort in the order they were taken. */
  newName(): string {
    // Sorting names sorts by creation time, so older batches are delivered first.
    return `${String(Date.now()).padStart(15, "0")}-${process.pid}-${this.nonce}-${String(this.seq++).padStart(6, "0")}${SUFFIX}`;
  }

  /**
   * Writes one batch (or a status update) durably and returns its file name: `name` when
   * given (from newName, for a caller that must know it before the file can be delivered).
   */
  async write(runId: string, batch: Batch, update?: SpooledUpdate, name = this.newName()): Promise<string> {
    await this.writeFile(name, name, runId, batch, update);
    this.index.set(name, indexEntry(runId, batch, this.gen, update));
    return name;
  }

  /**
   * Writes a request that is in flight right now as a file claimed by this process: it is
   * durable, yet no other sender takes it while the request may still succeed. The sender
   * then removes it (acknowledged) or releases it (failed); if this process dies first, the
   * claim goes stale and the next scan takes it back.
   */
  async writeClaimed(runId: string, batch: Batch, update?: SpooledUpdate): Promise<SpoolEntry> {
    const name = this.newName();
    const claimed = `${name}${CLAIM}${process.pid}`;
    ourClaims.add(claimed);
    try {
      await this.writeFile(name, claimed, runId, batch, update);
    } catch (e) {
      ourClaims.delete(claimed);
      throw e;
    }
    return { name, runId, batch, count: batchSize(batch), update };
  }

  private async writeFile(name: string, as: string, runId: string, batch: Batch, update?: SpooledUpdate): Promise<void> {
    // The temp name starts with a dot: scans and other processes never take it for a batch.
    await writeFileAtomic(join(this.dir, as), encodeSpoolFile(this.uri, runId, batch, update), {
      durable: true,
      mkdir: true,
      tmp: join(this.dir, `.tmp-${name}`),
    });
  }

  /** The same as `write`, synchronously: for the process `exit` hook, where nothing async runs. */
  writeSync(runId: string, batch: Batch, update?: SpooledUpdate): string {
    const name = this.newName();
    writeFileAtomicSync(join(this.dir, name), encodeSpoolFile(this.uri, runId, batch, update), {
      durable: true,
      mkdir: true,
      tmp: join(this.dir, `.tmp-${name}`),
    });
    this.index.set(name, indexEntry(runId, batch, this.gen, update));
    return name;
  }

  /** The run of a deliverable file, when known. */
  runOf(name: string): string | undefined {
    return this.index.get(name)?.runId;
  }

  /** True when the file must wait for older files of its run (see IndexEntry.ordered). */
  isOrdered(name: string): boolean {
    return this.index.get(name)?.ordered ?? false;
  }

  /**
   * True when the spool holds a file of `runId` older than `before` (every file when it is
   * omitted): deliverable, or claimed by any live sender. Claimed files are read to learn their run.
   */
  async holdsOlder(runId: string, before = "\uffff"): Promise<boolean> {
    for (const [n, e] of this.index) if (e.runId === runId && n < before) return true;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return false;
    }
    for (const n of names) {
      if (n.startsWith(".") || !n.includes(SUFFIX) || n >= before) continue;
      const at = n.lastIndexOf(CLAIM);
      if (at < 0 && this.index.has(n)) continue;
      try {
        if (decodeSpoolFile(await readFile(join(this.dir, n), "utf8"), n).runId === runId) return true;
      } catch {
        /* gone meanwhile, or unreadable (its claim quarantines it) */
      }
    }
    return false;
  }

  /**
   * Re-reads the directory: takes back claims of dead processes, learns files other
   * processes wrote, forgets files that are gone. Returns the deliverable names, oldest first.
   */
  async scan(): Promise<string[]> {
    const scanGen = ++this.gen;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      // No spool directory (yet), or something else in its place: nothing to deliver.
      // Writing to it is what reports the problem.
      if (!["ENOENT", "ENOTDIR"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
      names = [];
    }
    const ready = new Set(names.filter((n) => n.endsWith(SUFFIX) && !n.startsWith(".")));
    for (const n of names) {
      const at = n.lastIndexOf(CLAIM);
      if (at < 0) continue;
      const pid = Number(n.slice(at + CLAIM.length));
      const stale = pid === process.pid ? !ourClaims.has(n) : !processAlive(pid);
      if (!stale) continue;
      const original = n.slice(0, at);
      try {
        await rename(join(this.dir, n), join(this.dir, original));
        ready.add(original);
      } catch {
        /* another process took it back first */
      }
    }
    // Forget files gone from the listing, unless they came (or are being claimed) after it was taken.
    for (const [n, e] of [...this.index]) if (!ready.has(n) && e.gen < scanGen && !this.claiming.has(n)) this.index.delete(n);
    for (const n of ready) {
      if (this.index.has(n)) continue;
      try {
        const { runId, batch, update } = decodeSpoolFile(await readFile(join(this.dir, n), "utf8"), join(this.dir, n));
        if (!this.index.has(n)) this.index.set(n, indexEntry(runId, batch, scanGen, update));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
          ready.delete(n);
          continue;
        }
        // Unreadable: count it as one entry of an unknown run; claim() reports and quarantines it.
        this.index.set(n, { runId: "", count: 0, gen: scanGen, ordered: false });
      }
    }
    return [...ready].sort();
  }

  /**
   * Claims a file for delivery. Undefined when another sender took it first.
   * Throws (after moving the file to `rejected/`) when the file cannot be read.
   */
  async claim(name: string): Promise<SpoolEntry | undefined> {
    const claimed = `${name}${CLAIM}${process.pid}`;
    // Another sender in this process holds it (and counts it as in flight).
    if (ourClaims.has(claimed)) {
      this.index.delete(name);
      return undefined;
    }
    // Registered before the rename, so a scan running meanwhile never takes it for stale.
    ourClaims.add(claimed);
    this.claiming.add(name);
    try {
      try {
        await rename(join(this.dir, name), join(this.dir, claimed));
      } catch (e) {
        ourClaims.delete(claimed);
        this.index.delete(name);
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
      let decoded;
      try {
        decoded = decodeSpoolFile(await readFile(join(this.dir, claimed), "utf8"), join(this.dir, name));
      } catch (e) {
        this.index.delete(name);
        await this.moveToRejected(claimed, name, String((e as Error).message ?? e));
        ourClaims.delete(claimed);
        throw new Error(`Unreadable spool file ${join(this.dir, name)} moved to ${this.rejectedDir}: ${(e as Error).message}`);
      }
      // The caller takes it from here (in flight): it stops counting as spooled now, not earlier.
      this.index.delete(name);
      return {
        name,
        runId: decoded.runId,
        batch: decoded.batch,
        count: batchSize(decoded.batch),
        update: decoded.update,
        attempts: decoded.attempts,
      };
    } finally {
      this.claiming.delete(name);
    }
  }

  /** Gives a claimed file back (delivery failed for now); `answered`: the server answered with an error, one attempt more. */
  async release(entry: SpoolEntry, answered = false): Promise<void> {
    const claimed = `${entry.name}${CLAIM}${process.pid}`;
    if (answered) {
      entry.attempts = (entry.attempts ?? 0) + 1;
      await writeFileAtomic(join(this.dir, claimed), encodeSpoolFile(this.uri, entry.runId, entry.batch, entry.update, entry.attempts), {
        durable: true,
        tmp: join(this.dir, `.tmp-${entry.name}`),
      });
    }
    await rename(join(this.dir, claimed), join(this.dir, entry.name));
    ourClaims.delete(claimed);
    this.index.set(entry.name, indexEntry(entry.runId, entry.batch, this.gen, entry.update));
  }

  /** Deletes a claimed file: its batch was acknowledged. */
  async remove(entry: SpoolEntry): Promise<void> {
    const claimed = `${entry.name}${CLAIM}${process.pid}`;
    await unlink(join(this.dir, claimed));
    ourClaims.delete(claimed);
  }

  /** Keeps a batch the server refused for good under `rejected/`, with the reason. */
  async quarantine(runId: string, batch: Batch, reason: string, entry?: SpoolEntry, update?: SpooledUpdate): Promise<string> {
    await mkdir(this.rejectedDir, { recursive: true });
    if (entry) {
      const claimed = `${entry.name}${CLAIM}${process.pid}`;
      await this.moveToRejected(claimed, entry.name, reason);
      ourClaims.delete(claimed);
      return join(this.rejectedDir, entry.name);
    }
    const name = this.newName();
    await writeFileAtomic(join(this.rejectedDir, name), encodeSpoolFile(this.uri, runId, batch, update), {
      durable: true,
      tmp: join(this.rejectedDir, `.tmp-${name}`),
    });
    await this.writeReason(name, reason);
    return join(this.rejectedDir, name);
  }

  private async moveToRejected(from: string, name: string, reason: string): Promise<void> {
    await mkdir(this.rejectedDir, { recursive: true });
    await rename(join(this.dir, from), join(this.rejectedDir, name));
    await this.writeReason(name, reason);
  }

  private async writeReason(name: string, reason: string): Promise<void> {
    const fh = await open(join(this.rejectedDir, `${name}.reason.txt`), "w");
    try {
      await fh.writeFile(reason + "\n");
    } finally {
      await fh.close();
    }
  }

  /** Requests parked under `rejected/` (refused for good, or given up on), oldest first, with their reasons. */
  async parked(): Promise<{ name: string; runId?: string; reason: string }[]> {
    const files = await readdir(this.rejectedDir).catch(() => [] as string[]);
    const names = files.filter((f) => f.endsWith(SUFFIX)).sort();
    return Promise.all(
      names.map(async (name) => {
        const reason = (await readFile(join(this.rejectedDir, `${name}.reason.txt`), "utf8").catch(() => "")).trim();
        let runId: string | undefined;
        try {
          runId = decodeSpoolFile(await readFile(join(this.rejectedDir, name), "utf8"), name).runId;
        } catch {
          /* unreadable: the reason says so */
        }
        return { name, runId, reason };
      }),
    );
  }

  /** Spooled points per run (files known from the last scan or written here, not claimed). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const { runId, count } of this.index.values()) out.set(runId, (out.get(runId) ?? 0) + count);
    return out;
  }

  /** Status updates per run in spool files this process knows about and has not claimed. */
  updates(): Map<string, RunStatus> {
    const out = new Map<string, RunStatus>();
    for (const { runId, status } of this.index.values()) if (status) out.set(runId, status);
    return out;
  }

  /** Number of deliverable files known. */
  get size(): number {
    return this.index.size;
  }
}
