// The compiler service shared by a user's kernels (kernel/compiler/shared.ts, shared-service.ts):
// kernels started at the same moment share one service, each in a session of its own; type
// errors still stop a cell; a service killed mid-cell, a corrupt snapshot, an unusable cache
// folder each leave the cell running (on the kernel's own compiler) with a one-line warning,
// and the next start repairs; projects with different @types never share a checker.
// Spawned kernels over real ZeroMQ, real Unix sockets, each test with its own cache folder.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { KernelClient } from "../../jupyter-client/index.js";
import { ROOT, resultText, startTestKernel, stdout, tempDir } from "./helpers.js";

const kernels: KernelClient[] = [];
const caches: string[] = [];
const mounts: string[] = [];

/** A fresh cache folder and the environment of kernels using it (services exit 3 s after their last kernel). */
function freshCache(dir = tempDir("tslab-mlflow-service-cache-")): { cache: string; env: NodeJS.ProcessEnv } {
  caches.push(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, TSLAB_MLFLOW_CACHE_DIR: dir, TSLAB_MLFLOW_COMPILER_IDLE_MS: "3000" };
  delete env.TSLAB_MLFLOW_COMPILER_SNAPSHOT;
  delete env.TSLAB_MLFLOW_COMPILER_SERVICE;
  return { cache: dir, env };
}

async function start(cwd: string, env: NodeJS.ProcessEnv): Promise<KernelClient> {
  const k = await startTestKernel({ cwd, env });
  kernels.push(k);
  return k;
}

/** A project folder with its own `node_modules/@types/<name>` declaring `source`. */
function project(name: string, source: string): string {
  const dir = tempDir("tslab-mlflow-project-");
  const types = path.join(dir, "node_modules", "@types", name);
  fs.mkdirSync(types, { recursive: true });
  fs.writeFileSync(path.join(types, "package.json"), JSON.stringify({ name: `@types/${name}`, version: "1.0.0", types: "index.d.ts" }));
  fs.writeFileSync(path.join(types, "index.d.ts"), source);
  return dir;
}

/** Pids of the services whose pid files are in `cache` (or, `.build`, the process groups of snapshot builds). */
function servicePids(cache: string, ext = ".pid"): number[] {
  if (!fs.existsSync(cache)) return [];
  return fs
    .readdirSync(cache)
    .filter((n) => n.endsWith(ext))
    .map((n) => Number(fs.readFileSync(path.join(cache, n), "utf8")))
    .filter((pid) => pid > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kill(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function waitFor(what: string, done: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The kernel's log so far (its stderr), once `pattern` has appeared in it. */
async function logShows(k: KernelClient, pattern: RegExp): Promise<string> {
  await waitFor(`${pattern} in the kernel log`, () => pattern.test(k.stderrTail), 30_000);
  return k.stderrTail;
}

const SESSION = /a session in the shared compiler service (\S+\.sock)/;

/** A tmpfs mounted with `options` (root only); undefined where mounting is not allowed. */
function mountTmpfs(options: string): string | undefined {
  const dir = tempDir("tslab-mlflow-mount-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  mounts.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close().catch(() => {})));
});

afterAll(() => {
  for (const cache of caches) {
    for (const pid of servicePids(cache)) kill(pid);
    for (const group of servicePids(cache, ".build")) kill(-group);
    fs.rmSync(cache, { recursive: true, force: true });
  }
  for (const dir of mounts) {
    try {
      execFileSync("umount", ["-l", dir], { stdio: "ignore" });
    } catch {
      // left to the system
    }
  }
});

describe("the shared compiler service", () => {
  it("two kernels started at the same moment share one service, each in a session of its own", async () => {
    const { cache, env } = freshCache();
    const cwd = tempDir();
    const [a, b] = await Promise.all([start(cwd, env), start(cwd, env)]);
    const [ra, rb] = await Promise.all([
      a.execute("const onlyInA: number = 41;\nonlyInA + 1"),
      b.execute("const mine: string = 'b';\nmine"),
    ]);
    expect(resultText(ra)).toBe("42");
    expect(resultText(rb)).toBe("'b'");
    const socketA = (await logShows(a, SESSION)).match(SESSION)?.[1];
    const socketB = (await logShows(b, SESSION)).match(SESSION)?.[1];
    expect(socketA).toBe(socketB);
    expect(servicePids(cache)).toHaveLength(1);
    // A notebook never sees another's declarations.
    const unseen = await b.execute("onlyInA");
    expect(unseen.reply.content.evalue).toMatch(/TS2304: Cannot find name 'onlyInA'/);
    // The service is private to its user.
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    expect(fs.statSync(socketA as string).mode & 0o777).toBe(0o600);
  }, 120_000);

  it("a kernel `tslab-mlflow run` spawns: the service is started and makes its converter before it connects, and it takes that one", async () => {
    const { cache, env } = freshCache();
    const cwd = tempDir();
    const { compilerForKernel } = (await import(
      pathToFileURL(path.join(ROOT, "dist", "kernel", "compiler", "index.js")).href
    )) as typeof import("../../kernel/compiler/index.js");
    // As run does beside the kernel's spawn: no compiler to hand over when the service is on, but the service prepared.
    expect(compilerForKernel(cwd, env)).toBeUndefined();
    const serviceLog = () => {
      const log = fs.readdirSync(cache).find((n) => /^[0-9a-f]+\.log$/.test(n));
      return log ? fs.readFileSync(path.join(cache, log), "utf8") : "";
    };
    const made = () =>
      serviceLog()
        .split("\n")
        .filter((l) => l === `spare converter ready for ${path.resolve(cwd)}`).length;
    await waitFor("the converter made ahead", () => made() === 1);
    const k = await start(cwd, env);
    expect(resultText(await k.execute("const n: number = 41;\nn + 1"))).toBe("42");
    await logShows(k, SESSION);
    // The kernel's session took it: the service makes the folder's next spare once the session is quiet.
    await waitFor("the folder's next spare", () => made() === 2);
    expect(serviceLog()).not.toMatch(/dropped/);
  });

  it("a cache folder too deep for a socket address (over 107 bytes) still gets one shared service", async () => {
    let deep = tempDir("tslab-mlflow-service-cache-");
    while (Buffer.byteLength(path.join(deep, "x".repeat(24) + ".sock")) <= 120) deep = path.join(deep, "deeper-folder");
    const { cache, env } = freshCache(deep);
    const cwd = tempDir();
    const a = await start(cwd, env);
    expect(resultText(await a.execute("const n: number = 1;\nn + 1"))).toBe("2");
    const socket = (await logShows(a, SESSION)).match(SESSION)?.[1] as string;
    expect(Buffer.byteLength(socket)).toBeGreaterThan(107);
    expect(path.dirname(socket)).toBe(cache);
    const b = await start(cwd, env);
    expect((await b.execute("const m: string = 1;")).reply.content.evalue).toMatch(/TS2322/);
    expect((await logShows(b, SESSION)).match(SESSION)?.[1]).toBe(socket);
    expect(servicePids(cache)).toHaveLength(1);
    for (const k of [a, b]) expect(k.stderrTail).not.toMatch(/compiler service unavailable/);
  }, 120_000);

  it("kernels in two folders share the service, each compiling its own folder's local modules", async () => {
    const { env } = freshCache();
    const [one, two] = [tempDir(), tempDir()];
    fs.writeFileSync(path.join(one, "local.ts"), "export const where: string = 'one';\n");
    fs.writeFileSync(path.join(two, "local.ts"), "export const where: number = 2;\n");
    const [k1, k2] = await Promise.all([start(one, env), start(two, env)]);
    const [r1, r2] = await Promise.all([
      k1.execute('import { where } from "./local";\nwhere'),
      k2.execute('import { where } from "./local";\nwhere'),
    ]);
    expect(resultText(r1)).toBe("'one'");
    expect(resultText(r2)).toBe("2");
    // Checked against its own folder's module: `where` is a number only in the second.
    expect((await k2.execute("const n: number = where;")).reply.content.status).toBe("ok");
    expect((await k1.execute("const n: number = where;")).reply.content.evalue).toMatch(/TS2322/);
    expect((await logShows(k1, SESSION)).match(SESSION)?.[1]).toBe((await logShows(k2, SESSION)).match(SESSION)?.[1]);
  }, 120_000);

  it("a type error still stops the first cell, and the next kernel's cells are checked by the same service", async () => {
    const { cache, env } = freshCache();
    const cwd = tempDir();
    const first = await start(cwd, env);
    const r = await first.execute('const n: string = 1;\nconsole.log("ran");');
    expect(r.reply.content.status).toBe("error");
    expect(r.reply.content.evalue).toMatch(/TS2322: Type 'number' is not assignable to type 'string'/);
    expect(stdout(r)).toBe("");
    const [pid] = servicePids(cache);
    const second = await start(cwd, env);
    const r2 = await second.execute('const m: number = "x";\nconsole.log("ran");');
    expect(r2.reply.content.evalue).toMatch(/TS2322: Type 'string' is not assignable to type 'number'/);
    expect(stdout(r2)).toBe("");
    expect(await logShows(second, SESSION)).toMatch(SESSION);
    expect(servicePids(cache)).toEqual([pid]);
  }, 120_000);

  it("a service killed mid-cell: the cell is answered by the kernel's own compiler, with a one-line warning, and the next kernel starts a new service", async () => {
    const { cache, env } = freshCache();
    const cwd = tempDir();
    const k = await start(cwd, env);
    expect(resultText(await k.execute("1 + 1"))).toBe("2");
    const [pid] = servicePids(cache);
    // Stopped, the service cannot answer the cell's request; killed, it never will.
    kill(pid, "SIGSTOP");
    const started = new Promise<void>((resolve) => {
      const stop = k.onIopub((m) => {
        if (m.header.msg_type === "execute_input") {
          stop();
          resolve();
        }
      });
    });
    const pending = k.execute("const late: number = 6 * 7;\nlate", { timeout: 120_000 });
    await started;
    kill(pid);
    const r = await pending;
    expect(resultText(r)).toBe("42");
    const log = await logShows(k, /warning: compiler service \S+ (went away|failed: [^\n]*); this kernel compiles on its own from now on/);
    expect(log.split("\n").filter((l) => l.includes("warning: compiler service"))).toHaveLength(1);
    // Still type-checked on the kernel's own compiler.
    const typed = await k.execute("const s: string = late;");
    expect(typed.reply.content.evalue).toMatch(/TS2322/);
    // The next start repairs: a new service takes the socket left behind.
    const next = await start(cwd, env);
    expect(resultText(await next.execute("const again: number = 1;\nagain"))).toBe("1");
    expect(await logShows(next, SESSION)).toMatch(SESSION);
    const [newPid] = servicePids(cache);
    expect(newPid).not.toBe(pid);
    expect(alive(newPid)).toBe(true);
  }, 180_000);

  it("a corrupt snapshot: the cell still runs with a warning, the snapshot is dropped, the next start serves again", async () => {
    const { cache, env } = freshCache();
    const cwd = tempDir();
    const built = pathToFileURL(path.join(ROOT, "dist", "kernel", "compiler", "cache.js")).href;
    const { snapshotFor } = (await import(built)) as typeof import("../../kernel/compiler/cache.js");
    const { blob } = snapshotFor(cwd, env);
    fs.mkdirSync(cache, { recursive: true });
    fs.writeFileSync(blob, "not a V8 snapshot");
    const k = await start(cwd, env);
    const r = await k.execute("const t: number = 40;\nt + 2");
    expect(resultText(r)).toBe("42");
    const log = await logShows(k, /warning: compiler service unavailable \(compiler service did not start/);
    expect(log).toMatch(/did not start .*using a worker/);
    await waitFor("the corrupt snapshot to be dropped", () => !fs.existsSync(blob));
    const next = await start(cwd, env);
    expect(resultText(await next.execute("const u: number = 1;\nu"))).toBe("1");
    expect(await logShows(next, SESSION)).toMatch(SESSION);
  }, 180_000);

  it("projects with different @types get different services: each checks against its own declarations", async () => {
    const { cache, env } = freshCache();
    const a = project("fixture-a", "type FixtureValue = number;\n");
    const b = project("fixture-a", "type FixtureValue = string;\n");
    const ka = await start(a, env);
    const kb = await start(b, env);
    const ra = await ka.execute("const x: FixtureValue = 1;");
    const rb = await kb.execute("const x: FixtureValue = 1;");
    expect(ra.reply.content.evalue).toBeUndefined();
    expect(rb.reply.content.evalue).toMatch(/TS2322: Type 'number' is not assignable to type 'string'/);
    const socketA = (await logShows(ka, SESSION)).match(SESSION)?.[1];
    const socketB = (await logShows(kb, SESSION)).match(SESSION)?.[1];
    expect(socketA).not.toBe(socketB);
    expect(servicePids(cache)).toHaveLength(2);
  }, 180_000);

  it("a declaration file edited while the service runs is read again by the next kernel", async () => {
    const { cache, env } = freshCache();
    const dir = project("fixture-edit", "type EditedValue = number;\n");
    const k1 = await start(dir, env);
    expect((await k1.execute("const v: EditedValue = 1;")).reply.content.status).toBe("ok");
    // The service has a converter ready for the next kernel in this folder, made before the edit.
    const serviceLog = () =>
      fs
        .readdirSync(cache)
        .filter((n) => n.endsWith(".log"))
        .map((n) => fs.readFileSync(path.join(cache, n), "utf8"))
        .join("");
    await waitFor("the spare converter", () => serviceLog().includes(`spare converter ready for ${dir}`));
    fs.writeFileSync(path.join(dir, "node_modules", "@types", "fixture-edit", "index.d.ts"), "type EditedValue = string;\n");
    const k2 = await start(dir, env);
    const r = await k2.execute("const v: EditedValue = 1;");
    expect(r.reply.content.evalue).toMatch(/TS2322: Type 'number' is not assignable to type 'string'/);
    expect((await logShows(k1, SESSION)).match(SESSION)?.[1]).toBe((await logShows(k2, SESSION)).match(SESSION)?.[1]);
    expect(serviceLog()).toContain(`spare converter for ${dir} dropped: a declaration file changed since it was made`);
  }, 180_000);

  it("a cache folder that cannot be written: the cell runs on the kernel's own compiler with a one-line warning", async (ctx) => {
    const readOnly = mountTmpfs("ro,size=64k");
    if (!readOnly) return ctx.skip("mounting a read-only tmpfs is not allowed here");
    const { env } = freshCache(path.join(readOnly, "cache"));
    const k = await start(tempDir(), env);
    const r = await k.execute("const w: number = 2;\nw * 21");
    expect(resultText(r)).toBe("42");
    const wrong = await k.execute("const z: string = w;");
    expect(wrong.reply.content.evalue).toMatch(/TS2322/);
    const log = await logShows(k, /warning: compiler service unavailable/);
    expect(log.split("\n").filter((l) => l.includes("warning: compiler service"))).toHaveLength(1);
  }, 120_000);

  it("a full cache folder: the cell still runs", async (ctx) => {
    const full = mountTmpfs("size=16k,nr_inodes=8");
    if (!full) return ctx.skip("mounting a tmpfs is not allowed here");
    fs.mkdirSync(path.join(full, "cache"), { mode: 0o700 });
    // Fill what is left.
    try {
      for (let i = 0; ; i++) fs.writeFileSync(path.join(full, "cache", `fill-${i}`), Buffer.alloc(4096));
    } catch {
      // full
    }
    const { env } = freshCache(path.join(full, "cache"));
    const k = await start(tempDir(), env);
    const r = await k.execute("const f: number = 40;\nf + 2");
    expect(resultText(r)).toBe("42");
    expect((await k.execute("const g: string = f;")).reply.content.evalue).toMatch(/TS2322/);
  }, 120_000);
});
