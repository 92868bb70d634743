// Warm compiler snapshots: the first kernel in a project builds one in the background,
// the next kernel starts its compiler from it (or is handed one started beside it) and
// compiles exactly as a cold one does; a changed declaration file is read again, and a
// snapshot that cannot start is dropped.
// Spawned kernels over real ZeroMQ, with their own cache folder.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { KernelClient } from "../../jupyter-client/index.js";
import type { CompilerHandOver } from "../../kernel/compiler/index.js";
import { ROOT, resultText, startTestKernel, tempDir } from "./helpers.js";

let cache: string;
let cwd: string;
let env: NodeJS.ProcessEnv;
const kernels: KernelClient[] = [];

/** A typed package of our own under the project's @types, so its file is one the snapshot holds. */
function writeTypes(valueType: string): void {
  const dir = path.join(cwd, "node_modules", "@types", "fixture-globals");
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: "@types/fixture-globals", version: "1.0.0", types: "index.d.ts" }),
    );
  }
  fs.writeFileSync(path.join(dir, "index.d.ts"), `type FixtureValue = ${valueType};\n`);
}

async function start(): Promise<KernelClient> {
  const k = await startTestKernel({ cwd, env });
  kernels.push(k);
  return k;
}

function blobs(): string[] {
  return fs.existsSync(cache)
    ? fs
        .readdirSync(cache)
        .filter((n) => n.endsWith(".blob"))
        .map((n) => path.join(cache, n))
    : [];
}

async function waitFor(what: string, done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function kernelLog(k: KernelClient): Promise<string> {
  await new Promise((r) => setTimeout(r, 100)); // the last lines may still be in the pipe
  return k.stderrTail;
}

/** Results that show the whole compiler works: types, errors, completion, quick info, awaits, a local module. */
async function exercise(k: KernelClient) {
  const value = await k.execute("const doubled: number[] = [1, 2, 3].map((n) => n * 2);\ndoubled.join(',')");
  const typeError = await k.execute("const wrong: string = 1;");
  const complete = await k.request("shell", "complete_request", { code: "process.versi", cursor_pos: 13 }, { timeout: 30_000 });
  const inspect = await k.request("shell", "inspect_request", { code: "Math.max", cursor_pos: 6 }, { timeout: 30_000 });
  const awaited = await k.execute("const later = await new Promise<number>((r) => setTimeout(() => r(7), 5));\nlater + 1");
  const local = await k.execute('import { twice } from "./helper";\ntwice(21)');
  return {
    value: resultText(value),
    typeError: typeError.reply.content.evalue,
    matches: (complete.content.matches as string[]).includes("version"),
    inspect: String((inspect.content.data as Record<string, unknown>)["text/plain"] ?? "").split("\n")[0],
    awaited: resultText(awaited),
    local: resultText(local),
  };
}

beforeAll(() => {
  cache = tempDir("tslab-mlflow-cache-");
  cwd = tempDir();
  // Each kernel its own compiler (the shared service is compiler-service.test.ts's).
  env = { ...process.env, TSLAB_MLFLOW_CACHE_DIR: cache, TSLAB_MLFLOW_COMPILER_SERVICE: "0" };
  delete env.TSLAB_MLFLOW_COMPILER_SNAPSHOT;
  fs.writeFileSync(path.join(cwd, "helper.ts"), "export function twice(n: number): number { return n * 2; }\n");
  writeTypes("number");
});

afterAll(async () => {
  await Promise.all(kernels.map((k) => k.close().catch(() => {})));
});

describe("compiler snapshots", () => {
  let cold: Awaited<ReturnType<typeof exercise>>;

  it("the first kernel in a project compiles cold and builds the project's snapshot in the background", async () => {
    expect(blobs()).toEqual([]);
    const k = await start();
    cold = await exercise(k);
    expect(cold).toEqual({
      value: "'2,4,6'",
      typeError: expect.stringMatching(/TS2322: Type 'number' is not assignable to type 'string'/),
      matches: true,
      inspect: expect.stringContaining("Math.max(...values: number[]): number"),
      awaited: "8",
      local: "42",
    });
    expect(await kernelLog(k)).toMatch(/compiler snapshot: building .*\.blob/);
    await k.shutdown();
    // The build outlives the kernel that started it.
    await waitFor("the snapshot to be built", () => blobs().length === 1, 180_000);
    // A build that succeeds leaves no output behind (a failed one's stays: snapshot-build-failure.test.ts).
    const [blob] = blobs();
    await waitFor("the build to end", () => !fs.existsSync(`${blob}.build`), 10_000);
    expect(fs.readdirSync(cache).filter((n) => n.endsWith(".build.log"))).toEqual([]);
  }, 240_000);

  it("the next kernel starts its compiler from the snapshot and compiles exactly as the cold one", async () => {
    const k = await start();
    const warm = await exercise(k);
    expect(warm).toEqual(cold);
    const log = await kernelLog(k);
    expect(log).toMatch(/TypeScript compiler starting from snapshot/);
    expect(log).not.toMatch(/did not start/);
    await k.shutdown();
  }, 120_000);

  it("a kernel in another folder of the same project starts from the same snapshot, in its own folder", async () => {
    const sub = path.join(cwd, "analysis");
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, "local.ts"), "export const where = 'analysis';\n");
    const k = await startTestKernel({ cwd: sub, env });
    kernels.push(k);
    const local = await k.execute('import { where } from "./local";\nwhere');
    const typed = await k.execute("const f: FixtureValue = 3;\nf");
    expect(resultText(local)).toBe("'analysis'");
    expect(resultText(typed)).toBe("3");
    expect(await kernelLog(k)).toMatch(/starting from snapshot/);
    expect(blobs()).toHaveLength(1);
    await k.shutdown();
  }, 120_000);

  it("a compiler handed to the kernel at spawn (as `tslab-mlflow run` does) serves it, and stops with it", async () => {
    // The built module, as the CLI runs it: the snapshot entry it keys on exists only in dist/.
    const built = pathToFileURL(path.join(ROOT, "dist", "kernel", "compiler", "index.js")).href;
    const { compilerForKernel } = (await import(built)) as typeof import("../../kernel/compiler/index.js");
    let handOver: CompilerHandOver | undefined;
    let spawns = 0;
    const k = await startTestKernel({
      cwd,
      env,
      inherit: () => {
        spawns++;
        handOver = compilerForKernel(cwd, env);
        return handOver;
      },
    });
    kernels.push(k);
    expect(handOver).toBeDefined();
    const handed = await exercise(k);
    expect(handed).toEqual(cold);
    const log = await kernelLog(k);
    expect(log).toMatch(/TypeScript compiler handed over, started from snapshot/);
    expect(log).not.toMatch(/did not start/);
    // The kernel's cells do not see the hand-over.
    expect(resultText(await k.execute("String(process.env.TSLAB_MLFLOW_COMPILER)"))).toBe("'undefined'");
    const { pid } = JSON.parse(handOver!.env.TSLAB_MLFLOW_COMPILER) as { pid: number };
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    await k.shutdown();
    await waitFor("the handed-over compiler to stop with its kernel", () => !alive(), 10_000);
    expect(spawns).toBe(1);
  }, 120_000);

  it("a declaration file changed since the snapshot was built is read again", async () => {
    const blob = blobs()[0];
    writeTypes("string"); // package.json untouched: the same snapshot fits, this one file does not
    const k = await start();
    const asString = await k.execute('const s: FixtureValue = "text";\ns');
    const asNumber = await k.execute("const n: FixtureValue = 1;");
    expect(resultText(asString)).toBe("'text'");
    expect(asNumber.reply.content.evalue).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(await kernelLog(k)).toMatch(/starting from snapshot/);
    expect(blobs()).toEqual([blob]);
    await k.shutdown();
  }, 120_000);

  it("a kernel killed the moment it answers its first cell has still started the project's build", async () => {
    const fresh = tempDir("tslab-mlflow-cache-");
    const k = await startTestKernel({ cwd, env: { ...env, TSLAB_MLFLOW_CACHE_DIR: fresh } });
    kernels.push(k);
    expect(resultText(await k.execute("1+1"))).toBe("2");
    await k.close(); // SIGKILL at once, as a client that does not wait may
    const built = () => fs.readdirSync(fresh).some((n) => n.endsWith(".blob"));
    await waitFor("the snapshot to be built", built, 180_000);
  }, 240_000);

  it("a snapshot that cannot start is dropped, and a worker compiles instead", async () => {
    const [blob] = blobs();
    fs.writeFileSync(blob, "not a V8 snapshot");
    const k = await start();
    const r = await k.execute("const t: number = 40;\nt + 2");
    expect(resultText(r)).toBe("42");
    expect(await kernelLog(k)).toMatch(/did not start .*using a worker/);
    expect(fs.existsSync(blob)).toBe(false);
    await k.shutdown();
  }, 120_000);
});
