// A stand-in for an MLflow tracking server on 127.0.0.1 (port 0) that answers with the
// exchanges recorded from a real one: MLflow 2.22 (test/fixtures/mlflow-wire/rest, the
// default) or 3.4 (mlflow-wire/mlflow-3.4/rest, `start({ version: "3.4" })`; exchanges of
// either directory can also be queued as objects). Tests queue the exchanges they expect; each incoming request is checked against the recorded one (method,
// path, query with its exact encoding, headers the recorder set, body) and answered with
// the recorded response. Placeholders (<RUN_A>, <TS_3>, ...) become consistent concrete values.
// Fault hooks (reset or hang connections, 503 + Retry-After, refuse connections) and general routes
// serve fault and load tests; every request received is recorded.

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Recorded exchanges, copied into the repo so that a clone alone runs the suite. */
export const WIRE_DIR = resolve(REPO_ROOT, "test/fixtures/mlflow-wire");
export const REST_DIR = join(WIRE_DIR, "rest");
export const REST_34_DIR = join(WIRE_DIR, "mlflow-3.4", "rest");

/** The recordings of each MLflow version the stand-in can replay. */
export const REST_DIRS = { "2.22": REST_DIR, "3.4": REST_34_DIR } as const;
export type RecordedVersion = keyof typeof REST_DIRS;

export interface RecordedRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
  body?: unknown;
  body_encoding?: "base64";
}
export interface RecordedResponse {
  status: number;
  content_type: string;
  body?: unknown;
  body_encoding?: "base64";
  headers?: Record<string, string>;
}
export interface Exchange {
  no: number;
  /** File name without number and extension, e.g. `runs-log-batch`. */
  name: string;
  file: string;
  title: string;
  request: RecordedRequest;
  response: RecordedResponse;
}

const cache = new Map<string, Exchange[]>();
/** Every recorded exchange of a directory (2.22's by default), in recording order. */
export function loadExchanges(dir: string = REST_DIR): Exchange[] {
  const cached = cache.get(dir);
  if (cached) return cached;
  const out = readdirSync(dir)
    .filter((f) => /^\d{3}-.*\.json$/.test(f))
    .sort()
    .map((file) => {
      const data = JSON.parse(readFileSync(join(dir, file), "utf8"));
      return {
        no: Number(file.slice(0, 3)),
        name: file.slice(4, -5),
        file,
        title: data.title,
        request: data.request,
        response: data.response,
      };
    });
  cache.set(dir, out);
  return out;
}

/** One exchange by number (34) or name (`runs-log-batch`), from 2.22's recordings unless `dir` says otherwise. */
export function exchange(id: number | string, dir: string = REST_DIR): Exchange {
  const ex = loadExchanges(dir).find((e) => (typeof id === "number" ? e.no === id : e.name === id));
  if (!ex) throw new Error(`No recorded exchange ${id} in ${dir}`);
  return ex;
}

/** One exchange of MLflow 3.4's recordings (mlflow-3.4/rest). */
export const exchange34 = (id: number | string): Exchange => exchange(id, REST_34_DIR);

export interface ReceivedRequest {
  method: string;
  /** Raw request target, e.g. `/api/2.0/mlflow/runs/get?run_id=...`. */
  url: string;
  /** Decoded path. */
  path: string;
  rawQuery: string;
  query: Record<string, string[]>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Parsed JSON body when it parses. */
  json?: unknown;
}

export type Fault =
  | { kind: "reset" }
  /** Never answer (the request times out on the client). */
  | { kind: "hang" }
  | { kind: "status"; status: number; retryAfter?: string | number; contentType?: string; body?: string };

export interface StandinAnswer {
  status: number;
  contentType: string;
  body: Buffer | string;
  headers?: Record<string, string>;
}
export type RouteAnswer = number | string | ((req: ReceivedRequest, standin: MlflowStandin) => StandinAnswer | Exchange | number | string);

interface Route {
  method: string;
  path: string | RegExp;
  answer: RouteAnswer;
}

const PLACEHOLDER_IDS = ["RUN_A", "RUN_B", "RUN_C", "RUN_D", "RUN_E", "RUN_LIMITS"] as const;

export class MlflowStandin {
  readonly received: ReceivedRequest[] = [];
  /** Requests that did not match the expected exchange, with what differed. */
  readonly mismatches: { exchange: string; problems: string[] }[] = [];
  /** Requests that arrived with nothing queued and no route. */
  readonly unexpected: ReceivedRequest[] = [];
  /** Placeholder name -> concrete value used in this server's answers. */
  readonly ids: Record<string, string>;
  private readonly queue: Exchange[] = [];
  private readonly routes: Route[] = [];
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server;
  port = 0;

  /** The MLflow version whose recordings numbers and names refer to. */
  readonly version: RecordedVersion;
  private readonly restDir: string;

  private constructor(version: RecordedVersion) {
    this.version = version;
    this.restDir = REST_DIRS[version];
    this.ids = Object.fromEntries(PLACEHOLDER_IDS.map((p) => [p, randomBytes(16).toString("hex")]));
    // 3.4's LoggedModels (mlflow-3.4/README.md): `m-` + 32 hex, and the name the server made up.
    this.ids.MODEL_A = "m-" + randomBytes(16).toString("hex");
    this.ids.MODEL_B = "m-" + randomBytes(16).toString("hex");
    this.ids.GENERATED_MODEL_NAME = "clever-fox-042";
    this.ids.GENERATED_RUN_NAME = "gentle-owl-417";
    this.ids.ARTIFACT_ROOT = "/srv/mlflow/mlartifacts";
    this.server = this.makeServer();
  }

  static async start(opts: { version?: RecordedVersion } = {}): Promise<MlflowStandin> {
    const s = new MlflowStandin(opts.version ?? "2.22");
    await s.listen(0);
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Queue exchanges; requests must arrive in this order and match them. */
  expect(...exchanges: (Exchange | number | string)[]): this {
    for (const e of exchanges) this.queue.push(typeof e === "object" ? e : exchange(e, this.restDir));
    return this;
  }
  /** Exchanges queued but not yet requested. */
  get pending(): Exchange[] {
    return [...this.queue];
  }
  /** Answer every request for method + path with an exchange's response (or a function's answer). */
  route(method: string, path: string | RegExp, answer: RouteAnswer): this {
    this.routes.push({ method, path, answer });
    return this;
  }
  /** Forget every route (reset() keeps them). */
  clearRoutes(): this {
    this.routes.length = 0;
    return this;
  }
  /** The next `n` requests fail this way before anything else is considered. */
  failNext(n: number, fault: Fault): this {
    for (let i = 0; i < n; i++) this.faults.push(fault);
    return this;
  }
  /** Stop accepting connections (clients get ECONNREFUSED) and drop open ones. */
  async refuse(): Promise<void> {
    await new Promise<void>((res) => {
      this.server.close(() => res());
      for (const s of this.sockets) s.destroy();
    });
  }
  /** Accept connections again on the same port. */
  async accept(): Promise<void> {
    this.server = this.makeServer();
    await this.listen(this.port);
  }
  reset(): void {
    this.received.length = 0;
    this.mismatches.length = 0;
    this.unexpected.length = 0;
    this.queue.length = 0;
    this.faults.length = 0;
  }
  async close(): Promise<void> {
    await this.refuse();
  }

  /** Replaces placeholders in recorded JSON: ids and names as strings, `<TS_n>` as numbers. */
  substitute<T>(value: T): T {
    const sub = (v: unknown): unknown => {
      if (typeof v === "string") {
        const ts = /^<TS_(\d+)>$/.exec(v);
        if (ts) return tsValue(Number(ts[1]));
        return this.substituteText(v);
      }
      if (Array.isArray(v)) return v.map(sub);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x)]));
      return v;
    };
    return sub(value) as T;
  }
  substituteText(text: string): string {
    return text.replace(/<TS_(\d+)>/g, (_m, n) => String(tsValue(Number(n)))).replace(/<([A-Z_]+)>/g, (m, name) => this.ids[name] ?? m);
  }

  /** The recorded request with placeholders filled in, as our client should send it. */
  requestOf(ex: Exchange): RecordedRequest {
    return this.substitute(ex.request);
  }
  /** The recorded response as this server sends it. */
  answerOf(ex: Exchange): StandinAnswer {
    const r = ex.response;
    let body: Buffer | string;
    if (r.body_encoding === "base64") body = Buffer.from(String(r.body), "base64");
    else if (typeof r.body === "string") body = this.substituteText(r.body);
    else body = JSON.stringify(this.substitute(r.body ?? {}));
    return { status: r.status, contentType: r.content_type, body, headers: r.headers ? this.substitute(r.headers) : undefined };
  }

  private makeServer(): Server {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((res, rej) => {
      this.server.once("error", rej);
      this.server.listen(port, "127.0.0.1", () => {
        const addr = this.server.address();
        if (addr && typeof addr === "object") this.port = addr.port;
        res();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawQuery = q >= 0 ? url.slice(q + 1) : "";
    const query: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(rawQuery)) (query[k] ??= []).push(v);
    let json: unknown;
    try {
      json = body.length ? JSON.parse(body.toString("utf8")) : undefined;
    } catch {
      /* not JSON */
    }
    const received: ReceivedRequest = {
      method: req.method ?? "GET",
      url,
      path: safeDecode(q >= 0 ? url.slice(0, q) : url),
      rawQuery,
      query,
      headers: req.headers,
      body,
      json,
    };
    this.received.push(received);

    const fault = this.faults.shift();
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "hang") return;
    if (fault?.kind === "status") {
      const headers: Record<string, string> = { "Content-Type": fault.contentType ?? "text/html; charset=utf-8" };
      if (fault.retryAfter !== undefined) headers["Retry-After"] = String(fault.retryAfter);
      res.writeHead(fault.status, headers).end(fault.body ?? `<html><body><h1>${fault.status}</h1></body></html>`);
      return;
    }

    const expected = this.queue.shift();
    if (expected) {
      const problems = compareRequest(this.requestOf(expected), received, this.substitute(expected.response));
      if (problems.length) {
        this.mismatches.push({ exchange: expected.file, problems });
        // 418 is not retried, so the mismatch surfaces at once.
        res
          .writeHead(418, { "Content-Type": "application/json" })
          .end(JSON.stringify({ error_code: "STANDIN_MISMATCH", message: `${expected.file}: ${problems.join("; ")}` }));
        return;
      }
      this.send(res, this.answerOf(expected));
      return;
    }

    const route = this.routes.find(
      (r) => r.method === received.method && (typeof r.path === "string" ? r.path === received.path : r.path.test(received.path)),
    );
    if (route) {
      let a: RouteAnswer | StandinAnswer | Exchange = route.answer;
      if (typeof a === "function") a = a(received, this);
      this.send(
        res,
        typeof a === "number" || typeof a === "string" ? this.answerOf(exchange(a, this.restDir)) : "no" in a ? this.answerOf(a) : a,
      );
      return;
    }

    this.unexpected.push(received);
    // What the real server says for a path it does not serve (fixture 120).
    this.send(res, this.answerOf(exchange("protocol-unknown-endpoint", this.restDir)));
  }

  private send(res: ServerResponse, a: StandinAnswer): void {
    const headers: Record<string, string> = { "Content-Type": a.contentType };
    for (const [k, v] of Object.entries(a.headers ?? {})) if (k.toLowerCase() !== "content-length") headers[k] = v;
    const buf = typeof a.body === "string" ? Buffer.from(a.body, "utf8") : a.body;
    const declaresLength = Object.keys(a.headers ?? {}).some((k) => k.toLowerCase() === "content-length");
    // The proxy download came without Content-Length (chunked); keep it that way where recorded.
    if (declaresLength || !a.headers) headers["Content-Length"] = String(buf.length);
    res.writeHead(a.status, headers);
    res.end(buf);
  }
}

const tsValue = (n: number) => 1_795_700_000_000 + n * 1000;
const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

// Proto2 defaults the server fills in: a metric without `step` is step 0.
function normaliseBody(path: string, body: unknown): unknown {
  if (!body || typeof body !== "object") return body;
  const b = structuredClone(body) as Record<string, any>;
  if (path.endsWith("/runs/log-batch") && Array.isArray(b.metrics))
    for (const m of b.metrics) if (m && typeof m === "object" && m.step === undefined) m.step = 0;
  if (path.endsWith("/runs/log-metric") && b.step === undefined) b.step = 0;
  return b;
}

const sortedPieces = (q: string) => (q ? q.split("&").sort() : []);

/**
 * The page size `got` sent where the recording sent none, when that cannot change the answer:
 * the recorded answer was a last page (200, no next_page_token) of no more items than `got`
 * asks for, or an error about something else. The recordings were made with MLflow's Python client, which leaves max_results
 * out on some calls (runs/search 073, model-versions/search 108, 2.22's get-history 066,
 * where the server ignores it); our client sends it on every paginated call. An answer
 * with a token (3.4's get-history without max_results) never matches this way.
 */
function unrecordedPageSize(want: RecordedRequest, got: ReceivedRequest, answer: RecordedResponse | undefined): number | undefined {
  const sent = got.query.max_results?.[0] ?? (got.json as Record<string, unknown> | undefined)?.max_results;
  if (sent === undefined || !answer) return undefined;
  const recordedQuery = want.url?.includes("?") ? want.url.slice(want.url.indexOf("?") + 1) : "";
  if (new URLSearchParams(recordedQuery).has("max_results")) return undefined;
  if (want.body && typeof want.body === "object" && "max_results" in want.body) return undefined;
  const body = answer.body;
  if (!body || typeof body !== "object") return undefined;
  const size = Number(sent);
  if (!Number.isInteger(size) || size < 1) return undefined;
  // An error about something else (a bad filter, 081) is the same whatever the page size.
  if (answer.status !== 200) return /max_results/.test(JSON.stringify(body)) ? undefined : size;
  if ((body as Record<string, unknown>).next_page_token) return undefined;
  const items = Object.values(body)
    .filter(Array.isArray)
    .reduce((n, a) => n + a.length, 0);
  return size >= items ? size : undefined;
}

/**
 * Differences between the recorded request and the one received (empty when they match).
 * Given the recorded answer, a page size the recording lacks is allowed where it cannot change
 * that answer (see unrecordedPageSize).
 */
export function compareRequest(want: RecordedRequest, got: ReceivedRequest, answer?: RecordedResponse): string[] {
  const problems: string[] = [];
  const pageSize = unrecordedPageSize(want, got, answer);
  if (pageSize !== undefined) got = withoutPageSize(got);
  if (want.method !== got.method) problems.push(`method ${got.method}, recorded ${want.method}`);
  if (want.path !== got.path) problems.push(`path ${got.path}, recorded ${want.path}`);
  const wantQuery = want.url?.includes("?") ? want.url.slice(want.url.indexOf("?") + 1) : "";
  // Same parameters with the same encoding (%20 style); their order is free.
  if (!isDeepStrictEqual(sortedPieces(wantQuery), sortedPieces(got.rawQuery)))
    problems.push(`query "${got.rawQuery}", recorded "${wantQuery}"`);
  for (const [name, value] of Object.entries(want.headers ?? {})) {
    const have = got.headers[name.toLowerCase()];
    if (have !== value) problems.push(`header ${name}: ${JSON.stringify(have)}, recorded ${JSON.stringify(value)}`);
  }
  if (want.body === undefined) {
    if (got.body.length) problems.push(`unexpected body ${JSON.stringify(got.body.toString("utf8").slice(0, 200))}`);
  } else if (want.body_encoding === "base64") {
    if (!Buffer.from(String(want.body), "base64").equals(got.body)) problems.push("binary body differs from the recorded one");
  } else if (typeof want.body === "string") {
    if (got.body.toString("utf8") !== want.body)
      problems.push(`body ${JSON.stringify(got.body.toString("utf8").slice(0, 200))}, recorded ${JSON.stringify(want.body.slice(0, 200))}`);
  } else {
    if (got.json === undefined) problems.push(`body is not JSON: ${JSON.stringify(got.body.toString("utf8").slice(0, 200))}`);
    else if (!isDeepStrictEqual(normaliseBody(want.path, want.body), normaliseBody(want.path, got.json)))
      problems.push(`JSON body ${JSON.stringify(got.json).slice(0, 400)}, recorded ${JSON.stringify(want.body).slice(0, 400)}`);
  }
  return problems;
}

function withoutPageSize(got: ReceivedRequest): ReceivedRequest {
  const rawQuery = got.rawQuery
    .split("&")
    .filter((p) => p && !p.startsWith("max_results="))
    .join("&");
  const query = { ...got.query };
  delete query.max_results;
  let json = got.json;
  if (json && typeof json === "object" && !Array.isArray(json) && "max_results" in json) {
    const { max_results: _dropped, ...rest } = json as Record<string, unknown>;
    json = rest;
  }
  return { ...got, rawQuery, query, json };
}

/**
 * Routes `runs/create` to the recorded answer (exchange "runs-create-named") carrying this
 * request's name, start time and tags, under a run id new to this process; `onCreated` sees each id.
 */
let createdRunSeq = 0;
export function routeRunsCreate(standin: MlflowStandin, onCreated: (runId: string) => void = () => undefined): void {
  standin.route("POST", "/api/2.0/mlflow/runs/create", (req, s) => {
    const body = s.substitute(exchange("runs-create-named").response.body) as Record<string, any>;
    const sent = req.json as Record<string, any>;
    const runId = `${s.ids.RUN_A.slice(0, 28)}${String(++createdRunSeq).padStart(4, "0")}`;
    onCreated(runId);
    Object.assign(body.run.info, {
      run_id: runId,
      run_uuid: runId,
      run_name: sent.run_name,
      start_time: sent.start_time,
      artifact_uri: `mlflow-artifacts:/1/${runId}/artifacts`,
    });
    body.run.data.tags = [
      ...sent.tags.filter((t: { key: string }) => t.key !== "mlflow.runName"),
      { key: "mlflow.runName", value: sent.run_name },
    ];
    return { status: 200, contentType: "application/json", body: JSON.stringify(body) };
  });
}

/**
 * Routes `runs/update` to the recorded answer (exchange "runs-update-finished") for the run,
 * status and end time sent; like the recorded one, it names that run's own artifact root.
 */
export function routeRunsUpdate(standin: MlflowStandin): void {
  standin.route("POST", "/api/2.0/mlflow/runs/update", (req, s) => {
    const body = s.substitute(exchange("runs-update-finished").response.body) as Record<string, any>;
    const sent = req.json as Record<string, any>;
    Object.assign(body.run_info, {
      run_id: sent.run_id,
      run_uuid: sent.run_id,
      status: sent.status,
      end_time: sent.end_time,
      artifact_uri: `mlflow-artifacts:/1/${sent.run_id}/artifacts`,
    });
    return { status: 200, contentType: "application/json", body: JSON.stringify(body) };
  });
}
