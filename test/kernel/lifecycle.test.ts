// Interrupts (interrupt_request on control, and SIGINT), input over stdin,
// heartbeat during a blocked cell, and shutdown with and without restart.
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import type { ExecuteResult, KernelClient } from "../../jupyter-client/index.js";
import path from "node:path";
import { type ConnectionInfo, endpoint } from "../../protocol/connection.js";
import { type Message, newHeader } from "../../protocol/messages.js";
import { decode, encode } from "../../protocol/wire.js";
import { waitForFile } from "../support/wait-for-file.js";
import { ofType, resultText, startTestKernel, stdout, tempDir } from "./helpers.js";

const open: KernelClient[] = [];
afterEach(async () => {
  for (const k of open.splice(0)) await k.close();
});

async function kernel(opts: Parameters<typeof startTestKernel>[0] = {}): Promise<KernelClient> {
  const k = await startTestKernel(opts);
  open.push(k);
  return k;
}

/**
 * Runs `code` after a line that writes a marker file, and interrupts once the
 * marker exists: the interrupt provably lands while `code` itself runs.
 */
async function runAndInterrupt(k: KernelClient, code: string) {
  const { running } = await startRunning(k, code);
  await k.interrupt();
  return running;
}

/** Starts `code` and resolves (with the pending execute) once it is running. */
async function startRunning(k: KernelClient, code: string): Promise<{ running: Promise<ExecuteResult> }> {
  const marker = path.join(tempDir(), "started");
  const running = k.execute(`require("fs").writeFileSync(${JSON.stringify(marker)}, "1");\n${code}`, { timeout: 60_000 });
  // The marker is written synchronously right before `code`: once it exists, `code` runs.
  await waitForFile(marker);
  // Wrapped: an async function returning the promise itself would wait for it.
  return { running };
}

describe.each(["message", "signal"] as const)("interrupt by %s", (mode) => {
  it("stops a synchronous infinite loop and a pending await; state survives", async () => {
    const k = await kernel({ interruptMode: mode });
    await k.execute("let kept = 41");
    const sync = await runAndInterrupt(k, "while (true) {}");
    expect(sync.reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
    expect(ofType(sync, "error")).toHaveLength(1);
    expect(resultText(await k.execute("kept + 1"))).toBe("42");

    const pending = await runAndInterrupt(k, "await new Promise(() => {})");
    expect(pending.reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
    expect(resultText(await k.execute("kept + 2"))).toBe("43");

    // A loop that starts after an await runs as a promise continuation.
    const after = await runAndInterrupt(k, "await new Promise((r) => setTimeout(r, 10));\nwhile (true) {}");
    expect(after.reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
    expect(resultText(await k.execute("kept + 3"))).toBe("44");
  });
});

describe.each(["message", "signal"] as const)("one interrupt by %s, at any moment of a cell's start", (mode) => {
  it("stops the cell: never lost between the type-check's end and the code's start", async () => {
    const k = await kernel({ interruptMode: mode });
    // Each cell differs (no compile cache), and the interrupt comes 0 to 95 ms after the kernel
    // announced it (execute_input): during and just after its type-check, into the code's
    // first instants. (Before that, the kernel may not have the request yet: an interrupt then
    // is for whatever runs, as in any Jupyter kernel.)
    for (let i = 0; i < 20; i++) {
      const announced = new Promise<void>((resolve) => {
        const stop = k.onIopub((m) => m.header.msg_type === "execute_input" && (stop(), resolve()));
      });
      const running = k.execute(`while (true) { /* ${i} */ }`, { timeout: 30_000 });
      await announced;
      // The delay is what this test varies (when the interrupt lands), not a synchronisation.
      await new Promise((r) => setTimeout(r, i * 5));
      await k.interrupt();
      const outcome = await Promise.race([running, new Promise((r) => setTimeout(() => r("still running"), 10_000))]);
      expect(outcome, `interrupt ${i * 5} ms after execute_input`).not.toBe("still running");
      expect((outcome as ExecuteResult).reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
    }
    expect(resultText(await k.execute("'alive'"))).toBe("'alive'");
  }, 120_000);
});

describe("control while a cell blocks", () => {
  it("answers heartbeat and interrupt_request while user code spins", async () => {
    const k = await kernel();
    await k.execute("1");
    const { running } = await startRunning(k, "while (true) {}");
    expect(await k.heartbeat(5000)).toBe(true);
    const reply = k.request("control", "interrupt_request", {}, { timeout: 30_000 });
    expect((await reply).content.status).toBe("ok");
    expect((await running).reply.content.ename).toBe("Interrupted");
  });
});

describe("input", () => {
  it("asks the frontend with input_request on stdin when allowed", async () => {
    const prompts: string[] = [];
    const k = await kernel({
      onInput: (req) => {
        prompts.push(req.prompt);
        return "Ada";
      },
    });
    const r = await k.execute('const name = await input("Your name? "); console.log("hi " + name)', { allow_stdin: true });
    expect(r.reply.content.status).toBe("ok");
    expect(prompts).toEqual(["Your name? "]);
    expect(stdout(r)).toBe("hi Ada\n");
  });

  // A client connects its sockets at once, but each connects on its own: a quick first cell
  // can ask before the frontend's stdin socket is there (the question was dropped, the cell
  // waited for ever).
  it("delivers an input_request to a frontend whose stdin socket connects after the cell asked", async () => {
    const k = await kernel();
    const info = JSON.parse(fs.readFileSync(k.connectionFile, "utf8")) as ConnectionInfo;
    const session = "late-stdin-frontend";
    const shell = new zmq.Dealer({ linger: 0, routingId: session });
    const stdin = new zmq.Dealer({ linger: 0, routingId: session });
    try {
      shell.connect(endpoint(info, "shell"));
      const request: Message = {
        header: newHeader("execute_request", session, "tester"),
        parent_header: {},
        metadata: {},
        content: { code: 'console.log("asking");\nconst late = await input("late? ");\nlate', silent: false, allow_stdin: true },
      };
      // The cell's output before input() is flushed just before the question is sent.
      const asked = new Promise<void>((resolve) => {
        const stop = k.onIopub((m) => {
          if (m.parent_header.msg_id === request.header.msg_id && m.header.msg_type === "stream") {
            stop();
            resolve();
          }
        });
      });
      await shell.send(encode(request, info.key));
      await asked;

      stdin.connect(endpoint(info, "stdin"));
      const question = decode(await stdin.receive(), info.key);
      if (!question.ok) throw new Error(`bad input_request: ${question.detail}`);
      expect(question.msg.header.msg_type).toBe("input_request");
      expect(question.msg.content).toMatchObject({ prompt: "late? " });
      const answer: Message = {
        header: newHeader("input_reply", session, "tester"),
        parent_header: question.msg.header,
        metadata: {},
        content: { value: "on time" },
      };
      await stdin.send(encode(answer, info.key));
      const reply = decode(await shell.receive(), info.key);
      if (!reply.ok) throw new Error(`bad execute_reply: ${reply.detail}`);
      expect(reply.msg.content).toMatchObject({ status: "ok" });
      const r = await k.execute("late");
      expect(resultText(r)).toBe("'on time'");
    } finally {
      shell.close();
      stdin.close();
    }
  });

  it("fails clearly when the frontend does not allow stdin", async () => {
    const k = await kernel();
    const r = await k.execute('await input("x")', { allow_stdin: false });
    expect(r.reply.content.status).toBe("error");
    expect(r.reply.content.evalue).toContain("allow_stdin is false");
  });
});

describe("shutdown", () => {
  it("replies to shutdown_request on control and exits", async () => {
    const k = await kernel();
    const exited = k.exited;
    const reply = await k.request("control", "shutdown_request", { restart: false }, { timeout: 30_000 });
    expect(reply.content).toEqual({ status: "ok", restart: false });
    const info = await exited;
    expect(info.code).toBe(0);
  });

  it("honours restart: the reply says so and a restarted kernel starts fresh", async () => {
    const k = await kernel();
    await k.execute("const before = 1");
    await k.shutdown({ restart: true });
    const r = await k.execute("before");
    expect(r.reply.content.execution_count).toBe(1);
    expect(r.reply.content.evalue).toContain("Cannot find name 'before'");
  });

  it("shuts down cleanly on SIGTERM", async () => {
    const k = await kernel();
    const exited = k.exited;
    process.kill(k.pid!, "SIGTERM");
    expect((await exited).code).toBe(0);
  });

  it("echoes restart:true in the reply", async () => {
    const k = await kernel();
    const reply = await k.request("control", "shutdown_request", { restart: true }, { timeout: 30_000 });
    expect(reply.content).toEqual({ status: "ok", restart: true });
  });
});
