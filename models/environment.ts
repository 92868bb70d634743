// The environment that reproduces a model, the TypeScript analog of MLflow's
// `requirements.txt`/`conda.yaml`: a `package.json` in the model folder listing the npm
// packages the model's code imports at their exact installed versions, the Node.js version
// and the tslab-mlflow version that wrote it. `npm install` in the folder restores them.

import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { invalidParameter } from "../tracking/index.js";

export const ENVIRONMENT_FILE = "package.json";

export interface ModelEnvironment {
  name: string;
  private: true;
  description: string;
  dependencies: Record<string, string>;
  engines: { node: string };
  /** Who wrote the model: tslab-mlflow's version and the exact Node.js version. */
  tslabMlflow: { version: string; node: string };
}

/** `lodash/fp` → `lodash`, `@scope/pkg/sub` → `@scope/pkg`; node: built-ins → undefined. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith("node:") || specifier.startsWith(".") || specifier.startsWith("/")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  return BUILTINS.has(name) ? undefined : name;
}

const BUILTINS = new Set([
  "assert",
  "buffer",
  "child_process",
  "cluster",
  "crypto",
  "dgram",
  "dns",
  "events",
  "fs",
  "http",
  "http2",
  "https",
  "module",
  "net",
  "os",
  "path",
  "perf_hooks",
  "process",
  "querystring",
  "readline",
  "stream",
  "string_decoder",
  "timers",
  "tls",
  "tty",
  "url",
  "util",
  "v8",
  "vm",
  "worker_threads",
  "zlib",
]);

/** The version of `name` that Node would load from `fromDir` (nearest node_modules upwards). */
export function installedVersion(name: string, fromDir: string): string | undefined {
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const file = join(dir, "node_modules", name, "package.json");
    if (existsSync(file)) {
      try {
        return String(JSON.parse(readFileSync(file, "utf8")).version);
      } catch {
        return undefined;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

let ownVersion: string | undefined;
/** tslab-mlflow's own version, from its package.json (found upwards from this module, in dist/ or not). */
export function tslabMlflowVersion(): string {
  if (ownVersion) return ownVersion;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8"));
      if (pkg.name === "tslab-mlflow") return (ownVersion = String(pkg.version));
    }
    if (dirname(dir) === dir) return (ownVersion = "unknown");
  }
}

/**
 * The environment for packages imported by the model's code, resolved from `fromDir`. A package
 * that is imported but not installed is an error naming it: the model could not be loaded again.
 */
export function modelEnvironment(packages: Iterable<string>, fromDir: string, extra: Record<string, string> = {}): ModelEnvironment {
  const dependencies: Record<string, string> = { ...extra };
  for (const name of [...new Set(packages)].sort()) {
    const version = installedVersion(name, fromDir);
    if (!version)
      throw invalidParameter(
        `The model imports the npm package ${JSON.stringify(name)}, which is not installed from ${fromDir}: run npm install ${name} there first.`,
      );
    dependencies[name] = version;
  }
  return {
    name: "mlflow-model",
    private: true,
    description: "The npm packages this MLflow model imports, at the versions it was logged with (npm install restores them).",
    dependencies,
    engines: { node: process.versions.node },
    tslabMlflow: { version: tslabMlflowVersion(), node: process.version },
  };
}

export async function writeEnvironment(dir: string, env: ModelEnvironment): Promise<void> {
  await writeFile(join(dir, ENVIRONMENT_FILE), JSON.stringify(env, null, 2) + "\n");
}
