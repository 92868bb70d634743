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

import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, writeFileAtomicSync } from "../atomic-write.js";
import { isPermanentFailure } from "./logger-jobs.js";
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
}

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

  /** `spoolDir`: the tracking URI's spool directory (spoolDirFor). */
  constructor(spoolDir: string, readonly uri: string) {
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
    try {
      await store.logArtifact(runId, path, data);
      return "uploaded";
    } catch (error) {
      if (isPermanentFailure(error)) throw error;
      await this.write(runId, path, data);
      return "spooled";
    } finally {
      this.inFlight.delete(id);
    }
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
        if (!isPermanentFailure(error)) {
          result.left = names.length - i;
          break;
        }
        await this.reject(name, error);
        result.rejected++;
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
    return files.filter((f) => f.endsWith(".json") && !f.startsWith(".")).map((f) => f.slice(0, -".json".length)).sort();
  }

  private nextName(): string {
    return `${String(Date.now()).padStart(15, "0")}-${process.pid}-${this.nonce}-${String(this.seq++).padStart(6, "0")}`;
  }

  private metaText(runId: string, path: string): string {
    const meta: Meta = { format: FORMAT, version: VERSION, uri: this.uri, runId, path };
    return JSON.stringify(meta);
  }

  async write(runId: string, path: string, data: Uint8Array | string): Promise<void> {
    const name = this.nextName();
    await writeFileAtomic(join(this.dir, `${name}.bin`), data, { durable: true, mkdir: true });
    await writeFileAtomic(join(this.dir, `${name}.json`), this.metaText(runId, path), { durable: true });
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
