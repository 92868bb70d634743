// The product's KernelClient against real kernels over ZeroMQ: ours (through the
// compiled CLI) and stock tslab (any kernelspec argv). Start-up, outputs in order,
// stdin, both interrupt modes, restart, heartbeat, and a kernel that dies.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KernelClientError } from "../../jupyter-client/index.js";
import type { Message } from "../../protocol/messages.js";
import { findKernelSpec } from "../../cli/install.js";
import { installedKernelSandbox, KERNEL_NAME } from "../support/jupyter.js";
import { KERNEL_ARGV, startKernel, startStockTslab, type KernelClient } from "../support/kernel.js";

const clients: KernelClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
async function ours(opts: Parameters<typeof startKernel>[0] = {}) {
  const c = await startKernel(opts);
  clients.push(c);
  return c;
}

const types = (ms: Message[]) => ms.map((m) => m.header.msg_type);
const textPlain = (ms: Message[]) =>
  ms.filter((m) => m.header.msg_type === "execute_result").map((m) => (m.content as { data: Record<string, string> }).data["text/plain"]);

describe("KernelClient with our kernel", { timeout: 180_000 }, () => {
  it("starts with iopub live and returns a request's outputs in order, up to its idle", async () => {
    const c = await ours();
    expect(c.kernelInfo?.content.implementation).toBe("tslab-mlflow");
    expect(c.timings.firstReply).toBeGreaterThan(c.timings.spawned);
    expect(fs.statSync(c.connectionFile).mode & 0o777).toBe(0o600);

    const seen: string[] = [];
    const { reply, outputs } = await c.execute('console.log("one"); console.error("two"); 40 + 2', {
      onOutput: (m) => seen.push(m.header.msg_type),
    });
    expect(reply.content.status).toBe("ok");
    expect(types(outputs)).toEqual(["execute_input", "stream", "stream", "execute_result"]);
    expect(seen).toEqual(types(outputs));
    expect(outputs.map((m) => (m.content as { text?: string }).text).slice(1, 3)).toEqual(["one\n", "two\n"]);
    expect(textPlain(outputs)).toEqual(["42"]);
    expect(await c.heartbeat()).toBe(true);
  });

  it("answers input_request through the stdin handler", async () => {
    const prompts: string[] = [];
    const c = await ours({
      onInput: (req) => {
        prompts.push(req.prompt);
        return "Ada";
      },
    });
    const { reply, outputs } = await c.execute('const who = await input("name? ");\n`hi ${who}`');
    expect(reply.content.status).toBe("ok");
    expect(prompts).toEqual(["name? "]);
    expect(textPlain(outputs)).toEqual(["'hi Ada'"]);
  });

  for (const mode of ["message", "signal"] as const) {
    it(`interrupts a synchronous loop by ${mode} and keeps the kernel's state`, async () => {
      const c = await ours({ interruptMode: mode });
      await c.execute("const kept = 7;");
      const running = c.execute("while (true) {}");
      // The busy status of the loop's request shows it is running before we interrupt.
      await new Promise<void>((resolve) => {
        const stop = c.onIopub((m) => {
          if (m.header.msg_type === "execute_input") {
            stop();
            resolve();
          }
        });
      });
      await new Promise((r) => setTimeout(r, 200));
      // By message, one press must do: the control worker raises SIGINT again until it takes
      // (kernel/interrupt-state.ts). By signal, a SIGINT that lands in the instant between the
      // end of type-checking and the start of the cell's code is lost (about once in ten runs
      // on a loaded machine), so it is pressed again if the cell goes on, as a user would.
      const presses = mode === "message" ? 1 : 3;
      let settled = false;
      const done = running.finally(() => (settled = true));
      for (let press = 0; press < presses && !settled; press++) {
        await c.interrupt(15_000).catch((e) => {
          if (e.code !== "TIMEOUT") throw e;
        });
        await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, 15_000))]);
      }
      const { reply } = await running;
      expect(reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
      const { outputs } = await c.execute("kept * 6");
      expect(textPlain(outputs)).toEqual(["42"]);
    });
  }

  it("interrupts a pending await that would never settle, even before it has started", async () => {
    // A fresh kernel, interrupted the moment the cell is announced: the kernel is
    // still starting up, so the interrupt comes before any code of the cell runs.
    const c = await ours();
    const started = new Promise<void>((resolve) => {
      const stop = c.onIopub((m) => m.header.msg_type === "execute_input" && (stop(), resolve()));
    });
    const running = c.execute("await new Promise(() => {})");
    await started;
    await c.interrupt();
    const { reply } = await running;
    expect(reply.content.status).toBe("error");
    const { outputs } = await c.execute("'still here'");
    expect(textPlain(outputs)).toEqual(["'still here'"]);
  });

  it("restarts on the same connection with a fresh state", async () => {
    const c = await ours();
    await c.execute("const gone = 1;");
    const firstPid = c.pid;
    await c.shutdown({ restart: true });
    expect(c.pid).not.toBe(firstPid);
    expect(c.alive).toBe(true);
    // A new process: the count starts again and the old declaration is unknown.
    const { reply } = await c.execute("gone");
    expect(reply.content).toMatchObject({ status: "error", execution_count: 1 });
    expect(String(reply.content.evalue)).toMatch(/gone/);
  });

  it("shuts down cleanly: the process exits by itself with status 0", async () => {
    const c = await ours();
    const exits: unknown[] = [];
    c.onExit((e) => exits.push(e));
    await c.shutdown();
    expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(exits).toEqual([{ code: 0, signal: null }]);
  });

  it("rejects pending requests when the kernel dies and reports the exit", async () => {
    const c = await ours();
    const pending = c.execute("await new Promise(() => {})");
    await new Promise((r) => setTimeout(r, 300));
    process.kill(c.pid!, "SIGKILL");
    await expect(pending).rejects.toMatchObject({ code: "KERNEL_DIED" });
    expect(await c.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(c.alive).toBe(false);
  });
});

describe("KernelClient: liveness, kernelspecs and notices", { timeout: 180_000 }, () => {
  it("sees a frozen kernel (heartbeat fails, requests time out) and its recovery", async () => {
    const c = await ours();
    process.kill(c.pid!, "SIGSTOP");
    try {
      // Wait until the kernel is really stopped ("T" in /proc/<pid>/stat).
      while (fs.readFileSync(`/proc/${c.pid}/stat`, "utf8").split(") ")[1][0] !== "T") await new Promise((r) => setTimeout(r, 10));
      expect(await c.heartbeat(500)).toBe(false);
      await expect(c.request("shell", "kernel_info_request", {}, { timeout: 500 })).rejects.toMatchObject({ code: "TIMEOUT" });
    } finally {
      process.kill(c.pid!, "SIGCONT");
    }
    expect(await c.heartbeat(10_000)).toBe(true);
    const info = await c.request("control", "kernel_info_request", {}, { timeout: 30_000 });
    expect(info.content.status).toBe("ok");
  });

  it("launches what an installed kernelspec says, env included", async () => {
    const sandbox = await installedKernelSandbox();
    try {
      const found = findKernelSpec(KERNEL_NAME, sandbox.env);
      expect(found?.dir).toBe(path.join(sandbox.env.JUPYTER_DATA_DIR!, "kernels", KERNEL_NAME));
      const spec = { ...found!.spec, env: { TSLAB_MLFLOW_PROBE: "from-spec" } };
      const c = await ours({ argv: undefined, interruptMode: undefined, kernelSpec: spec });
      const { outputs } = await c.execute("process.env.TSLAB_MLFLOW_PROBE");
      expect(textPlain(outputs)).toEqual(["'from-spec'"]);
      await c.interrupt(); // interrupt_mode "message" from the spec: answered on control
    } finally {
      sandbox.cleanup();
    }
  });

  it("sends notices without replies: an unknown comm target is closed on iopub", async () => {
    const c = await ours();
    const closed = new Promise<Message>((resolve) => c.onIopub((m) => m.header.msg_type === "comm_close" && resolve(m)));
    const id = await c.send("shell", "comm_open", { comm_id: "comm-1", target_name: "no.such.target", data: {} });
    const msg = await closed;
    expect(msg.parent_header.msg_id).toBe(id);
    expect((msg.content as { comm_id: string }).comm_id).toBe("comm-1");
  });
});

describe("KernelClient with other kernels", { timeout: 180_000 }, () => {
  it("drives stock tslab from its kernelspec argv", async () => {
    const c = await startStockTslab();
    clients.push(c);
    expect(c.kernelInfo?.content.implementation).toBe("tslab");
    const { reply, outputs } = await c.execute('console.log("from stock")');
    expect(reply.content.status).toBe("ok");
    expect(outputs.some((m) => (m.content as { text?: string }).text === "from stock\n")).toBe(true);
  });

  it("starts a kernel again, on new ports, when one exits because a port it was given was taken meanwhile; gives up after three", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-port-taken-"));
    try {
      // Each start is counted; the first `failFirst` starts die as a kernel whose bind failed does.
      const flaky = (failFirst: number, counter: string) => [
        "/bin/sh",
        "-c",
        'echo "$2" >> "$1"; if [ "$(wc -l < "$1")" -le "$3" ]; then echo "Error: Address already in use" >&2; exit 1; fi; shift 3; exec "$@"',
        "kernel",
        counter,
        "{connection_file}",
        String(failFirst),
        ...KERNEL_ARGV,
      ];
      const once = path.join(dir, "once");
      const c = await ours({ argv: flaky(1, once), startTimeout: 60_000 });
      const files = fs.readFileSync(once, "utf8").trim().split("\n");
      expect(files).toHaveLength(2);
      expect(files[0]).not.toBe(files[1]); // a new connection file: new ports
      expect(textPlain((await c.execute("20 + 1")).outputs)).toEqual(["21"]);

      const always = path.join(dir, "always");
      const err = await startKernel({ argv: flaky(99, always), startTimeout: 10_000 }).catch((e) => e);
      expect(err).toBeInstanceOf(KernelClientError);
      expect(err.code).toBe("START_FAILED");
      expect(err.message).toContain("Address already in use");
      expect(fs.readFileSync(always, "utf8").trim().split("\n")).toHaveLength(3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails to start with the kernel's own words when the command is wrong", async () => {
    const missing = path.join(path.dirname(KERNEL_ARGV[1]), "no-such-entry.js");
    const err = await startKernel({ argv: [process.execPath, missing, "{connection_file}"], startTimeout: 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(KernelClientError);
    expect(err.code).toBe("START_FAILED");
    expect(err.message).toContain("Cannot find module");

    const noBinary = await startKernel({ argv: ["/nonexistent/kernel-binary", "{connection_file}"], startTimeout: 10_000 }).catch((e) => e);
    expect(noBinary.code).toBe("START_FAILED");
    expect(noBinary.message).toContain("ENOENT");
  });
});
