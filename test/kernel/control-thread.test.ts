// The control thread starts before the kernel's modules load (kernel/prestart.ts,
// kernel/control-thread.ts): a control request that reaches it before the main thread
// listens is still answered, and a control port already taken ends the start with an error
// (the early thread must not keep a failed kernel alive).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { newConnectionInfo, writeConnectionFile } from "../../jupyter-client/connection-file.js";
import { endpoint } from "../../protocol/connection.js";
import { newHeader } from "../../protocol/messages.js";
import { decode, encode } from "../../protocol/wire.js";
import { KERNEL_ENTRY, ROOT, tempDir } from "./helpers.js";

const ENTRIES = {
  "tslab-mlflow kernel": (file: string) => [path.join(ROOT, "dist", "cli", "main.js"), "kernel", "--connection-file", file],
  "kernel/main.js": (file: string) => [KERNEL_ENTRY, "-f", file],
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function request(type: string, session: string, content: object) {
  return { header: newHeader(type, session, "test"), parent_header: {}, metadata: {}, content };
}

/** The reply to `msg` on `socket`, skipping anything else. */
async function replyTo(socket: zmq.Dealer, key: string, msg: ReturnType<typeof request>) {
  for await (const frames of socket) {
    const d = decode(frames, key);
    if (d.ok && d.msg.parent_header.msg_id === msg.header.msg_id) return d.msg;
  }
  throw new Error("socket closed before the reply");
}

describe.each(Object.entries(ENTRIES))("%s", (_name, entry) => {
  it("answers a control request sent the moment the kernel is spawned", async () => {
    const info = await newConnectionInfo();
    const file = writeConnectionFile(info);
    const child = spawn(process.execPath, entry(file), { cwd: tempDir(), stdio: "ignore" });
    const exited = new Promise((r) => child.once("exit", r));
    const control = new zmq.Dealer({ linger: 0, receiveTimeout: 60_000 });
    cleanups.push(async () => {
      control.close();
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });
    control.connect(endpoint(info, "control"));
    // Queued by ZeroMQ until the control thread binds, which is before the main thread listens.
    const ask = request("kernel_info_request", "early", {});
    await control.send(encode(ask, info.key));
    const reply = await replyTo(control, info.key, ask);
    expect(reply.header.msg_type).toBe("kernel_info_reply");
    expect(reply.content).toMatchObject({ status: "ok", implementation: "tslab-mlflow" });

    const bye = request("shutdown_request", "early", { restart: false });
    await control.send(encode(bye, info.key));
    expect((await replyTo(control, info.key, bye)).content).toMatchObject({ status: "ok", restart: false });
    expect(await exited).toBe(0);
  });

  it("exits with an error when its control port is taken, instead of waiting forever", async () => {
    const info = await newConnectionInfo();
    const file = writeConnectionFile(info);
    const squatter = new zmq.Router();
    await squatter.bind(endpoint(info, "control"));
    const child = spawn(process.execPath, entry(file), { cwd: tempDir(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    cleanups.push(() => {
      squatter.close();
      if (child.exitCode === null) child.kill("SIGKILL");
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(1);
    expect(stderr).toMatch(/address already in use/i);
  });
});
