// A scoring server for a loaded model on node:http, answering as `mlflow models serve` does:
// `POST /invocations` (the protocol is scoring-protocol.ts), `GET /ping` and `/health` (200
// once the model is loaded), `GET /version`. `close()` is the graceful shutdown: no new
// connections, requests already received are answered, idle keep-alive connections dropped.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LoadedModel } from "./load-local.js";
import { errorAnswer, parseScoringRequest, predictionsBody, ScoringError, type ScoringAnswer } from "./scoring-protocol.js";

/** Default largest request body: a larger one is refused with 413 before it is read whole. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface ScoringServerOptions {
  model: LoadedModel;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** What `GET /version` answers. */
  version?: string;
  maxBodyBytes?: number;
}

export interface ScoringServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Requests being answered right now. */
  readonly inFlight: number;
  /** Stops accepting, answers what was received, then resolves. */
  close(): Promise<void>;
}

const json = (status: number, body: string): ScoringAnswer => ({ status, contentType: "application/json", body });

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (declared > limit) {
      req.resume();
      return reject(tooLarge(declared, limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(tooLarge(size, limit));
        // The rest is read and dropped, so the client finishes sending and reads the 413.
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const tooLarge = (size: number, limit: number) =>
  new ScoringError(
    `The request body (${size} bytes${size > limit ? " or more" : ""}) is larger than this server accepts (${limit} bytes): send the rows in smaller requests.`,
    413,
  );

/** Starts serving `model`; resolves once it listens. */
export async function startScoringServer(opts: ScoringServerOptions): Promise<ScoringServer> {
  const { model } = opts;
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const schema = model.metadata.signature?.inputs;
  let inFlight = 0;
  let closing = false;

  async function invocations(req: IncomingMessage): Promise<ScoringAnswer> {
    try {
      const body = await readBody(req, limit);
      const request = parseScoringRequest(body, req.headers["content-type"], schema);
      const predictions = await model.predict(request.input, request.params);
      return json(200, predictionsBody(predictions));
    } catch (err) {
      return errorAnswer(err);
    }
  }

  async function route(req: IncomingMessage): Promise<ScoringAnswer & { allow?: string }> {
    const path = (req.url ?? "/").split("?")[0];
    const method = req.method ?? "GET";
    switch (path) {
      case "/invocations":
        if (method !== "POST") return { ...json(405, '{"detail":"Method Not Allowed"}'), allow: "POST" };
        return invocations(req);
      case "/ping":
      case "/health":
      case "/version":
        if (method !== "GET" && method !== "HEAD") return { ...json(405, '{"detail":"Method Not Allowed"}'), allow: "GET, HEAD" };
        return path === "/version" ? json(200, opts.version ?? "unknown") : json(200, "\n");
      default:
        return json(404, '{"detail":"Not Found"}');
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    route(req)
      .then(
        (answer) => {
          const headers: Record<string, string | number> = {
            "content-type": answer.contentType,
            "content-length": Buffer.byteLength(answer.body),
          };
          if (answer.allow) headers.allow = answer.allow;
          // A client keeping its connection open must not hold a shutting-down server.
          if (closing) headers.connection = "close";
          res.writeHead(answer.status, headers);
          res.end(req.method === "HEAD" ? undefined : answer.body);
        },
        (err) => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error_code: "INTERNAL_ERROR", message: String(err) }));
        },
      )
      .finally(() => {
        inFlight--;
      });
  });
  // Predictions may take long: no socket timeout on requests.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let closed: Promise<void> | undefined;
  return {
    server,
    url,
    port,
    get inFlight() {
      return inFlight;
    },
    close() {
      closing = true;
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
