// HTTP transport for MLflow's REST API on undici: one connection pool per store, auth
// headers, timeouts, and retries with backoff through undici's RetryAgent (the same policy
// as MLflow's Python client: 408/429/5xx and connection errors, honouring Retry-After).
// Answers become parsed JSON or an MlflowError carrying the server's error_code and status.

import type { Agent, Dispatcher } from "undici";
import { MlflowError, TRANSIENT_HTTP_STATUSES } from "../errors.js";

export type Auth = { kind: "basic"; username: string; password: string } | { kind: "bearer"; token: string };

export interface HttpOptions {
  /** Server root, e.g. `http://127.0.0.1:5000` or `https://host/prefix` (no trailing slash needed). */
  baseUrl: string;
  auth?: Auth;
  /** Accept any TLS certificate (MLFLOW_TRACKING_INSECURE_TLS). */
  insecureTls?: boolean;
  /** Per-request timeout for headers and for each body chunk; 0 disables. Default 120 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 7. */
  maxRetries?: number;
  /** Wait before the first retry; doubles after each one. Default 2 s (backoff factor 2). */
  backoffMs?: number;
  /** Longest wait between retries, also the cap on Retry-After. Default 120 s. */
  maxBackoffMs?: number;
  /** Extra headers on every request (e.g. a user agent). */
  headers?: Record<string, string>;
}

export type QueryValue = string | number | boolean | undefined | readonly string[];

export interface HttpRequest {
  method: Dispatcher.HttpMethod;
  /** Path below the base URL (`/api/2.0/...`), or an absolute URL (artifact repositories). */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON with `Content-Type: application/json`; non-finite numbers as "NaN"/"Infinity". */
  json?: unknown;
  /** Sent as is (artifact uploads, raw protocol tests). */
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /**
   * `download` leaves 500 out of the retried statuses: the artifact proxy answers a missing
   * file with 500, and retrying that for minutes helps nobody.
   */
  retry?: "api" | "download" | "none";
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  body: Buffer;
  /** The URL that was requested, for error messages. */
  url: string;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_RETRIES = 7;
export const DEFAULT_BACKOFF_MS = 2_000;
export const DEFAULT_MAX_BACKOFF_MS = 120_000;

// undici's defaults plus a connect timeout; timeouts while waiting for an answer are not
// retried, because the server may have applied a write that we would then apply twice.
const RETRIED_ERROR_CODES = [
  "ECONNRESET",
  "ECONNREFUSED",
  "ENOTFOUND",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
];
const ALL_METHODS: Dispatcher.HttpMethod[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** Percent-encodes like Python's `quote(safe="")`, which MLflow's client uses: `'` and `(` too. */
export const encodeComponent = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

export function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) parts.push(`${encodeComponent(k)}=${encodeComponent(String(item))}`);
  }
  return parts.length ? "?" + parts.join("&") : "";
}

/** JSON.stringify that writes NaN and ±Infinity the way MLflow reads them (JSON has no such numbers). */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity") : v,
  );
}

export function authHeader(auth: Auth | undefined): string | undefined {
  if (!auth) return undefined;
  if (auth.kind === "bearer") return `Bearer ${auth.token}`;
  return "Basic " + Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64");
}

type Undici = typeof import("undici");

/** The connection pool and its dispatchers, made at the first request. */
interface Transport {
  agent: Agent;
  dispatchers: Record<"api" | "download" | "none", Dispatcher>;
  request: Undici["request"];
}

export class HttpClient {
  readonly baseUrl: string;
  private transport: Promise<Transport> | undefined;
  private readonly fixedHeaders: Record<string, string>;
  readonly maxRetries: number;

  constructor(readonly options: HttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    const auth = authHeader(options.auth);
    this.fixedHeaders = { ...(options.headers ?? {}), ...(auth ? { Authorization: auth } : {}) };
  }

  /** undici loads at the first request (~130 ms of CPU), so a process that only uses a file store never pays for it. */
  private connect(): Promise<Transport> {
    return (this.transport ??= import("undici").then(({ Agent, RetryAgent, request }) => {
      const options = this.options;
      const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const agent = new Agent({
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connect: { timeout: timeout || undefined, rejectUnauthorized: !options.insecureTls },
      });
      const retryOptions = (statusCodes: number[]) => ({
        maxRetries: this.maxRetries,
        minTimeout: options.backoffMs ?? DEFAULT_BACKOFF_MS,
        maxTimeout: options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
        timeoutFactor: 2,
        retryAfter: true,
        // Pass the last failed answer through instead of throwing, so its error body is read.
        throwOnError: false,
        methods: ALL_METHODS,
        statusCodes,
        errorCodes: RETRIED_ERROR_CODES,
      });
      const dispatchers = {
        api: new RetryAgent(agent, retryOptions([...TRANSIENT_HTTP_STATUSES])),
        download: new RetryAgent(agent, retryOptions(TRANSIENT_HTTP_STATUSES.filter((s) => s !== 500))),
        none: agent,
      };
      return { agent, dispatchers, request };
    }));
  }

  urlFor(path: string, query?: Record<string, QueryValue>): string {
    const base = /^https?:\/\//i.test(path) ? path : this.baseUrl + (path.startsWith("/") ? path : "/" + path);
    return base + buildQuery(query);
  }

  /** Sends one request (with retries); any HTTP status is returned, only unreachable servers throw. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const url = this.urlFor(req.path, req.query);
    const headers: Record<string, string> = { ...this.fixedHeaders };
    let body: string | Uint8Array | undefined = req.body;
    if (req.json !== undefined) {
      // JSON.stringify writes a non-finite number as null; only then pay for the replacer.
      body = JSON.stringify(req.json);
      if (body.includes("null")) body = stringifyJson(req.json);
      headers["Content-Type"] = "application/json";
    }
    Object.assign(headers, req.headers ?? {});
    const { request, dispatchers } = await this.connect();
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body,
        dispatcher: dispatchers[req.retry ?? "api"],
      });
      const buf = Buffer.from(await res.body.arrayBuffer());
      const ct = res.headers["content-type"];
      return { status: res.statusCode, headers: res.headers, contentType: String(ct ?? ""), body: buf, url };
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      const detail = (err as Error).message || code;
      // A certificate the client does not trust will not get better by retrying later.
      if (/CERT|SELF_SIGNED|ERR_TLS|ERR_SSL/.test(code))
        throw new MlflowError(
          "TLS_ERROR",
          `TLS failure talking to ${url}: ${code}: ${detail}. Set MLFLOW_TRACKING_INSECURE_TLS=true to accept this certificate, or use a certificate the system trusts.`,
          undefined,
          { cause: err },
        );
      const tries = req.retry === "none" ? "" : ` (retried up to ${this.maxRetries} times)`;
      throw new MlflowError(
        "TEMPORARILY_UNAVAILABLE",
        `Could not reach the MLflow server: ${req.method} ${url} failed with ${code ? code + ": " : ""}${detail}${tries}.`,
        undefined,
        { cause: err },
      );
    }
  }

  /** Sends a request and parses the JSON answer; an error status becomes an MlflowError. */
  async json<T = Record<string, unknown>>(req: HttpRequest): Promise<T> {
    const res = await this.send(req);
    if (res.status >= 400) throw errorFromResponse(req.method, res);
    return parseJsonBody(req.method, res) as T;
  }

  async close(): Promise<void> {
    if (this.transport) await (await this.transport).agent.close();
  }
}

export function parseJsonBody(method: string, res: HttpResponse): unknown {
  const text = res.body.toString("utf8");
  if (text.trim() === "") return {};
  if (!/json/i.test(res.contentType))
    throw new MlflowError(
      "UNEXPECTED_RESPONSE",
      `${method} ${res.url} answered ${res.status} with ${res.contentType || "no Content-Type"} instead of JSON: ${snippet(text)}. Is the tracking URI an MLflow server?`,
      res.status,
    );
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MlflowError(
      "UNEXPECTED_RESPONSE",
      `${method} ${res.url} answered ${res.status} with malformed JSON: ${snippet(text)}`,
      res.status,
      { cause: err },
    );
  }
}

const snippet = (text: string) => {
  const flat = text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return JSON.stringify(flat.length > 200 ? flat.slice(0, 197) + "..." : flat);
};

const CODE_BY_STATUS: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "ENDPOINT_NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  408: "TEMPORARILY_UNAVAILABLE",
  429: "TEMPORARILY_UNAVAILABLE",
  502: "TEMPORARILY_UNAVAILABLE",
  503: "TEMPORARILY_UNAVAILABLE",
  504: "TEMPORARILY_UNAVAILABLE",
};

/** MLflow answers errors as `{error_code, message}`; anything else (HTML from Flask or a proxy) gets a code by status. */
export function errorFromResponse(method: string, res: HttpResponse): MlflowError {
  const text = res.body.toString("utf8");
  if (/json/i.test(res.contentType)) {
    try {
      const parsed = JSON.parse(text) as { error_code?: string; message?: string };
      if (parsed && typeof parsed === "object" && (parsed.error_code || parsed.message))
        return new MlflowError(
          parsed.error_code ?? CODE_BY_STATUS[res.status] ?? "INTERNAL_ERROR",
          parsed.message ?? `${method} ${res.url} failed with HTTP ${res.status}`,
          res.status,
        );
    } catch {
      /* fall through to the status-based error */
    }
  }
  const code = CODE_BY_STATUS[res.status] ?? (res.status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST");
  const hint =
    res.status === 404
      ? " No such endpoint on this server: check that the tracking URI is the MLflow server's root (e.g. http://host:5000) and that the server's MLflow version has this API."
      : res.status === 405
        ? " The endpoint exists but does not accept this method."
        : res.status === 401 || res.status === 403
          ? " Check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN (DATABRICKS_TOKEN for Databricks)."
          : "";
  return new MlflowError(code, `${method} ${res.url} failed with HTTP ${res.status}: ${snippet(text)}.${hint}`, res.status);
}
