// 1,000 random or malformed multipart messages thrown at the kernel's shell and
// control ROUTERs over raw ZeroMQ DEALER sockets. Many carry a cell that would
// write a marker file if it ever ran. Afterwards the kernel must still answer,
// still execute, and no marker may exist; a correctly signed copy of the same
// payload then proves the payload really would have left a marker.
import { createHmac, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { endpoint } from "../../protocol/connection.js";
import { DELIMITER } from "../../protocol/wire.js";
import { startKernel, type KernelClient } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

const COUNT = 1000;
const SEED = 0x7a51ab;

// mulberry32: a small seeded PRNG so a failure can be replayed exactly.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let kernel: KernelClient;
let markerDir: string;
let key: string;
const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
const json = (v: unknown) => Buffer.from(JSON.stringify(v), "utf8");

function markerCode(i: number): string {
  return `require("fs").writeFileSync(${JSON.stringify(path.join(markerDir, `fuzz-${i}`))}, "ran")`;
}

function header(msgType: string): Record<string, unknown> {
  return { msg_id: randomUUID(), msg_type: msgType, session: "fuzz", username: "fuzz", date: new Date().toISOString(), version: "5.3" };
}

function hmac(k: string, parts: Buffer[]): string {
  const h = createHmac("sha256", k);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

function executeParts(code: string, msgType = "execute_request"): Buffer[] {
  return [
    json(header(msgType)),
    json({}),
    json({}),
    json({ code, silent: false, store_history: true, allow_stdin: false, stop_on_error: true }),
  ];
}

const D = Buffer.from(DELIMITER);

/** One malformed message per kind; `i` picks the kind so every kind is covered evenly. */
const KINDS: ((i: number) => Buffer[])[] = [
  // random frames
  () => Array.from({ length: 1 + int(8) }, () => bytes(int(200))),
  // a forged signature
  (i) => [D, Buffer.from(bytes(32).toString("hex")), ...executeParts(markerCode(i))],
  // signed with another key
  (i) => {
    const parts = executeParts(markerCode(i));
    return [D, Buffer.from(hmac("not-the-key", parts)), ...parts];
  },
  // no signature at all
  (i) => [D, Buffer.alloc(0), ...executeParts(markerCode(i))],
  // the right signature, but in upper case (Jupyter compares lower-case hex)
  (i) => {
    const parts = executeParts(markerCode(i));
    return [D, Buffer.from(hmac(key, parts).toUpperCase()), ...parts];
  },
  // correctly signed, then the code swapped for the marker
  (i) => {
    const signed = executeParts("1");
    const parts = [signed[0], signed[1], signed[2], json({ code: markerCode(i), silent: false })];
    return [D, Buffer.from(hmac(key, signed)), ...parts];
  },
  // missing parts (signed over what is there)
  (i) => {
    const parts = executeParts(markerCode(i)).slice(0, int(4));
    return [D, Buffer.from(hmac(key, parts)), ...parts];
  },
  // signed bad JSON
  (i) => {
    const parts = executeParts(markerCode(i));
    const broken = int(4);
    parts[broken] = parts[broken].subarray(0, Math.max(1, int(parts[broken].length - 1)));
    return [D, Buffer.from(hmac(key, parts)), ...parts];
  },
  // a wrong or missing delimiter, otherwise valid and signed
  (i) => {
    const parts = executeParts(markerCode(i));
    const delims = ["<IDS|MSG", "<ids|msg>", "IDS|MSG", "", "<IDS|MSG> ", "<IDS||MSG>"];
    const sig = Buffer.from(hmac(key, parts));
    return int(4) === 0 ? [sig, ...parts] : [Buffer.from(delims[int(delims.length)]), sig, ...parts];
  },
  // signed, but the header is not a header
  (i) => {
    const bad = [{}, { msg_type: "execute_request" }, { msg_id: "x", msg_type: "execute_request" }, [], 42, null, "execute_request"];
    const parts = executeParts(markerCode(i));
    parts[0] = json(bad[int(bad.length)]);
    return [D, Buffer.from(hmac(key, parts)), ...parts];
  },
  // signed execute_request with parent, metadata or content of the wrong shape
  () => {
    const shapes = [[], "print", null, 7, { code: 42 }, { code: { x: 1 } }, { code: ["a"] }];
    const parts = executeParts("");
    parts[1 + int(3)] = json(shapes[int(shapes.length)]);
    return [D, Buffer.from(hmac(key, parts)), ...parts];
  },
  // signed, well formed, but a msg_type that is not a request type
  (i) => {
    const types = ["execute_reques", "Execute_request", "execute_request ", "execute_reply", "", "__proto__", "constructor", "toString"];
    const parts = executeParts(markerCode(i), types[int(types.length)]);
    return [D, Buffer.from(hmac(key, parts)), ...parts];
  },
  // huge frames, unsigned or as garbage
  (i) => {
    const size = 256 * 1024 + int(2 * 1024 * 1024);
    const parts = executeParts(markerCode(i) + "//" + "x".repeat(size));
    return int(2) === 0
      ? [D, Buffer.from(bytes(32).toString("hex")), ...parts]
      : [D, ...Array.from({ length: 1 + int(3) }, () => bytes(size))];
  },
  // identity-like prefixes and extra trailing frames around a forged message
  (i) => [bytes(5), bytes(1 + int(20)), D, Buffer.from("0".repeat(64)), ...executeParts(markerCode(i)), bytes(int(100))],
];

/** Sends a signed request on a raw socket and reads until its reply (skipping others). */
async function rawRequest(sock: zmq.Dealer, msgType: string, content: object): Promise<Record<string, any>> {
  const h = header(msgType);
  const parts = [json(h), json({}), json({}), json(content)];
  await sock.send([D, Buffer.from(hmac(key, parts)), ...parts]);
  for (;;) {
    const frames = await sock.receive();
    const at = frames.findIndex((f) => f.equals(D));
    const parent = JSON.parse(frames[at + 3].toString());
    if (parent.msg_id === h.msg_id)
      return { header: JSON.parse(frames[at + 2].toString()), content: JSON.parse(frames[at + 5].toString()) };
  }
}

describe("fuzzing shell and control with malformed frames", () => {
  beforeAll(async () => {
    markerDir = makeTempDir("fuzz");
    kernel = await startKernel();
    key = kernel.connection.key;
  });
  afterAll(async () => {
    await kernel?.close();
    rmTempDir(markerDir);
  });

  it(`survives ${COUNT} bad messages, runs none of them, and keeps working`, { timeout: 300_000 }, async () => {
    const shell = new zmq.Dealer({ linger: 0, receiveTimeout: 150_000 });
    const control = new zmq.Dealer({ linger: 0, receiveTimeout: 150_000 });
    shell.connect(endpoint(kernel.connection, "shell"));
    control.connect(endpoint(kernel.connection, "control"));
    try {
      const kindsSent = new Array<number>(KINDS.length).fill(0);
      for (let i = 0; i < COUNT; i++) {
        const kind = i % KINDS.length;
        kindsSent[kind]++;
        await (i % 2 === 0 ? shell : control).send(KINDS[kind](i));
      }
      expect(kindsSent.every((n) => n >= Math.floor(COUNT / KINDS.length))).toBe(true);

      // Each socket's queue is handled in order: a reply here means every bad message before it was processed.
      const [s, c] = await Promise.all([rawRequest(shell, "kernel_info_request", {}), rawRequest(control, "kernel_info_request", {})]);
      expect(s.header.msg_type).toBe("kernel_info_reply");
      expect(c.header.msg_type).toBe("kernel_info_reply");

      expect(kernel.alive).toBe(true);
      expect(await kernel.heartbeat()).toBe(true);
      const info = await kernel.request("shell", "kernel_info_request", {}, { timeout: 10_000 });
      expect(info.content.status).toBe("ok");
      const { reply, outputs } = await kernel.execute("6 * 7", { timeout: 60_000 });
      expect(reply.content.status).toBe("ok");
      const result = outputs.find((m) => m.header.msg_type === "execute_result");
      expect((result!.content as { data: Record<string, string> }).data["text/plain"]).toBe("42");

      expect(fs.readdirSync(markerDir)).toEqual([]);
      // Dropped messages are logged (to the kernel's stderr), with the reason.
      for (const reason of ["bad-signature", "missing-parts", "no-delimiter", "bad-json", "bad-header"]) {
        expect(kernel.stderrTail).toMatch(new RegExp(`dropped (shell|control) message \\(${reason}\\)`));
      }

      // The same kind of payload, correctly signed, does leave its marker.
      const ran = await rawRequest(shell, "execute_request", {
        code: markerCode(-1),
        silent: false,
        store_history: true,
        allow_stdin: false,
        stop_on_error: true,
      });
      expect(ran.content.status).toBe("ok");
      expect(fs.readdirSync(markerDir)).toEqual(["fuzz--1"]);
    } finally {
      shell.close();
      control.close();
    }
  });
});
