// The extension seam, seen from outside: a kernel started with a test
// extension (fixtures/ext-kernel.mjs) over real ZeroMQ.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import type { KernelClient } from "../../jupyter-client/index.js";
import type { Message } from "../../protocol/messages.js";
import { ofType, resultText, startTestKernel, stdout, tempDir } from "./helpers.js";

const ENTRY = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures", "ext-kernel.mjs");

/** A CommonJS package (with typings) in the notebook's node_modules. */
function writePackage(cwd: string, name: string, files: Record<string, string>): void {
  const dir = path.join(cwd, "node_modules", name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", main: "index.js", types: "index.d.ts" }));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
}

let k: KernelClient;
let cwd: string;
beforeAll(async () => {
  cwd = tempDir();
  writePackage(cwd, "tiny-pkg", {
    "index.js": "exports.n = 1;\n",
    "index.d.ts": "export declare const n: number;\n",
    "sub.js": "exports.m = 2;\n",
    "sub.d.ts": "export declare const m: number;\n",
  });
  writePackage(cwd, "other-pkg", { "index.js": "exports.o = 3;\n", "index.d.ts": "export declare const o: number;\n" });
  writePackage(cwd, "broken-pkg", {
    "index.js": 'throw new Error("broken on load");\n',
    "index.d.ts": "export declare const b: number;\n",
  });
  // A local module that loads a package of its own.
  fs.writeFileSync(path.join(cwd, "uses-other.ts"), 'import { o } from "other-pkg";\nexport const viaLocal = o + 1;\n');
  k = await startTestKernel({
    cwd,
    entry: [process.execPath, ENTRY, "--connection-file", "{connection_file}"],
    env: { ...process.env, JPY_SESSION_NAME: "/notebooks/demo.ipynb" },
  });
});
afterAll(async () => {
  await k?.close();
  fs.rmSync(cwd, { recursive: true, force: true });
});

const json = (r: { outputs: Message[] }) => (ofType(r as never, "display_data")[0].content.data as Record<string, any>)["application/json"];

describe("extension seam", () => {
  it("injects typed globals into every cell; host.run stays silent", async () => {
    const r = await k.execute('const g: Greeting = { text: greet("seam") }; g.text + " " + hiddenSetup');
    expect(r.reply.content.status).toBe("ok");
    expect(resultText(r)).toBe("'hello seam 7'");
    expect(stdout(r)).toBe("");
  });

  it("intercepts a cell before TypeScript and runs code through the executor, twice", async () => {
    const r = await k.execute('%%twice\nconsole.log("body"); 21 * 2');
    expect(r.reply.content.status).toBe("ok");
    expect(stdout(r)).toBe("body\nbody\nvalues: 42 42\n");
    const results = ofType(r, "execute_result");
    expect(results).toHaveLength(1);
    expect(results[0].content.execution_count).toBe(r.reply.content.execution_count);
  });

  it("reports errors from run() as error outputs and an error reply", async () => {
    const r = await k.execute('%%twice\nconst n: number = "x"');
    // The body's line is line 2 of the cell: the magic line counts, as in tracebacks.
    expect(r.reply.content).toMatchObject({
      status: "error",
      ename: "TypeScriptError",
      evalue: `In[${r.reply.content.execution_count}]:2:7 - error TS2322: Type 'string' is not assignable to type 'number'.`,
    });
    expect(ofType(r, "error")).toHaveLength(2);
  });

  it("turns an exception thrown by a magic into an error output; the kernel goes on", async () => {
    const r = await k.execute("%%fail");
    expect(r.reply.content).toMatchObject({ status: "error", ename: "TypeError", evalue: "magic went wrong" });
    const e = await k.execute("%%error");
    expect(e.reply.content).toMatchObject({ status: "error", ename: "MagicError", evalue: "reported" });
    expect(resultText(await k.execute("1 + 1"))).toBe("2");
  });

  it("runs quietly when asked: nothing published, result returned", async () => {
    const r = await k.execute('%%quiet\nconsole.log("hidden"); 5');
    expect(stdout(r)).toBe("");
    expect(ofType(r, "execute_result")).toHaveLength(0);
    expect(json(r)).toEqual({ status: "ok", value: 5 });
  });

  it("shows cell info: count, cellId, notebook path, flags, parent, history", async () => {
    const r = await k.execute("%%info", { metadata: { cellId: "cell-abc" } });
    const info = json(r);
    expect(info).toMatchObject({
      executionCount: r.reply.content.execution_count,
      hostCount: r.reply.content.execution_count,
      current: r.reply.content.execution_count,
      cellId: "cell-abc",
      notebookPath: "/notebooks/demo.ipynb",
      silent: false,
      storeHistory: true,
      parentType: "execute_request",
    });
    expect(info.history).toContain('%%twice\nconsole.log("body"); 21 * 2');
  });

  it("lets the extension observe outputs of cells it did not handle, and cell outcomes", async () => {
    const plain = await k.execute('console.log("observe me"); throw new Error("x")');
    const n = plain.reply.content.execution_count;
    const r = await k.execute("%%seen");
    const seen = json(r);
    const mine = seen.observed.filter((o: { count: number }) => o.count === n);
    // Each comes with its iopub message, which converts to the notebook output nbformat keeps.
    expect(mine).toEqual([
      { count: n, type: "stream", text: "observe me\n", nb: { output_type: "stream", name: "stdout", text: "observe me\n" } },
      { count: n, type: "error", nb: { output_type: "error", ename: "Error", evalue: "x", traceback: expect.any(Array) } },
    ]);
    expect(seen.ended).toContainEqual([n, "error"]);
  });

  it("fires the cell's abort signal and onInterrupt on interrupt", async () => {
    let started!: () => void;
    const go = new Promise<void>((r) => (started = r));
    const running = k.execute("%%wait", {
      onOutput: (m) => m.header.msg_type === "stream" && String((m.content as { text?: string }).text).includes("waiting") && started(),
    });
    await go;
    await k.interrupt();
    const r = await running;
    expect(stdout(r)).toBe("waiting\nsaw abort\n");
    const seen = json(await k.execute("%%seen"));
    expect(seen.interrupts).toBeGreaterThanOrEqual(1);
    expect(seen.ended).toContainEqual([r.reply.content.execution_count, "aborted"]);
  });

  it("reports each package the first time a cell (or a local module it imports) loads it", async () => {
    const r = await k.execute(
      [
        'import * as os from "node:os";',
        'import * as fs from "fs";',
        'import { n } from "tiny-pkg";',
        'import { m } from "tiny-pkg/sub";',
        'import { viaLocal } from "./uses-other";',
        'import { n as again } from "tiny-pkg";',
        '[n, m, viaLocal, again, typeof os.platform, typeof fs.readFileSync].join(" ")',
      ].join("\n"),
    );
    // The listener that throws for tiny-pkg is only logged: the cell gets its module.
    expect(r.reply.content).toMatchObject({ status: "ok" });
    expect(resultText(r)).toBe("'1 2 4 1 function function'");
    expect(resultText(await k.execute('import { n as n2 } from "tiny-pkg"; n2 + 1'))).toBe("2");
    const broken = await k.execute('import { b } from "broken-pkg"; b');
    expect(broken.reply.content).toMatchObject({ status: "error", evalue: "broken on load" });
    const seen = json(await k.execute("%%required"));
    // Built-ins, relative paths, repeats and a load that threw are not reported.
    expect(seen.required).toEqual([
      ["tiny-pkg", "n"],
      ["tiny-pkg/sub", "m"],
      ["other-pkg", "o"],
    ]);
    expect(seen.late).toEqual(["tiny-pkg", "tiny-pkg/sub", "other-pkg"]);
  });

  it("answers complete and inspect for magics, TypeScript otherwise", async () => {
    const c = await k.request("shell", "complete_request", { code: "%%tw", cursor_pos: 4 }, { timeout: 30_000 });
    expect(c.content).toMatchObject({ matches: ["%%twice"], cursor_start: 0, cursor_end: 4 });
    const i = await k.request("shell", "inspect_request", { code: "%%twice", cursor_pos: 3 }, { timeout: 30_000 });
    expect(i.content).toMatchObject({ found: true, data: { "text/plain": "%%twice: runs the body twice" } });
    const ts = await k.request("shell", "complete_request", { code: "gre", cursor_pos: 3 }, { timeout: 30_000 });
    expect(ts.content.matches).toContain("greet");
  });
});
