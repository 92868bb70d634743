// Reads and checks a Jupyter connection file (ports, key, transport, ip) and names each
// channel's endpoint: the kernel binds them (kernel/transport.ts), a frontend connects to them
// (jupyter-client/).
import { readFile } from "node:fs/promises";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
}

export class ConnectionFileError extends Error {
  readonly code = "BAD_CONNECTION_FILE";
}

const PORTS = ["shell_port", "control_port", "stdin_port", "iopub_port", "hb_port"] as const;
export type Channel = "shell" | "control" | "stdin" | "iopub" | "hb";

export async function readConnectionFile(path: string): Promise<ConnectionInfo> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (e) {
    throw new ConnectionFileError(`cannot read connection file ${path}: ${(e as Error).message}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ConnectionFileError(`connection file ${path} is not JSON: ${(e as Error).message}`);
  }
  return parseConnection(json, path);
}

export function parseConnection(json: Record<string, unknown>, where = "connection file"): ConnectionInfo {
  const transport = json.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new ConnectionFileError(`${where}: transport ${JSON.stringify(transport)} is not supported (accepted: "tcp", "ipc")`);
  }
  const scheme = json.signature_scheme ?? "hmac-sha256";
  if (scheme !== "hmac-sha256") {
    throw new ConnectionFileError(`${where}: signature_scheme ${JSON.stringify(scheme)} is not supported (accepted: "hmac-sha256")`);
  }
  const key = json.key ?? "";
  if (typeof key !== "string") throw new ConnectionFileError(`${where}: key must be a string`);
  const ip = json.ip ?? "127.0.0.1";
  if (typeof ip !== "string" || ip === "") throw new ConnectionFileError(`${where}: ip must be a non-empty string`);
  const info = { transport, ip, key, signature_scheme: scheme } as ConnectionInfo;
  for (const p of PORTS) {
    const v = json[p];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 65535) {
      throw new ConnectionFileError(`${where}: ${p} is ${JSON.stringify(v)}; expected an integer port 0-65535`);
    }
    info[p] = v as number;
  }
  return info;
}

/** The ZeroMQ endpoint for one channel, e.g. tcp://127.0.0.1:5555 or ipc://kernel-ipc-1. */
export function endpoint(info: ConnectionInfo, channel: Channel): string {
  const port = info[`${channel}_port` as (typeof PORTS)[number]];
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
