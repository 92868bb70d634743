// The frontend's side of connection files: five free TCP ports on the loopback
// address and a random HMAC key, written 0600 because the key lets anyone who
// reads it run code in the kernel. (The kernel's side, reading, is protocol/connection.ts.)
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { ConnectionInfo } from "../protocol/connection.js";

/** `n` distinct ports the OS reports free on `host` (all held open until all are known). */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => resolve());
      });
      ports.push((server.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** A fresh connection description: free ports on `ip`, a random 32-byte hex key. */
export async function newConnectionInfo(ip = "127.0.0.1", key?: string): Promise<ConnectionInfo> {
  const [shell, iopub, stdin, control, hb] = await freePorts(5, ip);
  return {
    transport: "tcp",
    ip,
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    key: key ?? randomBytes(32).toString("hex"),
    signature_scheme: "hmac-sha256",
  };
}

/** Writes `info` to `file` (or to a new private temp dir); returns the path. */
export function writeConnectionFile(info: ConnectionInfo, file?: string): string {
  const target = file ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tslab-mlflow-")), "kernel.json");
  fs.writeFileSync(target, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
  return target;
}
