// Artifacts of runs whose artifact URI is a `file:` location: written, listed and read
// directly on disk. Paths are relative to the run's artifact root and `/`-separated.

import { promises as fs } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileInfo } from "../entities.js";
import { invalidParameter, MlflowError, notFound } from "../errors.js";
import { checkArtifactPath } from "../validation.js";
import { isNoEnt, isTempFile, writeAtomic } from "./fsio.js";
import type { Runs } from "./runs.js";

export class Artifacts {
  constructor(private readonly runs: Runs) {}

  private async root(runId: string): Promise<string> {
    const { dir, uri } = await this.runs.artifactDir(runId);
    if (dir) return dir;
    if (uri.startsWith("file:")) return fileURLToPath(uri);
    throw new MlflowError("UNSUPPORTED_URI", `Run ${runId} stores artifacts at '${uri}'; the file store handles only file: artifact URIs.`);
  }

  async log(runId: string, artifactPath: string, data: Uint8Array | string): Promise<void> {
    const rel = checkArtifactPath(artifactPath);
    // writeAtomic creates missing parent directories itself.
    await writeAtomic(join(await this.root(runId), ...rel.split("/")), data);
  }

  async list(runId: string, path?: string): Promise<FileInfo[]> {
    const rel = checkArtifactPath(path ?? "", true);
    const dir = join(await this.root(runId), ...(rel ? rel.split("/") : []));
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return [];
      throw e;
    }
    const out: FileInfo[] = [];
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (isTempFile(e.name)) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) out.push({ path: p, isDir: true });
      else out.push({ path: p, isDir: false, fileSize: (await fs.stat(join(dir, e.name))).size });
    }
    return out;
  }

  async download(runId: string, path: string): Promise<Uint8Array> {
    const rel = checkArtifactPath(path);
    const file = join(await this.root(runId), ...rel.split("/"));
    try {
      return new Uint8Array(await fs.readFile(file));
    } catch (e) {
      if (isNoEnt(e)) throw notFound(`Artifact '${rel}' does not exist in run ${runId} (looked for ${file}).`);
      if ((e as NodeJS.ErrnoException).code === "EISDIR")
        throw invalidParameter(`Artifact '${rel}' of run ${runId} is a directory; list it instead.`);
      throw e;
    }
  }
}
