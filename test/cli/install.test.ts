// `tslab-mlflow install/uninstall` against Debian's own `jupyter kernelspec list`,
// in private data dirs, plus the CLI's answers to bad input.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { jupyterSysPrefix } from "../../cli/install.js";
import { snapshotArgs } from "../../kernel/compiler/cache.js";
import { CLI_MAIN, makeTempDir, REPO_ROOT, rmTempDir, SYSTEM_JUPYTER } from "../support/paths.js";
import { run, runCli } from "../support/run.js";
import { waitForFile } from "../support/wait-for-file.js";

let tmp: string | undefined;
afterEach(() => {
  rmTempDir(tmp);
  tmp = undefined;
});

function envFor(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    JUPYTER_DATA_DIR: path.join(dir, "user"),
    JUPYTER_PATH: "",
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    // Compiler snapshots are the business of the tests that build them (below).
    TSLAB_MLFLOW_COMPILER_SNAPSHOT: "0",
    ...extra,
  };
}

async function listSpecs(env: NodeJS.ProcessEnv): Promise<Record<string, { resource_dir: string; spec: Record<string, unknown> }>> {
  const r = await run(SYSTEM_JUPYTER, ["kernelspec", "list", "--json"], { env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).kernelspecs;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = fs.readFileSync(file);
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

describe("install / uninstall", () => {
  it("installs into JUPYTER_DATA_DIR by default and jupyter kernelspec list shows it", async () => {
    tmp = makeTempDir("install");
    const env = envFor(tmp);
    const r = await runCli(["install"], { env });
    expect(r.status, r.stderr).toBe(0);
    const dir = path.join(tmp, "user", "kernels", "tslab-mlflow");
    expect(r.stdout).toContain(dir);

    const specs = await listSpecs(env);
    expect(specs["tslab-mlflow"].resource_dir).toBe(dir);
    const spec = specs["tslab-mlflow"].spec as { argv: string[]; language: string; display_name: string; interrupt_mode: string };
    expect(spec.language).toBe("typescript");
    expect(spec.display_name).toBe("TypeScript (tslab-mlflow)");
    expect(spec.interrupt_mode).toBe("message");
    expect(path.isAbsolute(spec.argv[0])).toBe(true);
    expect(fs.realpathSync(spec.argv[0])).toBe(fs.realpathSync(process.execPath));
    expect(spec.argv.slice(1)).toEqual([CLI_MAIN, "kernel", "--connection-file", "{connection_file}"]);
    expect(pngSize(path.join(dir, "logo-32x32.png"))).toEqual([32, 32]);
    expect(pngSize(path.join(dir, "logo-64x64.png"))).toEqual([64, 64]);

    const u = await runCli(["uninstall"], { env });
    expect(u.status, u.stderr).toBe(0);
    expect(u.stdout).toContain(dir);
    expect(fs.existsSync(dir)).toBe(false);
    expect(Object.keys(await listSpecs(env))).not.toContain("tslab-mlflow");
  });

  it("honours --name, --display-name and --prefix; JUPYTER_PATH makes Jupyter find the prefix", async () => {
    tmp = makeTempDir("install");
    const prefix = path.join(tmp, "prefix");
    const env = envFor(tmp, { JUPYTER_PATH: path.join(prefix, "share", "jupyter") });
    const r = await runCli(["install", "--prefix", prefix, "--name", "ts-test.1", "--display-name", "TS test"], { env });
    expect(r.status, r.stderr).toBe(0);
    const dir = path.join(prefix, "share", "jupyter", "kernels", "ts-test.1");
    expect(fs.existsSync(path.join(dir, "kernel.json"))).toBe(true);
    const specs = await listSpecs(env);
    expect(specs["ts-test.1"].resource_dir).toBe(dir);
    expect(specs["ts-test.1"].spec.display_name).toBe("TS test");

    // Without a location, uninstall searches every dir Jupyter does, JUPYTER_PATH included.
    const u = await runCli(["uninstall", "--name", "ts-test.1"], { env });
    expect(u.status, u.stderr).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("--sys-prefix installs under the prefix of the Python behind `jupyter` on PATH", async () => {
    tmp = makeTempDir("install");
    const venv = path.join(tmp, "venv");
    fs.mkdirSync(path.join(venv, "bin"), { recursive: true });
    fs.writeFileSync(path.join(venv, "bin", "jupyter"), `#!${venv}/bin/python3.11\nimport sys\n`, { mode: 0o755 });
    const env = envFor(tmp, { PATH: `${path.join(venv, "bin")}:${process.env.PATH}` });
    expect(jupyterSysPrefix(env)).toBe(venv);
    expect(jupyterSysPrefix({ PATH: "/usr/bin" })).toBe("/usr");

    const r = await runCli(["install", "--sys-prefix"], { env });
    expect(r.status, r.stderr).toBe(0);
    const dir = path.join(venv, "share", "jupyter", "kernels", "tslab-mlflow");
    expect(fs.existsSync(path.join(dir, "kernel.json"))).toBe(true);
    // The user dir was left alone.
    expect(fs.existsSync(path.join(tmp, "user", "kernels", "tslab-mlflow"))).toBe(false);

    const u = await runCli(["uninstall", "--sys-prefix"], { env });
    expect(u.status, u.stderr).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe("install prepares the compiler snapshot", () => {
  /** The built cache module (its snapshot key names the built snapshot entry, as a kernel's does). */
  const cache = () =>
    import(pathToFileURL(path.join(REPO_ROOT, "dist", "kernel", "compiler", "cache.js")).href) as Promise<
      typeof import("../../kernel/compiler/cache.js")
    >;

  it("starts building, in the background, the snapshot a kernel in the current folder and one in the home folder look for; a second install builds nothing", async () => {
    tmp = makeTempDir("install-snapshot");
    const project = path.join(tmp, "project");
    const home = path.join(tmp, "home");
    // The project sees an @types package the home folder does not: two keys, two snapshots.
    fs.mkdirSync(path.join(project, "node_modules", "@types", "only-here"), { recursive: true });
    fs.writeFileSync(
      path.join(project, "node_modules", "@types", "only-here", "package.json"),
      '{"name":"@types/only-here","types":"index.d.ts"}\n',
    );
    fs.writeFileSync(path.join(project, "node_modules", "@types", "only-here", "index.d.ts"), "declare const onlyHere: number;\n");
    fs.mkdirSync(home);
    const env = envFor(tmp, { TSLAB_MLFLOW_CACHE_DIR: path.join(tmp, "cache"), HOME: home, TSLAB_MLFLOW_COMPILER_SNAPSHOT: "" });
    const { snapshotFor } = await cache();
    const forProject = snapshotFor(project, env).blob;
    const forHome = snapshotFor(home, env).blob;
    expect(forProject).not.toBe(forHome);

    const r = await runCli(["install"], { env, cwd: project });
    expect(r.status, r.stderr).toBe(0);
    // Both builds are under way when install returns (each holds its lock), and each ends in its blob.
    expect(fs.existsSync(`${forProject}.build`) || fs.existsSync(forProject)).toBe(true);
    expect(fs.existsSync(`${forHome}.build`) || fs.existsSync(forHome)).toBe(true);
    // A build writes a .partial file and renames it: the blob appears whole, the .partial goes.
    await Promise.all([waitForFile(forProject, 240_000), waitForFile(forHome, 240_000)]);
    const partials = () => fs.readdirSync(path.dirname(forProject)).filter((n) => n.endsWith(".partial"));
    expect(partials()).toEqual([]);

    // The snapshot restores under the compiler's V8 flags and serves: a compiler service started from it listens (and, idle at once, exits cleanly).
    const restored = await run(process.execPath, snapshotArgs(forProject), {
      env: { ...env, TSLAB_MLFLOW_COMPILER_LISTEN: path.join(tmp, "s.sock"), TSLAB_MLFLOW_COMPILER_IDLE_MS: "0" },
      cwd: project,
    });
    expect(restored.status, restored.stderr).toBe(0);

    const again = await runCli(["install"], { env, cwd: project });
    expect(again.status, again.stderr).toBe(0);
    expect(partials()).toEqual([]);
  }, 300_000);

  it("builds nothing when compiler snapshots are off", async () => {
    tmp = makeTempDir("install-no-snapshot");
    const cacheDir = path.join(tmp, "cache");
    const env = envFor(tmp, { TSLAB_MLFLOW_CACHE_DIR: cacheDir, HOME: tmp });
    const r = await runCli(["install"], { env, cwd: tmp });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []).toEqual([]);
  });
});

describe("the command itself", () => {
  it("prints the package version and lists its subcommands", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(CLI_MAIN), "..", "..", "package.json"), "utf8"));
    const v = await runCli(["--version"]);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = await runCli(["--help"]);
    expect(h.status).toBe(0);
    for (const sub of ["install", "uninstall", "kernel"]) expect(h.stdout).toMatch(new RegExp(`^  ${sub} `, "m"));
  });
});

describe("bad CLI input gets usage text and a non-zero exit", () => {
  const cases: [string, string[], RegExp][] = [
    ["two locations", ["install", "--user", "--prefix", "/tmp/x"], /cannot be used with/],
    ["a kernel name Jupyter refuses", ["install", "--name", "bad name!"], /invalid kernel name "bad name!".*letters, digits/],
    ["--prefix without a value", ["install", "--prefix"], /argument missing/],
    ["an empty --prefix", ["install", "--prefix", ""], /--prefix needs a directory/],
    ["an unknown option", ["install", "--bogus"], /unknown option '--bogus'/],
    ["an unknown command", ["instal"], /unknown command 'instal'[\s\S]*Did you mean install/],
    ["kernel without --connection-file", ["kernel"], /required option '--connection-file <file>'/],
    ["an extra argument", ["uninstall", "extra"], /too many arguments/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      tmp = makeTempDir("install");
      const r = await runCli(args, { env: envFor(tmp) });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/Usage: tslab-mlflow/);
      // Nothing was written.
      expect(fs.existsSync(path.join(tmp, "user", "kernels"))).toBe(false);
    });
  }

  it("kernel with an unreadable or bad connection file names the file and the problem", async () => {
    tmp = makeTempDir("install");
    const missing = path.join(tmp, "missing.json");
    const r = await runCli(["kernel", "--connection-file", missing], { env: envFor(tmp) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot read connection file ${missing}`);

    const bad = path.join(tmp, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ ip: "127.0.0.1", key: "k", shell_port: "x" }));
    const b = await runCli(["kernel", "--connection-file", bad], { env: envFor(tmp) });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/shell_port is "x"; expected an integer port/);
  });

  it("uninstalling what is not installed names it and where it looked", async () => {
    tmp = makeTempDir("install");
    const r = await runCli(["uninstall", "--name", "not-there"], { env: envFor(tmp) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`no kernelspec named "not-there" in ${path.join(tmp, "user", "kernels")}`);
  });
});
