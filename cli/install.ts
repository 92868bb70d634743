// Installs and removes the kernelspec straight in Jupyter's data directories, with
// no Python involved. Locations follow jupyter_core's rules:
//   --user        $JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter
//   --sys-prefix  <prefix>/share/jupyter, where <prefix> is the sys.prefix of the Python
//                 that runs the `jupyter` command on PATH (read from its `#!` line, so
//                 /usr/bin/jupyter -> /usr, a venv's bin/jupyter -> the venv); /usr when
//                 no `jupyter` is found (Debian's python3 has sys.prefix /usr)
//   --prefix DIR  DIR/share/jupyter
// Each writes <data dir>/kernels/<name>/{kernel.json, logo-32x32.png, logo-64x64.png}, and
// starts building (in the background) the compiler snapshots that kernels in the current
// folder and the home folder will look for, so that the first kernel on a machine starts
// its compiler warm (kernel/compiler/cache.ts).
// `uninstall` without a location removes the spec from every directory Jupyter
// searches: the user dir, each $JUPYTER_PATH entry, the sys-prefix dir and the
// system dirs /usr/local/share/jupyter and /usr/share/jupyter.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { prepareSnapshot } from "../kernel/compiler/index.js";
import { renderLogoPng } from "./logo.js";

export type InstallLocation = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string };

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  env?: Record<string, string>;
  metadata: Record<string, unknown>;
}

export const DEFAULT_KERNEL_NAME = "tslab-mlflow";
export const DEFAULT_DISPLAY_NAME = "TypeScript (tslab-mlflow)";

// jupyter_client's own rule for kernel names (kernelspec._kernel_name_pat).
const KERNEL_NAME_PATTERN = /^[a-z0-9._-]+$/i;

type Env = Record<string, string | undefined>;

export class InstallError extends Error {
  constructor(
    readonly code: "BAD_KERNEL_NAME" | "BAD_PREFIX" | "NOT_INSTALLED",
    message: string,
  ) {
    super(message);
    this.name = "InstallError";
  }
}

export function validateKernelName(name: string): string {
  if (!KERNEL_NAME_PATTERN.test(name)) {
    throw new InstallError("BAD_KERNEL_NAME", `invalid kernel name ${JSON.stringify(name)}: use only letters, digits, ".", "_" and "-"`);
  }
  return name;
}

/** The per-user Jupyter data directory, as jupyter_core computes it on Linux. */
export function userDataDir(env: Env = process.env): string {
  if (env.JUPYTER_DATA_DIR) return path.resolve(env.JUPYTER_DATA_DIR);
  const xdg = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), ".local", "share");
  return path.join(xdg, "jupyter");
}

/** sys.prefix of the Python behind the `jupyter` command on PATH, read from its shebang. */
export function jupyterSysPrefix(env: Env = process.env): string {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "jupyter");
    let firstLine: string;
    try {
      const fd = fs.openSync(candidate, "r");
      try {
        const buf = Buffer.alloc(512);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        firstLine = buf.subarray(0, n).toString("utf8").split("\n")[0];
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue;
    }
    // "#!/usr/bin/python3" or "#!/venv/bin/python -E": the interpreter lives in <prefix>/bin.
    const m = /^#!\s*(\S+)/.exec(firstLine);
    if (m && path.basename(m[1]).startsWith("python")) {
      return path.dirname(path.dirname(m[1]));
    }
  }
  return "/usr";
}

/** The Jupyter data directory that a location stands for. */
export function dataDir(location: InstallLocation, env: Env = process.env): string {
  switch (location.kind) {
    case "user":
      return userDataDir(env);
    case "sys-prefix":
      return path.join(jupyterSysPrefix(env), "share", "jupyter");
    case "prefix":
      if (!location.dir) {
        throw new InstallError("BAD_PREFIX", "--prefix needs a directory, got an empty string");
      }
      return path.join(path.resolve(location.dir), "share", "jupyter");
  }
}

/** Every data directory Jupyter searches for kernelspecs, in its order of precedence. */
export function jupyterDataPath(env: Env = process.env): string[] {
  const dirs = [userDataDir(env)];
  for (const p of (env.JUPYTER_PATH ?? "").split(path.delimiter)) {
    if (p) dirs.push(path.resolve(p));
  }
  dirs.push(path.join(jupyterSysPrefix(env), "share", "jupyter"));
  dirs.push("/usr/local/share/jupyter", "/usr/share/jupyter");
  return [...new Set(dirs)];
}

/** Absolute path of the compiled CLI entry (dist/cli/main.js) next to this module. */
export function cliEntry(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");
}

export function buildKernelSpec(displayName: string = DEFAULT_DISPLAY_NAME): KernelSpec {
  return {
    // Absolute paths: Jupyter starts kernels with whatever PATH it has, which may not
    // contain this node or the package's bin.
    argv: [fs.realpathSync(process.execPath), cliEntry(), "kernel", "--connection-file", "{connection_file}"],
    display_name: displayName,
    language: "typescript",
    // "message": the frontend sends interrupt_request on the control channel, which the
    // kernel reads on a worker thread that user code cannot starve, acknowledges with
    // interrupt_reply, and turns into a SIGINT to its own process only. With "signal"
    // jupyter_client signals the whole process group, so child processes a cell started
    // get interrupted too, and a frontend on another host cannot signal at all.
    interrupt_mode: "message",
    metadata: { "tslab-mlflow": { entry: cliEntry() } },
  };
}

export interface InstallOptions {
  location?: InstallLocation;
  name?: string;
  displayName?: string;
  env?: Env;
  /** Folders to build compiler snapshots for (default: the current folder and the home folder; [] for none). */
  snapshotFolders?: string[];
}

/** Writes the kernelspec; returns the kernelspec directory. */
export function installKernelSpec(opts: InstallOptions = {}): string {
  const name = validateKernelName(opts.name ?? DEFAULT_KERNEL_NAME);
  const dir = path.join(dataDir(opts.location ?? { kind: "user" }, opts.env), "kernels", name);
  fs.mkdirSync(dir, { recursive: true });
  const spec = buildKernelSpec(opts.displayName ?? DEFAULT_DISPLAY_NAME);
  fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
  for (const size of [32, 64]) {
    fs.writeFileSync(path.join(dir, `logo-${size}x${size}.png`), renderLogoPng(size));
  }
  prepareCompilerSnapshots(opts.snapshotFolders ?? [process.cwd(), os.homedir()], { ...process.env, ...opts.env });
  return dir;
}

/**
 * Starts the background builds of the compiler snapshots kernels in `folders` will look for
 * (one per distinct set of @types; none already built or being built). A snapshot that cannot
 * be built is no install error: the first kernel then compiles cold and builds it itself.
 * Returns the blobs being built.
 */
export function prepareCompilerSnapshots(folders: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const building: string[] = [];
  for (const folder of folders) {
    try {
      const blob = prepareSnapshot(folder, env);
      if (blob) building.push(blob);
    } catch {
      // a folder that cannot be read: its first kernel builds the snapshot
    }
  }
  return building;
}

export interface UninstallOptions {
  /** Without a location, every directory Jupyter searches is cleaned. */
  location?: InstallLocation;
  name?: string;
  env?: Env;
}

/** Removes the kernelspec; returns the directories removed. Throws NOT_INSTALLED if none. */
export function uninstallKernelSpec(opts: UninstallOptions = {}): string[] {
  const name = validateKernelName(opts.name ?? DEFAULT_KERNEL_NAME);
  const roots = opts.location ? [dataDir(opts.location, opts.env)] : jupyterDataPath(opts.env);
  const removed: string[] = [];
  for (const root of roots) {
    const dir = path.join(root, "kernels", name);
    if (fs.existsSync(path.join(dir, "kernel.json"))) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  if (removed.length === 0) {
    throw new InstallError(
      "NOT_INSTALLED",
      `no kernelspec named ${JSON.stringify(name)} in ${roots.map((r) => path.join(r, "kernels")).join(", ")}`,
    );
  }
  return removed;
}

/** The kernelspec Jupyter would pick for `name`: first match along its data path. */
export function findKernelSpec(name: string, env: Env = process.env): { dir: string; spec: KernelSpec } | undefined {
  for (const root of jupyterDataPath(env)) {
    const dir = path.join(root, "kernels", name);
    const file = path.join(dir, "kernel.json");
    if (fs.existsSync(file)) return { dir, spec: JSON.parse(fs.readFileSync(file, "utf8")) as KernelSpec };
  }
  return undefined;
}
