// Where warm compiler snapshots live, which one fits a project, and building one.
//
// A snapshot (snapshot.cts) holds the declaration files a project's cells are
// checked against, already parsed. It fits when the Node.js binary, tslab's TypeScript and
// the project's @types folders are the ones it was built from: the key hashes those (the
// folders by path and by the installed packages' package.json times). A file edited since
// is re-read at start anyway. Snapshots are machine-local caches, built in the background
// by `tslab-mlflow install` (for the folders it expects notebooks in) and by the first
// kernel started with a key that has none, used from the next start on.
//
// TSLAB_MLFLOW_CACHE_DIR moves the cache (default: $XDG_CACHE_HOME or ~/.cache, then
// tslab-mlflow/compiler); TSLAB_MLFLOW_COMPILER_SNAPSHOT=0 turns snapshots off.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { COMPILER_V8_FLAGS } from "./compiler-v8-flags.js";

/** Snapshots kept (least recently used go first): each is ~50 MB. */
const KEEP = 4;
/** A build in progress older than this is taken as abandoned. */
const STALE_BUILD_MS = 5 * 60_000;

const ENTRY = fileURLToPath(new URL("./snapshot.cjs", import.meta.url));
/** What a build runs first: waits until the machine is quiet (wait-for-idle.ts). */
const WAIT_FOR_IDLE = `await (await import(${JSON.stringify(new URL("./wait-for-idle.js", import.meta.url).href)})).waitForIdle();`;
const SERVICE_URL = new URL("./service.js", import.meta.url).href;

export interface CompilerSnapshot {
  /** The blob to start from (may not exist yet). */
  blob: string;
  /** Environment the builder needs. */
  buildEnv: Record<string, string>;
}

export function snapshotsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TSLAB_MLFLOW_COMPILER_SNAPSHOT !== "0";
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSLAB_MLFLOW_CACHE_DIR) return path.resolve(env.TSLAB_MLFLOW_CACHE_DIR);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "tslab-mlflow", "compiler");
}

/** The @types folders TypeScript's default type roots would find from `cwd` (node_modules/@types of it and every parent). */
function typeRootFolders(cwd: string): string[] {
  const roots: string[] = [];
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const root = path.join(dir, "node_modules", "@types");
    if (fs.existsSync(root)) roots.push(root);
    if (path.dirname(dir) === dir) return roots;
  }
}

/** What a folder of packages holds, by name and package.json change time (an install or update changes it). */
function packagesState(folder: string): string {
  let names: string[];
  try {
    names = fs.readdirSync(folder).sort();
  } catch {
    return "-";
  }
  return names.map((n) => `${n}@${fs.statSync(path.join(folder, n, "package.json"), { throwIfNoEntry: false })?.mtimeMs ?? "-"}`).join(",");
}

/**
 * This folder's compiled code by content (the snapshot's entry, and the service a shared
 * compiler runs): a service started by an older build of this package must not serve the
 * kernels of a newer one, and every build rewrites these files (same bytes, new times).
 */
function compilerCode(): string {
  const dir = path.dirname(ENTRY);
  const hash = createHash("sha256");
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.endsWith(".js") || name.endsWith(".cjs")) hash.update(name).update(fs.readFileSync(path.join(dir, name)));
  }
  return hash.digest("hex");
}

function fileState(file: string): string {
  const s = fs.statSync(file, { throwIfNoEntry: false });
  return s ? `${file}:${s.size}:${s.mtimeMs}` : `${file}:-`;
}

/** The snapshot that fits a kernel started in `cwd`. */
export function snapshotFor(cwd: string, env: NodeJS.ProcessEnv = process.env): CompilerSnapshot {
  const require = createRequire(import.meta.url);
  const converter = require.resolve("tslab/dist/converter.js");
  const tslabDir = path.dirname(path.dirname(converter));
  const typescriptFile = createRequire(converter).resolve("@tslab/typescript-for-tslab");
  const parts = [
    process.version,
    process.arch,
    fileState(process.execPath),
    fileState(typescriptFile),
    fileState(converter),
    compilerCode(),
    COMPILER_V8_FLAGS.join(" "),
    ...[...typeRootFolders(cwd), path.join(tslabDir, "node_modules", "@types")].map((f) => `${f}=${packagesState(f)}`),
  ];
  const key = createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 24);
  return {
    blob: path.join(cacheDir(env), `${key}.blob`),
    buildEnv: {
      TSLAB_MLFLOW_SNAPSHOT_TS: typescriptFile,
      TSLAB_MLFLOW_SNAPSHOT_TSLAB: tslabDir,
      TSLAB_MLFLOW_SNAPSHOT_SERVICE: SERVICE_URL,
    },
  };
}

/** Node flags of a process started from a snapshot. */
export function snapshotArgs(blob: string): string[] {
  return ["--disable-warning=ExperimentalWarning", ...COMPILER_V8_FLAGS, "--snapshot-blob", blob];
}

/**
 * glibc's tunable that lets malloc back its memory with transparent huge pages (glibc >=
 * 2.35 where the kernel allows them on request; ignored elsewhere). Restoring a snapshot
 * touches ~150 MB, and page faults are dear on a virtual machine: with it, half the faults
 * (45,000 -> 22,000), and a kernel that starts the service from its snapshot has its first
 * result in 0.83-0.94 s instead of 1.09-1.15 s (measured here, interleaved).
 */
const HUGE_PAGES = "glibc.malloc.hugetlb=1";

/**
 * The environment of a compiler process (a snapshot build or a process started from one).
 * Without NODE_EXTRA_CA_CERTS: Node reads that file at every start (60-90 ms here, on the
 * kernel's critical path), and a compiler never opens a TLS connection. With huge pages
 * for malloc, unless the user's own GLIBC_TUNABLES say otherwise.
 */
export function compilerProcessEnv(base: NodeJS.ProcessEnv = process.env, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _unused, GLIBC_TUNABLES: tunables, ...env } = base;
  const hugePages = !tunables ? HUGE_PAGES : tunables.includes("glibc.malloc.hugetlb=") ? tunables : `${tunables}:${HUGE_PAGES}`;
  return { ...env, GLIBC_TUNABLES: hugePages, ...extra };
}

/** Marks a snapshot as just used (the cache keeps the most recently used). */
export function touch(blob: string): void {
  const now = new Date();
  fs.utimes(blob, now, now, () => {});
}

/** Forgets a snapshot that could not start (it is rebuilt on a later start). */
export function discard(blob: string): void {
  fs.rm(blob, { force: true }, () => {});
}

/**
 * Builds the snapshot in a detached, low-priority process that outlives this kernel:
 * written beside the target and renamed, so a reader never sees half a blob. Does
 * nothing (returns false) if another build of it is under way.
 */
export function buildInBackground(
  snapshot: CompilerSnapshot,
  cwd: string,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const dir = path.dirname(snapshot.blob);
  const lock = `${snapshot.blob}.build`;
  // Its own partial file: a build started while an abandoned one still runs never shares it.
  const partial = `${snapshot.blob}.${process.pid}-${Date.now()}.partial`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (!takeBuildLock(lock)) return false;
  } catch (e) {
    log(`compiler snapshot: cannot use ${dir}: ${(e as Error).message}`);
    return false;
  }
  prune(dir);
  const output = buildLogOf(snapshot.blob);
  const failed = lastBuildFailure(output);
  if (failed) log(`compiler snapshot: the last build failed or was stopped (${failed}; its output: ${output}); building again`);
  const build = [process.execPath, "--no-warnings", ...COMPILER_V8_FLAGS, "--snapshot-blob", partial, "--build-snapshot", ENTRY];
  // Low priority, and once the machine is quiet: it must not slow the cells of the kernel that
  // started it. Its output stays in `<blob>.build.log` if it fails (the next build says so).
  // The lock, `<blob>.build`, names its process group while it runs (to stop a build: kill the group).
  const script =
    'p="$1"; node="$2"; wait="$3"; shift 3; nice -n 19 "$node" --input-type=module -e "$wait"; ' +
    'if nice -n 19 "$@"; then mv -f "$p" "$0"; rm -f "$0.build.log"; ' +
    'else s=$?; echo; echo "snapshot build failed: exit code $s"; rm -f "$p"; fi; rm -f "$0.build"';
  let outputFd: number | undefined;
  try {
    outputFd = fs.openSync(output, "w", 0o600);
    const child = spawn("/bin/sh", ["-c", script, snapshot.blob, partial, process.execPath, WAIT_FOR_IDLE, ...build], {
      cwd,
      detached: true,
      stdio: ["ignore", outputFd, outputFd],
      env: compilerProcessEnv(env, snapshot.buildEnv),
    });
    child.on("error", (e) => log(`compiler snapshot: build did not start: ${e.message}`));
    child.unref();
    if (child.pid) fs.writeFileSync(lock, `${child.pid}\n`);
  } catch (e) {
    log(`compiler snapshot: build did not start: ${(e as Error).message}`);
    fs.rmSync(lock, { force: true });
    return false;
  } finally {
    if (outputFd !== undefined) fs.closeSync(outputFd);
  }
  log(`compiler snapshot: building ${snapshot.blob} for the next kernel start`);
  return true;
}

/**
 * Takes the build lock: the file is made exclusively, naming this process until the build's
 * own process replaces it. A lock whose process is gone (a kernel killed while it started a
 * build: Jupyter kills kernels that do not stop at once), or older than STALE_BUILD_MS, is
 * taken over rather than waited for.
 */
function takeBuildLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let held: { owner: number; since: number };
    try {
      held = { owner: Number.parseInt(fs.readFileSync(lock, "utf8"), 10), since: fs.statSync(lock).mtimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
      throw e;
    }
    if (Date.now() - held.since < STALE_BUILD_MS && isRunning(held.owner)) return false;
    fs.rmSync(lock, { force: true });
  }
  return false;
}

function isRunning(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Where a snapshot build writes its output (kept only if the build fails). */
export function buildLogOf(blob: string): string {
  return `${blob}.build.log`;
}

/** The last line of a failed (or stopped) build's output, if the last build did not succeed. */
function lastBuildFailure(output: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(output, "utf8");
  } catch {
    return undefined;
  }
  return text.trimEnd().split("\n").at(-1) || "no output";
}

/**
 * Starts building the snapshot a kernel in `cwd` would look for, unless snapshots are off or
 * it is built (or being built) already: `tslab-mlflow install` does so, so that the first
 * kernel on a machine starts warm. Returns the blob being built, if a build started.
 */
export function prepareSnapshot(
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => {},
): string | undefined {
  if (!snapshotsEnabled(env)) return undefined;
  const snapshot = snapshotFor(cwd, env);
  if (fs.existsSync(snapshot.blob)) return undefined;
  return buildInBackground(snapshot, cwd, log, env) ? snapshot.blob : undefined;
}

/** Keeps the KEEP - 1 most recently used snapshots, making room for one more; removes what killed builds left. */
function prune(dir: string): void {
  let blobs: { file: string; used: number }[];
  let partials: string[];
  try {
    const names = fs.readdirSync(dir);
    blobs = names
      .filter((n) => n.endsWith(".blob"))
      .map((n) => path.join(dir, n))
      .map((file) => ({ file, used: fs.statSync(file).mtimeMs }));
    partials = names.filter((n) => n.endsWith(".partial")).map((n) => path.join(dir, n));
  } catch {
    return;
  }
  blobs.sort((a, b) => b.used - a.used);
  for (const { file } of blobs.slice(KEEP - 1)) fs.rmSync(file, { force: true });
  // What builds that were killed left (up to ~50 MB each); a build in progress is younger.
  for (const file of partials) {
    const since = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (since !== undefined && Date.now() - since > STALE_BUILD_MS) fs.rmSync(file, { force: true });
  }
}
