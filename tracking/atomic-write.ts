// The one atomic file write: the bytes go to a temp file beside the target, which is then
// renamed over it, so a reader (or the next process after a crash) sees the old file or the
// whole new one, never half of it. `durable` adds what the spool needs on top: the temp file
// is fsynced before the rename and the directory after it, so once the call returns the
// file survives a power cut. The file store and notebooks do without (MLflow's own stores
// do not fsync either; a run's files are rewritten often). Light on purpose (node:fs only):
// the CLI loads it before anything else of tracking/.
//
// write-file-atomic from npm does the temp + fsync + rename but not the directory fsync, and
// names its temp files `<target>.<hash>`, which the spool's own name scheme would misread.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** fsync the file before the rename and its directory after it. Default false. */
  durable?: boolean;
  /** Create missing parent directories. Default false. */
  mkdir?: boolean;
  /**
   * The temp file; it must be in the target's directory (a rename is atomic only within one
   * file system). Default `.tmp-<target name>-<pid>-<random>-<n>`: a leading dot keeps it
   * out of listings that skip dot files.
   */
  tmp?: string;
}

const TAG = randomBytes(4).toString("hex");
let seq = 0;
const defaultTemp = (file: string) => join(dirname(file), `.tmp-${basename(file)}-${process.pid}-${TAG}-${(seq++).toString(36)}`);
const isNoEnt = (e: unknown) => (e as NodeJS.ErrnoException)?.code === "ENOENT";

/** Writes `data` to `file` atomically (see the module comment). */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = options.tmp ?? defaultTemp(file);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(tmp, "wx");
  } catch (e) {
    if (!options.mkdir || !isNoEnt(e)) throw e;
    await fs.promises.mkdir(dirname(file), { recursive: true });
    fh = await fs.promises.open(tmp, "wx");
  }
  try {
    try {
      await fh.writeFile(data);
      if (options.durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  if (options.durable) await syncDir(dirname(file));
}

/** The same, synchronously: for the process `exit` hook and for small files written on a hot path. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = options.tmp ?? defaultTemp(file);
  let fd: number;
  try {
    fd = fs.openSync(tmp, "wx");
  } catch (e) {
    if (!options.mkdir || !isNoEnt(e)) throw e;
    fs.mkdirSync(dirname(file), { recursive: true });
    fd = fs.openSync(tmp, "wx");
  }
  try {
    try {
      fs.writeFileSync(fd, data);
      if (options.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (options.durable) syncDirSync(dirname(file));
}

// A rename is durable only once the directory entry is on disk. Some file systems refuse
// fsync on a directory: the rename then is as durable as they make it.
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, "r");
  try {
    await fh.sync();
  } catch {
    /* see above */
  } finally {
    await fh.close();
  }
}

function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } catch {
    /* see above */
  } finally {
    fs.closeSync(fd);
  }
}
