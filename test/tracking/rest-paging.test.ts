// Paging faults and missing endpoints against a small HTTP server on 127.0.0.1 that answers
// each call the way a broken or older server might: a page token answered with 400, a page
// with no items but a token, the same token forever, a token cycle, an HTML 404/405. Each
// must end in one clear MlflowError naming the server's version and the call, after a
// bounded number of requests, never a loop or a silent empty result. Also checks that every
// paginated call sends max_results.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MlflowError, RestStore } from "../../tracking/index.js";

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  json?: any;
}
type Handler = (req: Seen) => { status: number; type?: string; body: unknown };

const VERSION = "2.22.1.dev0";
let server: Server;
let url: string;
let seen: Seen[] = [];
let handler: Handler = () => ({ status: 500, body: {} });
let store: RestStore;

const json = (body: unknown, status = 200) => ({ status, body });
const html = (status: number) => ({
  status,
  type: "text/html; charset=utf-8",
  body: `<!doctype html>\n<html lang=en>\n<title>${status}</title>\n<h1>${status === 404 ? "Not Found" : "Method Not Allowed"}</h1>\n`,
});

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? "/", "http://x");
    const text = Buffer.concat(chunks).toString("utf8");
    const s: Seen = { method: req.method ?? "GET", path: u.pathname, query: u.searchParams, json: text ? JSON.parse(text) : undefined };
    if (s.path === "/version") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end(VERSION);
      return;
    }
    seen.push(s);
    const a = handler(s);
    const body = typeof a.body === "string" ? a.body : JSON.stringify(a.body);
    res.writeHead(a.status, { "Content-Type": a.type ?? "application/json" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});
afterEach(async () => {
  await store?.close();
});

function fresh(h: Handler): RestStore {
  seen = [];
  handler = h;
  // Retries would only add requests to count: none of these answers is transient.
  store = new RestStore({ baseUrl: url, maxRetries: 0 });
  return store;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as MlflowError,
  );
const point = (step: number) => ({ key: "m", value: step, timestamp: 1700000000000 + step, step });
const RUN = "0123456789abcdef0123456789abcdef";

describe("paging faults end in one clear error", () => {
  it("a page token answered with 400 names the server, its version and the call", async () => {
    fresh((r) =>
      r.query.get("page_token")
        ? json({ error_code: "INVALID_PARAMETER_VALUE", message: "Invalid page token" }, 400)
        : json({ metrics: [point(0)], next_page_token: "tok-1" }),
    );
    const err = await failure(store.getMetricHistory(RUN, "m", { maxResults: 1 }));
    expect(err).toBeInstanceOf(MlflowError);
    expect(err).toMatchObject({ code: "INVALID_PARAMETER_VALUE", httpStatus: 400 });
    expect(err.message).toContain(`MLflow ${VERSION} at ${url}`);
    expect(err.message).toContain("refused its own page token for GET metrics/get-history");
    expect(err.message).toContain(`run ${RUN}`);
    expect(seen).toHaveLength(2);
  });

  it("a page with no items but a token stops at once", async () => {
    fresh(() => json({ next_page_token: "eyJvZmZzZXQiOiAwfQ==" }));
    const err = await failure(store.getMetricHistory(RUN, "m"));
    expect(err).toMatchObject({ code: "UNEXPECTED_RESPONSE" });
    expect(err.message).toContain(`MLflow ${VERSION} at ${url} answered GET metrics/get-history`);
    expect(err.message).toContain("page token but no items");
    expect(seen).toHaveLength(1);
  });

  it("the same token forever stops at its first repeat", async () => {
    fresh(() => json({ metrics: [point(0)], next_page_token: "again" }));
    const err = await failure(store.getMetricHistory(RUN, "m", { maxResults: 1 }));
    expect(err).toMatchObject({ code: "UNEXPECTED_RESPONSE" });
    expect(err.message).toContain("the same page token twice");
    expect(err.message).toContain(`MLflow ${VERSION}`);
    expect(seen).toHaveLength(2);
  });

  it("a cycle of tokens stops when one comes back", async () => {
    const next: Record<string, string> = { "": "a", a: "b", b: "c", c: "a" };
    fresh((r) => json({ metrics: [point(seen.length)], next_page_token: next[r.query.get("page_token") ?? ""] }));
    const err = await failure(store.getMetricHistory(RUN, "m", { maxResults: 1 }));
    expect(err.message).toContain("the same page token twice");
    expect(seen.map((r) => r.query.get("page_token"))).toEqual([null, "a", "b", "c"]);
  });

  it("artifacts/list with an empty page and a token stops too", async () => {
    fresh((r) =>
      r.path.endsWith("/runs/get")
        ? json({ run: { info: { run_id: RUN, experiment_id: "1", artifact_uri: "mlflow-artifacts:/1/x/artifacts" } } })
        : json({ root_uri: "x", next_page_token: "more" }),
    );
    const err = await failure(store.listArtifacts(RUN));
    expect(err).toMatchObject({ code: "UNEXPECTED_RESPONSE" });
    expect(err.message).toContain(`MLflow ${VERSION} at ${url} answered GET artifacts/list (run ${RUN})`);
    expect(seen.filter((r) => r.path.endsWith("/artifacts/list"))).toHaveLength(1);
  });

  it("a last page without a token ends the walk, however full", async () => {
    fresh((r) =>
      r.query.get("page_token") ? json({ metrics: [point(2), point(3)] }) : json({ metrics: [point(0), point(1)], next_page_token: "p2" }),
    );
    expect((await store.getMetricHistory(RUN, "m", { maxResults: 2 })).map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect(seen.map((r) => [r.query.get("max_results"), r.query.get("page_token")])).toEqual([
      ["2", null],
      ["2", "p2"],
    ]);
  });
});

describe("an endpoint the server lacks", () => {
  it("an HTML 404 names the server's version and the call", async () => {
    fresh(() => html(404));
    const err = await failure(store.request({ method: "POST", path: "/api/2.0/mlflow/runs/outputs", json: { run_id: RUN, models: [] } }));
    expect(err).toMatchObject({ code: "ENDPOINT_NOT_FOUND", httpStatus: 404 });
    expect(err.message).toContain(`MLflow ${VERSION} at ${url} has no endpoint for POST /api/2.0/mlflow/runs/outputs`);
    expect((err.cause as MlflowError).message).toContain("404");
    expect(seen).toHaveLength(1);
  });

  it("the store's own methods get the same error", async () => {
    fresh(() => html(404));
    const err = await failure(store.logInputs(RUN, [{ dataset: { name: "d", digest: "x", sourceType: "local", source: "{}" }, tags: [] }]));
    expect(err).toMatchObject({ code: "ENDPOINT_NOT_FOUND" });
    expect(err.message).toContain(`MLflow ${VERSION} at ${url} has no endpoint for POST /api/2.0/mlflow/runs/log-inputs`);
  });

  it("an HTML 405 says the method is not accepted", async () => {
    fresh(() => html(405));
    const err = await failure(store.deleteRegisteredModelAlias("m", "a"));
    expect(err).toMatchObject({ code: "METHOD_NOT_ALLOWED", httpStatus: 405 });
    expect(err.message).toContain(`MLflow ${VERSION} at ${url} does not accept DELETE /api/2.0/mlflow/registered-models/alias`);
  });

  it("a JSON error from the server is passed on as it came", async () => {
    fresh(() => json({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "Run 'x' not found" }, 404));
    const err = await failure(store.getRun(RUN));
    expect(err).toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST", httpStatus: 404, message: "Run 'x' not found" });
  });
});

describe("max_results on every paginated call", () => {
  it("sends MLflow's client defaults when the caller gives none, and the caller's value otherwise", async () => {
    fresh(() => json({}));
    await store.searchExperiments({});
    await store.searchRuns({ experimentIds: ["1"] });
    await store.searchRegisteredModels({});
    await store.searchModelVersions({});
    await store.getMetricHistory(RUN, "m");
    const sizes = () =>
      seen.map((r) => [r.path.replace("/api/2.0/mlflow/", ""), String(r.json?.max_results ?? r.query.get("max_results"))]);
    expect(sizes()).toEqual([
      ["experiments/search", "1000"],
      ["runs/search", "1000"],
      ["registered-models/search", "100"],
      ["model-versions/search", "10000"],
      ["metrics/get-history", "25000"],
    ]);
    seen = [];
    await store.searchExperiments({ maxResults: 7 });
    await store.searchRuns({ experimentIds: ["1"], maxResults: 7 });
    await store.searchRegisteredModels({ maxResults: 7 });
    await store.searchModelVersions({ maxResults: 7 });
    await store.getMetricHistory(RUN, "m", { maxResults: 7 });
    expect(sizes().map(([, n]) => n)).toEqual(["7", "7", "7", "7", "7"]);
  });
});
