// Artifact uploads the store did not take (unreachable, a 5xx, no answer), kept on disk until
// it answers again: the artifacts part of a tracking URI's spool (spool.ts keeps its batches
// and status updates). Uploading a file puts the same bytes at the same path again, so one
// delivered twice (by two processes, or after a crash between upload and removal) does no
// harm: unlike batches, no claims are needed.
//
// Layout, inside the spool directory: artifacts/<name>.bin holds the bytes and
// artifacts/<name>.json the run, path and URI, each written atomically and durably
// (atomic-write.ts); the .json is written last, so every listed .json has its bytes.
// Sorting names sorts by time: oldest delivered first.
//
// Giving up: `upload` waits at most `uploadTimeoutMs` (the flush timeout) for the store, then
// spools the bytes and lets the request go on (its spooled copy is removed if it still gets
// through). In delivery, an upload the server keeps answering with an error (5xx) is tried
// MAX_ARTIFACT_ATTEMPTS times, counted in its .json across processes, then parked under
// `rejected/` with the reason like a 4xx; either way the uploads behind it go on. Only an
// unreachable store stops a delivery round.

import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, writeFileAtomicSync } from "../atomic-write.js";
import { isPermanentFailure, settlesWithin } from "./logger-jobs.js";
import type { TrackingStore } from "../store.js";
import { watchExit, type ExitAware } from "./exit-hooks.js";

const FORMAT = "tslab-mlflow-artifact";
const VERSION = 1;

interface Meta {
  format: typeof FORMAT;
  version: typeof VERSION;
  uri: string;
  runId: string;
  path: string;
  /** Deliveries the server answered with an error so far. */
  attempts?: number;
}

/** Deliveries of one spooled upload answered with a server error before it is parked. */
export const MAX_ARTIFACT_ATTEMPTS = 3;

export interface ArtifactDelivery {
  delivered: number;
  /** Still waiting (the store did not answer, or failed). */
  left: number;
  /** Turned away for good (a 4xx about the upload itself), kept in `rejected/` with the reason. */
  rejected: number;
  /** The failure that stopped delivery or turned something away, if any. */
  error?: unknown;
}

export class ArtifactSpool implements ExitAware {
  readonly dir: string;
  /** Uploads under way, spooled synchronously if the process exits first. */
  private readonly inFlight = new Map<number, { runId: string; path: string; data: Uint8Array | string }>();
  private seq = 0;
  private uploads = 0;
  private readonly nonce = randomBytes(4).toString("hex");
  private watched = false;
  /** Longest wait of `upload` for the store (ms); then the bytes are spooled and the request goes on. */
  uploadTimeoutMs = Infinity;

  /** `spoolDir`: the tracking URI's spool directory (spoolDirFor). */
  constructor(
    spoolDir: string,
    readonly uri: string,
  ) {
    this.dir = join(spoolDir, "artifacts");
  }

  get rejectedDir(): string {
    return join(this.dir, "rejected");
  }

  /**
   * Uploads `data` to the run's `path` now; if the store does not take it for a reason that
   * can clear up, it is spooled instead. A 4xx about the upload itself is thrown.
   */
  async upload(store: TrackingStore, runId: string, path: string, data: Uint8Array | string): Promise<"uploaded" | "spooled"> {
    if (!this.watched) {
      this.watched = true;
      watchExit(this);
    }
    const id = this.uploads++;
    this.inFlight.set(id, { runId, path, data });
    const attempt = store.logArtifact(runId, path, data);
    try {
      if (!(await settlesWithin(attempt, this.uploadTimeoutMs))) {
        // No answer in time: durable now, and the request goes on; if it gets through after
        // all, the spooled copy goes (uploading it again would be harmless, only wasted).
        const name = await this.write(runId, path, data);
        void attempt.then(
          () => this.removeSpooled(name),
          (error) => (isPermanentFailure(error) ? this.reject(name, error) : undefined),
        );
        return "spooled";
      }
      await attempt;
      return "uploaded";
    } catch (error) {
      if (isPermanentFailure(error)) throw error;
      await this.write(runId, path, data);
      return "spooled";
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async removeSpooled(name: string): Promise<void> {
    await unlink(join(this.dir, `${name}.json`)).catch(() => {});
    await unlink(join(this.dir, `${name}.bin`)).catch(() => {});
  }

  /** Delivers what waits, oldest first, until the store stops answering. */
  async deliver(store: TrackingStore): Promise<ArtifactDelivery> {
    const names = await this.list();
    const result: ArtifactDelivery = { delivered: 0, left: 0, rejected: 0 };
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      let meta: Meta;
      let data: Buffer;
      try {
        meta = JSON.parse(await readFile(join(this.dir, `${name}.json`), "utf8")) as Meta;
        data = await readFile(join(this.dir, `${name}.bin`));
      } catch {
        continue; // delivered and removed by another process meanwhile
      }
      try {
        await store.logArtifact(meta.runId, meta.path, data);
      } catch (error) {
        result.error = error;
        const answered = (error as { httpStatus?: number }).httpStatus !== undefined;
        if (!isPermanentFailure(error) && !answered) {
          // The store is unreachable: the rest would fail the same way.
          result.left = names.length - i;
          break;
        }
        const attempts = (meta.attempts ?? 0) + 1;
        if (isPermanentFailure(error) || attempts >= MAX_ARTIFACT_ATTEMPTS) {
          const why = isPermanentFailure(error)
            ? error
            : new Error(`gave up after ${attempts} attempts answered with errors; the last: ${(error as Error)?.message ?? String(error)}`);
          await this.reject(name, why);
          result.rejected++;
        } else {
          await writeFileAtomic(join(this.dir, `${name}.json`), JSON.stringify({ ...meta, attempts }), { durable: true }).catch(() => {});
          result.left++;
        }
        continue;
      }
      await unlink(join(this.dir, `${name}.json`)).catch(() => {});
      await unlink(join(this.dir, `${name}.bin`)).catch(() => {});
      result.delivered++;
    }
    return result;
  }

  /** Names (without extension) of the spooled uploads, oldest first. */
  async list(): Promise<string[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    return files
      .filter((f) => f.endsWith(".json") && !f.startsWith("."))
      .map((f) => f.slice(0, -".json".length))
      .sort();
  }

  private nextName(): string {
    return `${String(Date.now()).padStart(15, "0")}-${process.pid}-${this.nonce}-${String(this.seq++).padStart(6, "0")}`;
  }

  private metaText(runId: string, path: string): string {
    const meta: Meta = { format: FORMAT, version: VERSION, uri: this.uri, runId, path };
    return JSON.stringify(meta);
  }

  /** Spools one upload; returns its name. */
  async write(runId: string, path: string, data: Uint8Array | string): Promise<string> {
    const name = this.nextName();
    await writeFileAtomic(join(this.dir, `${name}.bin`), data, { durable: true, mkdir: true });
    await writeFileAtomic(join(this.dir, `${name}.json`), this.metaText(runId, path), { durable: true });
    return name;
  }

  /** Uploads parked under `rejected/` (turned away, or given up on), newest last, with their reasons. */
  async parked(): Promise<{ name: string; reason: string }[]> {
    const files = await readdir(this.rejectedDir).catch(() => [] as string[]);
    const names = files
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
    return Promise.all(
      names.map(async (name) => ({
        name,
        reason: (await readFile(join(this.rejectedDir, `${name}.reason.txt`), "utf8").catch(() => "")).trim(),
      })),
    );
  }

  /** Process `exit`: uploads still under way are spooled synchronously (nothing async runs now). */
  spoolSync(): void {
    for (const { runId, path, data } of this.inFlight.values()) {
      try {
        const name = this.nextName();
        writeFileAtomicSync(join(this.dir, `${name}.bin`), data, { durable: true, mkdir: true });
        writeFileAtomicSync(join(this.dir, `${name}.json`), this.metaText(runId, path), { durable: true });
      } catch {
        // nowhere left to put it
      }
    }
    this.inFlight.clear();
  }

  hasWork(): boolean {
    return false;
  }

  async flush(): Promise<void> {}

  private async reject(name: string, error: unknown): Promise<void> {
    await mkdir(this.rejectedDir, { recursive: true });
    for (const ext of [".json", ".bin"]) await rename(join(this.dir, name + ext), join(this.rejectedDir, name + ext)).catch(() => {});
    await writeFile(join(this.rejectedDir, `${name}.reason.txt`), `${(error as Error)?.message ?? String(error)}\n`).catch(() => {});
  }
}
