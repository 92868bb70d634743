// Interrupts (interrupt_request on control, and SIGINT), input over stdin,
// heartbeat during a blocked cell, and shutdown with and without restart.
import { afterEach, describe, expect, it } from "vitest";
import type { KernelClient } from "../../kernel/client.js";
import type { Message } from "../../kernel/messages.js";
import { ofType, resultText, startTestKernel, stdout } from "./helpers.js";

const open: KernelClient[] = [];
afterEach(async () => {
  for (const k of open.splice(0)) await k.close();
});

async function kernel(opts: Parameters<typeof startTestKernel>[0] = {}): Promise<KernelClient> {
  const k = await startTestKernel(opts);
  open.push(k);
  return k;
}

/** Runs `code`, interrupting once its execute_input shows it started (plus a little). */
async function runAndInterrupt(k: KernelClient, code: string) {
  let interrupted: Promise<void> | undefined;
  const r = await k.execute(code, {
    timeout: 60_000,
    onOutput: (m: Message) => {
      if (m.header.msg_type === "execute_input") interrupted = new Promise((res) => setTimeout(res, 300)).then(() => k.interrupt());
    },
  });
  await interrupted;
  return r;
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
  });
});

describe("control while a cell blocks", () => {
  it("answers heartbeat and interrupt_request while user code spins", async () => {
    const k = await kernel();
    await k.execute("1");
    const running = k.execute("while (true) {}", { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 500));
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

  it("echoes restart:true in the reply", async () => {
    const k = await kernel();
    const reply = await k.request("control", "shutdown_request", { restart: true }, { timeout: 30_000 });
    expect(reply.content).toEqual({ status: "ok", restart: true });
  });
});
