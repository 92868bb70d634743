// A real HTTP server on 127.0.0.1 (port 0) that answers MLflow's log-batch the way the
// recorded server did: 200 `{}` (exchange 034/035), 400 INVALID_PARAMETER_VALUE for more
// than 1000 metrics (041) and for a changed param (036), with the recorded content types.
// It counts every metric point it accepted by (run, key, step, timestamp), and can be
// switched to refuse connections or to answer 503 with Retry-After, to test the logger's
// way through an outage.

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { WIRE_DIR } from "../support/paths.js";

interface Exchange {
  response: { status: number; content_type: string; body: unknown };
}
const fixture = (name: string): Exchange => JSON.parse(readFileSync(join(WIRE_DIR, "rest", name), "utf8"));
const OK = fixture("034-runs-log-batch.json").response;
const TOO_MANY = fixture("041-limits-log-batch-1001-metrics.json").response;
const CHANGED_PARAM = fixture("036-runs-log-batch-change-param.json").response;

export type Mode = "ok" | "refuse" | "unavailable";

export class LogBatchServer {
  /** Accepted metric points: `${run}|${key}|${step}|${timestamp}` -> times received. */
  readonly points = new Map<string, number>();
  readonly params = new Map<string, string>();
  readonly tags = new Map<string, string>();
  /** Status of every log-batch answer, in order. */
  readonly statuses: number[] = [];
  /** Arrival time (ms) of every log-batch request, in order. */
  readonly arrivals: number[] = [];
  /** Metrics per accepted request. */
  readonly batchSizes: number[] = [];
  retryAfterSeconds = 1;
  /** Delays (ms) applied to the next requests before they take effect, one per request. */
  readonly delays: number[] = [];
  private mode: Mode = "ok";
  private server!: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** `refuse` closes the listening socket (connections get ECONNREFUSED); other modes reopen it on the same port. */
  async setMode(mode: Mode): Promise<void> {
    if (mode === this.mode) return;
    if (mode === "refuse") await this.stopListening();
    else if (this.mode === "refuse") await this.start(this.port);
    this.mode = mode;
  }

  async close(): Promise<void> {
    if (this.mode !== "refuse") await this.stopListening();
  }

  private async stopListening(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Points received more than once. */
  duplicates(): string[] {
    return [...this.points].filter(([, n]) => n > 1).map(([k]) => k);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || req.url !== "/api/2.0/mlflow/runs/log-batch") {
      res.writeHead(404, { "Content-Type": "text/html; charset=utf-8" }).end("<!doctype html><title>404 Not Found</title>");
      return;
    }
    this.arrivals.push(Date.now());
    if (this.mode === "unavailable") {
      this.statuses.push(503);
      res
        .writeHead(503, { "Content-Type": "text/html; charset=utf-8", "Retry-After": String(this.retryAfterSeconds) })
        .end("<html><body><h1>503 Service Unavailable</h1></body></html>");
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      run_id: string;
      metrics?: { key: string; value: number | string; timestamp: number; step?: number }[];
      params?: { key: string; value: string }[];
      tags?: { key: string; value: string }[];
    };
    const delay = this.delays.shift();
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const answer = (r: Exchange["response"], body: unknown = r.body) => {
      this.statuses.push(r.status);
      res.writeHead(r.status, { "Content-Type": r.content_type }).end(JSON.stringify(body));
    };
    const metrics = body.metrics ?? [];
    if (metrics.length > 1000) {
      const message = (TOO_MANY.body as { message: string }).message.replace("1001", String(metrics.length));
      return answer(TOO_MANY, { ...(TOO_MANY.body as object), message });
    }
    for (const p of body.params ?? []) {
      const before = this.params.get(`${body.run_id}|${p.key}`);
      if (before !== undefined && before !== p.value) {
        const message = `Changing param values is not allowed. Params were already logged='[{'key': '${p.key}', 'old_value': '${before}', 'new_value': '${p.value}'}]' for run ID='${body.run_id}'.`;
        return answer(CHANGED_PARAM, { error_code: "INVALID_PARAMETER_VALUE", message });
      }
    }
    for (const p of body.params ?? []) this.params.set(`${body.run_id}|${p.key}`, p.value);
    for (const t of body.tags ?? []) this.tags.set(`${body.run_id}|${t.key}`, t.value);
    for (const m of metrics) {
      const id = `${body.run_id}|${m.key}|${m.step ?? 0}|${m.timestamp}`;
      this.points.set(id, (this.points.get(id) ?? 0) + 1);
    }
    this.batchSizes.push(metrics.length);
    answer(OK);
  }
}
