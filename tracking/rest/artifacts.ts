// Where a run's artifacts live, chosen by the run's artifact URI: a tracking server's
// artifact proxy (`mlflow-artifacts:`), a plain HTTP artifact root (`http(s):`), or a
// directory on this machine (`file:` / absolute path), written directly.

import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileInfo } from "../entities.js";
import { MlflowError, notFound } from "../errors.js";
import { checkArtifactPath, checkServedArtifactPath } from "../validation.js";
import { encodeComponent, errorFromResponse, type HttpClient } from "./http.js";

export interface ArtifactRepository {
  /** The artifact root URI this repository writes under. */
  readonly rootUri: string;
  put(path: string, data: Uint8Array | string): Promise<void>;
  get(path: string): Promise<Uint8Array>;
  /** Only local repositories list themselves; remote ones are listed through the tracking server. */
  list?(path?: string): Promise<FileInfo[]>;
}

export const ACCEPTED_ARTIFACT_SCHEMES = ["mlflow-artifacts:", "http:", "https:", "file:"];

const CONTENT_TYPES: Record<string, string> = {
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  html: "text/html",
  json: "application/json",
  yaml: "application/yaml",
  yml: "application/yaml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  ipynb: "application/x-ipynb+json",
};

export const contentTypeFor = (path: string) =>
  CONTENT_TYPES[path.slice(path.lastIndexOf(".") + 1).toLowerCase()] ?? "application/octet-stream";

const encodePath = (p: string) => p.split("/").map(encodeComponent).join("/");

export function artifactRepository(rootUri: string, http: HttpClient): ArtifactRepository {
  if (rootUri.startsWith("mlflow-artifacts:")) {
    const u = new URL(rootUri);
    // `mlflow-artifacts:/1/<run>/artifacts` goes to the tracking server itself; with a host it names another server.
    const origin = u.host ? `${new URL(http.baseUrl).protocol}//${u.host}` : http.baseUrl;
    return new HttpArtifactRepository(rootUri, `${origin}/api/2.0/mlflow-artifacts/artifacts${u.pathname.replace(/\/+$/, "")}`, http);
  }
  if (/^https?:\/\//i.test(rootUri)) return new HttpArtifactRepository(rootUri, rootUri.replace(/\/+$/, ""), http);
  if (rootUri.startsWith("file:")) return new LocalArtifactRepository(rootUri, fileURLToPath(rootUri));
  if (isAbsolute(rootUri)) return new LocalArtifactRepository(rootUri, rootUri);
  if (rootUri.startsWith("dbfs:"))
    throw new MlflowError(
      "UNSUPPORTED_URI",
      `Cannot store artifacts at ${JSON.stringify(rootUri)}: Databricks-managed artifact storage (dbfs:) is not supported by this client; metrics, params, tags and the registry work. Accepted artifact URIs: ${ACCEPTED_ARTIFACT_SCHEMES.join(", ")}.`,
    );
  throw new MlflowError(
    "UNSUPPORTED_URI",
    `Cannot store artifacts at ${JSON.stringify(rootUri)}: this client writes artifact URIs starting with ${ACCEPTED_ARTIFACT_SCHEMES.join(", ")}. Start the MLflow server with --serve-artifacts so runs get mlflow-artifacts: URIs.`,
  );
}

class HttpArtifactRepository implements ArtifactRepository {
  constructor(
    readonly rootUri: string,
    private readonly baseUrl: string,
    private readonly http: HttpClient,
  ) {}

  async put(path: string, data: Uint8Array | string): Promise<void> {
    const p = checkServedArtifactPath(path);
    await this.http.json({
      method: "PUT",
      path: `${this.baseUrl}/${encodePath(p)}`,
      body: data,
      headers: { "Content-Type": contentTypeFor(p) },
    });
  }

  async get(path: string): Promise<Uint8Array> {
    const p = checkServedArtifactPath(path);
    const res = await this.http.send({ method: "GET", path: `${this.baseUrl}/${encodePath(p)}`, retry: "download" });
    if (res.status >= 400) throw errorFromResponse("GET", res);
    return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
  }
}

export class LocalArtifactRepository implements ArtifactRepository {
  constructor(
    readonly rootUri: string,
    private readonly root: string,
  ) {}

  async put(path: string, data: Uint8Array | string): Promise<void> {
    const target = join(this.root, checkArtifactPath(path));
    await mkdir(dirname(target), { recursive: true });
    // Temp file + rename so a reader never sees half an artifact.
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }

  async get(path: string): Promise<Uint8Array> {
    const p = checkArtifactPath(path);
    try {
      return new Uint8Array(await readFile(join(this.root, p)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`No artifact ${JSON.stringify(p)} under ${this.rootUri}.`);
      throw err;
    }
  }

  async list(path = ""): Promise<FileInfo[]> {
    const p = checkArtifactPath(path, true);
    const dir = join(this.root, p);
    let names: string[];
    try {
      if (!(await stat(dir)).isDirectory()) return [];
      names = (await readdir(dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    return Promise.all(
      names.map(async (name) => {
        const s = await stat(join(dir, name));
        const rel = p ? `${p}/${name}` : name;
        return s.isDirectory() ? { path: rel, isDir: true } : { path: rel, isDir: false, fileSize: s.size };
      }),
    );
  }
}
