// The kernel's answers to every shell message, driven over real ZeroMQ.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import type { KernelClient } from "../../jupyter-client/index.js";
import type { Message } from "../../protocol/messages.js";
import { ofType, resultText, startTestKernel, stdout } from "./helpers.js";

let k: KernelClient;
beforeAll(async () => {
  k = await startTestKernel();
});
afterAll(async () => {
  await k?.close();
});

describe("kernel_info", () => {
  it("reports protocol 5.3+, TypeScript with the real versions, status ok", async () => {
    const r = await k.request("shell", "kernel_info_request", {}, { timeout: 30_000 });
    const c = r.content as Record<string, any>;
    expect(r.header.msg_type).toBe("kernel_info_reply");
    expect(c.status).toBe("ok");
    expect(Number(c.protocol_version)).toBeGreaterThanOrEqual(5.3);
    expect(c.language_info.name).toBe("typescript");
    expect(c.language_info.file_extension).toBe(".ts");
    expect(c.language_info.version).toBe(require_("@tslab/typescript-for-tslab/package.json").version);
    expect(c.banner).toContain(process.version);
    expect(c.language_info.node_version).toBe(process.version);
  });

  it("answers on control too", async () => {
    const r = await k.request("control", "kernel_info_request", {}, { timeout: 30_000 });
    expect(r.header.msg_type).toBe("kernel_info_reply");
  });
});

function require_(id: string): any {
  return JSON.parse(execFileSync(process.execPath, ["-p", `JSON.stringify(require(${JSON.stringify(id)}))`], { encoding: "utf8" }));
}

describe("execute", () => {
  it("publishes busy, execute_input, stream, execute_result, then idle, with the reply", async () => {
    const seen: Message[] = [];
    const off = k.onIopub((m) => seen.push(m));
    const r = await k.execute('console.log("hello, world"); 6 * 7');
    off();
    expect(r.idle).toBe(true);
    expect(r.reply.content.status).toBe("ok");
    const mine = seen.filter((m) => m.parent_header.msg_id === r.reply.parent_header.msg_id);
    expect(mine.map((m) => (m.header.msg_type === "status" ? m.content.execution_state : m.header.msg_type))).toEqual([
      "busy",
      "execute_input",
      "stream",
      "execute_result",
      "idle",
    ]);
    expect(stdout(r)).toBe("hello, world\n");
    expect(resultText(r)).toBe("42");
    const count = r.reply.content.execution_count as number;
    expect(ofType(r, "execute_input")[0].content.execution_count).toBe(count);
    expect(ofType(r, "execute_result")[0].content.execution_count).toBe(count);
  });

  it("counts executions, but not silent or store_history:false ones", async () => {
    const a = await k.execute("1");
    const n = a.reply.content.execution_count as number;
    const silent = await k.execute("2", { silent: true });
    expect(silent.reply.content.execution_count).toBe(n);
    expect(ofType(silent, "execute_input")).toHaveLength(0);
    expect(ofType(silent, "execute_result")).toHaveLength(0);
    const nostore = await k.execute("3", { store_history: false });
    expect(nostore.reply.content.execution_count).toBe(n);
    expect(resultText(nostore)).toBe("3");
    const b = await k.execute("4");
    expect(b.reply.content.execution_count).toBe(n + 1);
  });

  it("sends stdout and stderr of this request as streams, without colour codes", async () => {
    const r = await k.execute('console.error("to stderr"); process.stdout.write("raw"); ({ a: [1, 2], s: "x" })');
    const streams = ofType(r, "stream").map((m) => [m.content.name, m.content.text]);
    expect(streams).toContainEqual(["stderr", "to stderr\n"]);
    expect(stdout(r)).toBe("raw");
    expect(resultText(r)).toBe("{ a: [ 1, 2 ], s: 'x' }");
    expect(resultText(r)).not.toMatch(/\u001b\[/);
  });

  it("reports a type error with the cell, line and column as error output and error reply", async () => {
    const r = await k.execute('const ok = 1;\nconst bad: number = "a";');
    const n = r.reply.content.execution_count;
    expect(r.reply.content.status).toBe("error");
    expect(r.reply.content.ename).toBe("TypeScriptError");
    expect(r.reply.content.evalue).toBe(`In[${n}]:2:7 - error TS2322: Type 'string' is not assignable to type 'number'.`);
    const errs = ofType(r, "error");
    expect(errs).toHaveLength(1);
    expect(errs[0].content.traceback).toEqual([r.reply.content.evalue, "", '  const bad: number = "a";', "        ^"]);
  });

  it("reports a runtime error with ename, evalue and a traceback without kernel frames", async () => {
    const r = await k.execute('function f() { throw new RangeError("too far"); }\nf()');
    expect(r.reply.content).toMatchObject({ status: "error", ename: "RangeError", evalue: "too far" });
    const tb = ofType(r, "error")[0].content.traceback as string[];
    expect(tb[0]).toBe("RangeError: too far");
    const count = r.reply.content.execution_count as number;
    expect(tb.slice(1)).toEqual([`    at f (In[${count}]:1:22)`, `    at In[${count}]:2:1`]);
    expect(tb.some((l) => l.includes("dist/kernel") || l.includes("node:"))).toBe(false);
  });

  it("reports a thrown non-Error value", async () => {
    const r = await k.execute('throw "plain"');
    expect(r.reply.content).toMatchObject({ status: "error", ename: "Thrown", evalue: "plain" });
  });

  it("answers a malformed execute_request with an error naming the field", async () => {
    const r = await k.request("shell", "execute_request", { code: 42 }, { timeout: 30_000 });
    expect(r.content.status).toBe("error");
    expect(r.content.evalue).toContain("content.code must be a string");
  });

  it("never publishes the deprecated abort status and always goes idle after outputs", async () => {
    const seen: Message[] = [];
    const off = k.onIopub((m: Message) => seen.push(m));
    const replies: Message[] = [];
    for (const code of ["throw new Error('x')", "1", "const z: string = 1", "2"]) replies.push((await k.execute(code)).reply);
    off();
    for (const reply of replies) {
      const mine = seen.filter((m) => m.parent_header.msg_id === reply.parent_header.msg_id);
      const states = mine.filter((m) => m.header.msg_type === "status").map((m) => m.content.execution_state);
      expect(states).toEqual(["busy", "idle"]);
      // idle is the last message of the request: every output came before it.
      expect(mine.at(-1)?.content.execution_state).toBe("idle");
    }
  });
});

describe("stop_on_error and user_expressions", () => {
  it("aborts cells queued behind a failed one (Run All), then runs new ones", async () => {
    const failing = k.execute('await new Promise((r) => setTimeout(r, 300)); throw new Error("stop here")');
    const queued = k.execute("(globalThis as any).ranAfterFailure = true");
    const [f, q] = await Promise.all([failing, queued]);
    expect(f.reply.content.status).toBe("error");
    expect(q.reply.content).toEqual({ status: "aborted" });
    expect(ofType(q, "execute_input")).toHaveLength(0);
    expect(resultText(await k.execute("(globalThis as any).ranAfterFailure === undefined"))).toBe("true");
  });

  it("keeps running queued cells when stop_on_error is false", async () => {
    const failing = k.execute('await new Promise((r) => setTimeout(r, 300)); throw new Error("go on")', { stop_on_error: false });
    const queued = k.execute("'ran anyway'");
    const [f, q] = await Promise.all([failing, queued]);
    expect(f.reply.content.status).toBe("error");
    expect(resultText(q)).toBe("'ran anyway'");
  });

  it("evaluates user_expressions after a successful cell", async () => {
    const r = await k.execute("const ue = 20", { user_expressions: { double: "ue * 2", broken: "nope()" } });
    const ue = r.reply.content.user_expressions as Record<string, any>;
    expect(ue.double).toEqual({ status: "ok", data: { "text/plain": "40" }, metadata: {} });
    expect(ue.broken.status).toBe("error");
    expect(ue.broken.evalue).toContain("nope");
  });
});

describe("complete, inspect, is_complete", () => {
  it("completes members at the cursor", async () => {
    const code = "console.lo";
    const r = await k.request("shell", "complete_request", { code, cursor_pos: code.length }, { timeout: 30_000 });
    expect(r.content.status).toBe("ok");
    expect(r.content.matches).toContain("log");
    expect(r.content.cursor_start).toBe(8);
    expect(r.content.cursor_end).toBe(10);
  });

  it("completes names from earlier cells and counts code points, not UTF-16 units", async () => {
    await k.execute("const myVariable = 1");
    const code = '"😀"; myVar';
    const r = await k.request("shell", "complete_request", { code, cursor_pos: [...code].length }, { timeout: 30_000 });
    expect(r.content.matches).toContain("myVariable");
    expect(r.content.cursor_start).toBe([...code].length - 5);
    expect(r.content.cursor_end).toBe([...code].length);
  });

  it("inspects a name with its type and documentation", async () => {
    const code = "Math.max";
    const r = await k.request("shell", "inspect_request", { code, cursor_pos: code.length, detail_level: 0 }, { timeout: 30_000 });
    expect(r.content.status).toBe("ok");
    expect(r.content.found).toBe(true);
    const text = (r.content.data as Record<string, string>)["text/plain"];
    expect(text).toContain("Math.max(...values: number[]): number");
    expect(text).toContain("Returns the larger");
  });

  it("answers a bad cursor_pos with an error naming it", async () => {
    const r = await k.request("shell", "complete_request", { code: "x", cursor_pos: "end" }, { timeout: 30_000 });
    expect(r.content.status).toBe("error");
    expect(r.content.evalue).toBe('complete_request content.cursor_pos must be a non-negative integer, got "end"');
  });

  it("says found:false where there is nothing to inspect", async () => {
    const r = await k.request("shell", "inspect_request", { code: "   ", cursor_pos: 1 }, { timeout: 30_000 });
    expect(r.content).toMatchObject({ status: "ok", found: false });
  });

  it("tells complete from incomplete code", async () => {
    const done = await k.request("shell", "is_complete_request", { code: "let x = 1;" }, { timeout: 30_000 });
    expect(done.content.status).toBe("complete");
    const open = await k.request("shell", "is_complete_request", { code: "function f() {" }, { timeout: 30_000 });
    expect(open.content.status).toBe("incomplete");
    expect(typeof open.content.indent).toBe("string");
    const list = await k.request("shell", "is_complete_request", { code: "const a = [1, 2," }, { timeout: 30_000 });
    expect(list.content.status).toBe("incomplete");
    for (const code of ["const = 5;", "1 +* 2", ")"]) {
      const bad = await k.request("shell", "is_complete_request", { code }, { timeout: 30_000 });
      expect([code, bad.content.status]).toEqual([code, "invalid"]);
    }
  });
});

describe("history", () => {
  it("answers tail, range and search with the session's cells", async () => {
    await k.execute("const histA = 'first'; histA");
    await k.execute("const histB = 2; histB");
    const tail = await k.request(
      "shell",
      "history_request",
      { hist_access_type: "tail", n: 2, output: false, raw: true },
      { timeout: 30_000 },
    );
    const rows = tail.content.history as [number, number, string][];
    expect(rows.map((r) => r[2])).toEqual(["const histA = 'first'; histA", "const histB = 2; histB"]);
    const [session, line] = rows[0];
    expect(rows[1][1]).toBe(line + 1);

    const withOut = await k.request(
      "shell",
      "history_request",
      { hist_access_type: "tail", n: 1, output: true, raw: true },
      { timeout: 30_000 },
    );
    expect((withOut.content.history as unknown[][])[0][2]).toEqual(["const histB = 2; histB", "2"]);

    const range = await k.request(
      "shell",
      "history_request",
      { hist_access_type: "range", session, start: line, stop: line + 1, output: false, raw: true },
      { timeout: 30_000 },
    );
    expect(range.content.history).toEqual([[session, line, "const histA = 'first'; histA"]]);

    const search = await k.request(
      "shell",
      "history_request",
      { hist_access_type: "search", pattern: "const hist*", output: false, raw: true },
      { timeout: 30_000 },
    );
    expect((search.content.history as unknown[][]).map((r) => r[2])).toEqual(["const histA = 'first'; histA", "const histB = 2; histB"]);
  });

  it("refuses an unknown hist_access_type with a clear error", async () => {
    const r = await k.request("shell", "history_request", { hist_access_type: "everything" }, { timeout: 30_000 });
    expect(r.content.status).toBe("error");
    expect(r.content.evalue).toContain('"everything"');
    expect(r.content.evalue).toContain('"tail"');
  });
});

describe("comms and unknown messages", () => {
  it("answers comm_info with no comms and closes a comm_open for an unknown target", async () => {
    const info = await k.request("shell", "comm_info_request", {}, { timeout: 30_000 });
    expect(info.header.msg_type).toBe("comm_info_reply");
    expect(info.content).toEqual({ status: "ok", comms: {} });

    const closed = new Promise<Message>((resolve) => {
      const off = k.onIopub((m) => {
        if (m.header.msg_type === "comm_close") {
          off();
          resolve(m);
        }
      });
    });
    await k.send("shell", "comm_open", { comm_id: "c-1", target_name: "no.such.target", data: {} });
    const m = await closed;
    expect(m.content.comm_id).toBe("c-1");
  });

  it("ignores an unknown message type and keeps serving", async () => {
    await k.send("shell", "frobnicate_request", {});
    const r = await k.execute("'still here'");
    expect(resultText(r)).toBe("'still here'");
  });
});

describe("content checked once, before any handler", () => {
  // Each request's content is checked against its message type in the dispatcher: a missing
  // or wrong-typed field gets an error reply naming it, no handler runs, the kernel goes on.
  const bad: [channel: "shell" | "control", msgType: string, content: object, evalue: string][] = [
    ["shell", "execute_request", { silent: false }, "execute_request content.code is missing (it must be a string)"],
    ["shell", "execute_request", { code: "1", store_history: "yes" }, 'execute_request content.store_history must be a boolean, got "yes"'],
    [
      "shell",
      "execute_request",
      { code: "1", user_expressions: { a: 1 } },
      "execute_request content.user_expressions.a must be a string, got 1",
    ],
    [
      "shell",
      "complete_request",
      { code: "x", cursor_pos: "x" },
      'complete_request content.cursor_pos must be a non-negative integer, got "x"',
    ],
    [
      "shell",
      "complete_request",
      { code: "x", cursor_pos: -1 },
      "complete_request content.cursor_pos must be a non-negative integer, got -1",
    ],
    ["shell", "inspect_request", { cursor_pos: 0 }, "inspect_request content.code is missing (it must be a string)"],
    [
      "shell",
      "inspect_request",
      { code: "x", cursor_pos: 1, detail_level: 2 },
      "inspect_request content.detail_level must be one of 0, 1, got 2",
    ],
    ["shell", "is_complete_request", { code: 42 }, "is_complete_request content.code must be a string, got 42"],
    ["shell", "history_request", { hist_access_type: "tail", n: "2" }, 'history_request content.n must be an integer, got "2"'],
    ["control", "shutdown_request", { restart: "no" }, 'shutdown_request content.restart must be a boolean, got "no"'],
  ];

  for (const [channel, msgType, content, evalue] of bad) {
    it(`${msgType} ${JSON.stringify(content)} on ${channel}: an error reply naming the field`, async () => {
      const seen: Message[] = [];
      let idFound = "";
      let idleSeen = () => {};
      const idle = new Promise<void>((resolve) => (idleSeen = resolve));
      const isIdle = (m: Message) => m.parent_header.msg_id === idFound && m.content.execution_state === "idle";
      const off = k.onIopub((m) => {
        seen.push(m);
        if (isIdle(m)) idleSeen();
      });
      const r = await k.request(channel, msgType, content, { timeout: 30_000 });
      idFound = r.parent_header.msg_id!;
      if (seen.some(isIdle)) idleSeen();
      await idle;
      off();
      expect(r.header.msg_type).toBe(msgType.replace(/_request$/, "_reply"));
      expect(r.content).toMatchObject({ status: "error", ename: "TypeError", evalue });
      expect(r.content.traceback).toEqual([`TypeError: ${evalue}`]);
      // No handler ran: a refused execute_request publishes no execute_input and counts nothing.
      expect(seen.filter((m) => m.parent_header.msg_id === r.parent_header.msg_id).map((m) => m.header.msg_type)).toEqual([
        "status",
        "status",
      ]);
      expect(k.alive).toBe(true);
    });
  }

  it("keeps counting and serving after refused requests", async () => {
    const before = await k.execute("'before'");
    await k.request("shell", "execute_request", { silent: false }, { timeout: 30_000 });
    const after = await k.execute("'after'");
    expect(resultText(after)).toBe("'after'");
    expect(after.reply.content.execution_count).toBe((before.reply.content.execution_count as number) + 1);
    const ok = await k.request("shell", "complete_request", { code: "Math.ma", cursor_pos: null }, { timeout: 30_000 });
    expect(ok.content.status).toBe("ok");
    expect(ok.content.matches).toContain("max");
  });
});
