// The extension seam, seen from outside: a kernel started with a test
// extension (fixtures/ext-kernel.mjs) over real ZeroMQ.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import type { KernelClient } from "../../kernel/client.js";
import type { Message } from "../../kernel/messages.js";
import { ofType, resultText, startTestKernel, stdout } from "./helpers.js";

const ENTRY = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures", "ext-kernel.mjs");

let k: KernelClient;
beforeAll(async () => {
  k = await startTestKernel({ entry: [process.execPath, ENTRY, "--connection-file", "{connection_file}"], env: { ...process.env, JPY_SESSION_NAME: "/notebooks/demo.ipynb" } });
});
afterAll(async () => {
  await k?.close();
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
    expect(r.reply.content).toMatchObject({ status: "error", ename: "TypeScriptError" });
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
    expect(mine).toEqual([
      { count: n, type: "stream", text: "observe me\n" },
      { count: n, type: "error" },
    ]);
    expect(seen.ended).toContainEqual([n, "error"]);
  });

  it("fires the cell's abort signal and onInterrupt on interrupt", async () => {
    let started!: () => void;
    const go = new Promise<void>((r) => (started = r));
    const running = k.execute("%%wait", { onOutput: (m) => m.header.msg_type === "execute_input" && started() });
    await go;
    await new Promise((r) => setTimeout(r, 200));
    await k.interrupt();
    const r = await running;
    expect(stdout(r)).toBe("saw abort\n");
    const seen = json(await k.execute("%%seen"));
    expect(seen.interrupts).toBeGreaterThanOrEqual(1);
    expect(seen.ended).toContainEqual([r.reply.content.execution_count, "aborted"]);
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
