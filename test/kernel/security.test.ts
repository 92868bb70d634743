// Signatures on the wire: a badly signed or unsigned request to a keyed kernel
// never runs, and a kernel whose connection file has an empty key accepts
// unsigned messages (as the spec says). Raw ZeroMQ sockets, so the frames are
// exactly what we choose.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as zmq from "zeromq";
import { endpoint, type ConnectionInfo } from "../../protocol/connection.js";
import { newConnectionInfo, writeConnectionFile } from "../../jupyter-client/index.js";
import { newHeader, type Message } from "../../protocol/messages.js";
import { decode, DELIMITER, encode, sign } from "../../protocol/wire.js";
import { KERNEL_ENTRY, tempDir } from "./helpers.js";

interface Raw {
  info: ConnectionInfo;
  proc: ChildProcess;
  shell: zmq.Dealer;
  iopub: zmq.Subscriber;
  log: () => string;
}
const opened: Raw[] = [];

afterEach(async () => {
  for (const r of opened.splice(0)) {
    r.shell.close();
    r.iopub.close();
    r.proc.kill("SIGKILL");
  }
});

async function rawKernel(key: string): Promise<Raw> {
  const info = await newConnectionInfo("127.0.0.1", key);
  const file = writeConnectionFile(info);
  let out = "";
  const proc = spawn(process.execPath, [KERNEL_ENTRY, "--connection-file", file], { cwd: tempDir(), stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const shell = new zmq.Dealer({ linger: 0, routingId: "raw-client" });
  const iopub = new zmq.Subscriber({ linger: 0 });
  shell.connect(endpoint(info, "shell"));
  iopub.connect(endpoint(info, "iopub"));
  iopub.subscribe();
  const raw = { info, proc, shell, iopub, log: () => out };
  opened.push(raw);
  return raw;
}

function message(type: string, content: Record<string, unknown>): Message {
  return { header: newHeader(type, "raw", "test"), parent_header: {}, metadata: {}, content };
}

/** Sends kernel_info_request signed with `key` until one is answered (the kernel may still be binding). */
async function awaitReply(r: Raw, key: string, type: string, content: Record<string, unknown>, timeout = 30_000): Promise<Message> {
  const msg = message(type, content);
  await r.shell.send(encode(msg, key));
  const deadline = Date.now() + timeout;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${type} reply; kernel log:\n${r.log()}`);
    r.shell.receiveTimeout = left;
    const frames = await r.shell.receive();
    const d = decode(frames, key);
    if (d.ok && d.msg.parent_header.msg_id === msg.header.msg_id) return d.msg;
  }
}

async function waitReady(r: Raw, key: string): Promise<void> {
  await awaitReply(r, key, "kernel_info_request", {});
}

function markerCell(file: string): string {
  return `require("fs").writeFileSync(${JSON.stringify(file)}, "ran")`;
}

describe("signed connection", () => {
  it("drops a badly signed execute_request (it never runs) and keeps serving", async () => {
    const key = "a-secret-key";
    const r = await rawKernel(key);
    await waitReady(r, key);
    const dir = tempDir();
    const forged = path.join(dir, "forged");
    const unsigned = path.join(dir, "unsigned");

    // Wrong key.
    await r.shell.send(encode(message("execute_request", { code: markerCell(forged) }), "not-the-key"));
    // Correct signature, then the content swapped after signing.
    const good = encode(message("execute_request", { code: "1" }), key);
    const at = good.findIndex((f) => f.toString() === DELIMITER);
    good[at + 5] = Buffer.from(JSON.stringify({ code: markerCell(forged) }));
    await r.shell.send(good);
    // No signature at all.
    await r.shell.send(encode(message("execute_request", { code: markerCell(unsigned) }), ""));

    // A properly signed cell afterwards runs, so the dropped ones had their chance.
    const proof = path.join(dir, "proof");
    const reply = await awaitReply(r, key, "execute_request", { code: markerCell(proof) });
    expect(reply.content.status).toBe("ok");
    expect(fs.existsSync(proof)).toBe(true);
    expect(fs.existsSync(forged)).toBe(false);
    expect(fs.existsSync(unsigned)).toBe(false);
    expect(r.log()).toContain("bad-signature");
  });

  it("refuses a correctly signed request sent a second time (a replay): it runs once", async () => {
    const key = "replay-key";
    const r = await rawKernel(key);
    await waitReady(r, key);
    const counter = path.join(tempDir(), "count");
    const frames = encode(message("execute_request", { code: `require("fs").appendFileSync(${JSON.stringify(counter)}, "x")` }), key);
    await r.shell.send(frames);
    await r.shell.send(frames);
    // Requests on shell are handled in order: once this one is answered, both copies were seen.
    const reply = await awaitReply(r, key, "execute_request", { code: "1" });
    expect(reply.content.status).toBe("ok");
    expect(fs.readFileSync(counter, "utf8")).toBe("x");
    expect(r.log()).toContain("replayed");
  });

  it("signs what it sends with the key", async () => {
    const key = "k2";
    const r = await rawKernel(key);
    await waitReady(r, key);
    const msg = message("kernel_info_request", {});
    await r.shell.send(encode(msg, key));
    r.shell.receiveTimeout = 30_000;
    const frames = await r.shell.receive();
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    expect(frames[at + 1].toString()).toBe(sign(key, frames.slice(at + 2, at + 6)));
  });
});

describe("unsigned connection (empty key)", () => {
  it("accepts and answers unsigned messages, with empty signatures", async () => {
    const r = await rawKernel("");
    await waitReady(r, "");
    const dir = tempDir();
    const marker = path.join(dir, "ran");
    const reply = await awaitReply(r, "", "execute_request", { code: `${markerCell(marker)}; 40 + 2` });
    expect(reply.content.status).toBe("ok");
    expect(fs.readFileSync(marker, "utf8")).toBe("ran");

    const msg = message("kernel_info_request", {});
    await r.shell.send(encode(msg, ""));
    const frames = await r.shell.receive();
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    expect(frames[at + 1].length).toBe(0);
  });
});

describe("connection file", () => {
  it("refuses a bad connection file with a message naming the bad field", async () => {
    const dir = tempDir();
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, JSON.stringify({ ip: "127.0.0.1", key: "", transport: "tcp", shell_port: "x" }));
    const proc = spawn(process.execPath, [KERNEL_ENTRY, "--connection-file", file], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    proc.stderr!.on("data", (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
    expect(code).toBe(1);
    expect(err).toContain("shell_port");
    expect(err).toContain('"x"');
  });
});
