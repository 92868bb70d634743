// MlflowClient pieces that need no recorded exchange: model URI parsing, batch splitting,
// artifact paths and repositories, directory upload/download over a real file store, and
// calling a model-serving endpoint.

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FileStore,
  HttpClient,
  MlflowClient,
  MlflowError,
  checkArtifactPath,
  invocationsUrl,
  invokeServingEndpoint,
  parseModelUri,
  scoringBody,
  splitBatch,
  stringifyJson,
} from "../../tracking/index.js";
import { artifactRepository } from "../../tracking/rest/artifacts.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "rest-client-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const errorOf = async (fn: () => unknown): Promise<MlflowError> => {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    return e as MlflowError;
  }
  throw new Error("expected an error");
};

describe("model URIs", () => {
  it("parses every accepted form, including three-level names", () => {
    expect(parseModelUri("runs:/abc123/model")).toEqual({ kind: "runs", runId: "abc123", path: "model" });
    expect(parseModelUri("runs:/abc123/sub/dir/")).toEqual({ kind: "runs", runId: "abc123", path: "sub/dir" });
    expect(parseModelUri("runs:/abc123")).toEqual({ kind: "runs", runId: "abc123", path: "" });
    expect(parseModelUri("models:/fx-model/3")).toEqual({ kind: "version", name: "fx-model", version: "3" });
    expect(parseModelUri("models:/fx-model@champion")).toEqual({ kind: "alias", name: "fx-model", alias: "champion" });
    expect(parseModelUri("models:/main.ml.fx_model@prod")).toEqual({ kind: "alias", name: "main.ml.fx_model", alias: "prod" });
    expect(parseModelUri("models:/main.ml.fx_model/2")).toEqual({ kind: "version", name: "main.ml.fx_model", version: "2" });
    expect(parseModelUri("models:/fx-model/latest")).toEqual({ kind: "latest", name: "fx-model" });
    expect(parseModelUri("models:/fx-model/Production")).toEqual({ kind: "stage", name: "fx-model", stage: "Production" });
  });

  it("names the bad URI and the accepted forms", async () => {
    for (const bad of ["s3://bucket/model", "models:/only-name", "models:/a/b/c", "runs:/", "models:/m@", "runs:/abc/../x"]) {
      const e = await errorOf(() => parseModelUri(bad));
      expect(e.code).toBe("INVALID_PARAMETER_VALUE");
      expect(e.message).toContain(JSON.stringify(bad));
      expect(e.message).toContain("models:/<name>@<alias>");
    }
  });
});

describe("batches and encoding", () => {
  it("splits to MLflow's per-request limits, params and tags first", () => {
    const m = (n: number) => Array.from({ length: n }, (_, i) => ({ key: "m", value: i, timestamp: 1, step: i }));
    const p = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, value: "v" }));
    const shape = (bs: ReturnType<typeof splitBatch>) =>
      bs.map((b) => [b.metrics?.length ?? 0, b.params?.length ?? 0, b.tags?.length ?? 0]);
    expect(shape(splitBatch({}))).toEqual([[0, 0, 0]]);
    expect(shape(splitBatch({ metrics: m(2500) }))).toEqual([
      [1000, 0, 0],
      [1000, 0, 0],
      [500, 0, 0],
    ]);
    expect(shape(splitBatch({ metrics: m(1000), params: p(150), tags: p(100) }))).toEqual([
      [800, 100, 100],
      [200, 50, 0],
    ]);
    const all = splitBatch({ metrics: m(2345), params: p(250) });
    expect(all.flatMap((b) => b.metrics ?? []).map((x) => x.step)).toEqual(m(2345).map((x) => x.step));
  });

  it("writes NaN and ±Infinity as MLflow's strings, never null", () => {
    expect(stringifyJson({ a: NaN, b: Infinity, c: -Infinity, d: 1.5 })).toBe('{"a":"NaN","b":"Infinity","c":"-Infinity","d":1.5}');
  });

  it("refuses bad run ids and artifact paths at the call", async () => {
    const client = new MlflowClient(new FileStore(join(tmp, "refuse")));
    const e = await errorOf(() => client.logMetric("../etc", "x", 1));
    expect(e.message).toContain('"../etc"');
    for (const bad of ["../up.txt", "/abs.txt", "a//b", "a/./b", ""]) {
      const err = await errorOf(() => checkArtifactPath(bad));
      expect(err.message).toContain(JSON.stringify(bad));
    }
    expect(checkArtifactPath("./plots/a.png")).toBe("plots/a.png");
    expect((await errorOf(() => client.createRegisteredModel("a/b"))).message).toContain("catalog.schema.model");
    expect((await errorOf(() => client.createRun("0", { runName: "r".repeat(251) }))).message).toContain("at most 250 characters");
    expect((await errorOf(() => client.updateRun("abc", { endTime: "soon" as never }))).message).toContain('end time "soon"');
    expect((await errorOf(() => client.logMetric("abc", "loss", 1, { step: 1.5 }))).message).toContain("step");
  });
});

describe("artifact repositories", () => {
  const http = new HttpClient({ baseUrl: "http://127.0.0.1:1", maxRetries: 0 });
  afterAll(() => http.close());

  it("writes and reads file: artifact roots directly", async () => {
    const root = join(tmp, "art-root");
    const repo = artifactRepository(pathToFileURL(root).href, http);
    await repo.put("plots/a.txt", "alpha");
    await repo.put("b.bin", new Uint8Array([1, 2, 3]));
    expect(await readFile(join(root, "plots", "a.txt"), "utf8")).toBe("alpha");
    expect(Array.from(await repo.get("b.bin"))).toEqual([1, 2, 3]);
    expect(await repo.list!()).toEqual([
      { path: "b.bin", isDir: false, fileSize: 3 },
      { path: "plots", isDir: true },
    ]);
    expect(await repo.list!("plots")).toEqual([{ path: "plots/a.txt", isDir: false, fileSize: 5 }]);
    expect(await repo.list!("missing")).toEqual([]);
    expect((await errorOf(() => repo.get("nope.txt"))).code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("refuses artifact stores this client cannot write", async () => {
    const e = await errorOf(() => artifactRepository("s3://bucket/1/abc/artifacts", http));
    expect(e.code).toBe("UNSUPPORTED_URI");
    expect(e.message).toContain('"s3://bucket/1/abc/artifacts"');
    expect(e.message).toContain("mlflow-artifacts:");
  });

  it("uploads a directory tree and downloads it back through the client", async () => {
    const client = new MlflowClient(new FileStore(join(tmp, "tree-store")));
    const exp = await client.createExperiment("artifacts");
    const run = await client.createRun(exp, { runName: "tree" });
    const src = join(tmp, "src");
    await mkdir(join(src, "deep", "er"), { recursive: true });
    await writeFile(join(src, "top.txt"), "top");
    await writeFile(join(src, "deep", "mid.json"), '{"a":1}');
    await writeFile(join(src, "deep", "er", "leaf.bin"), Buffer.from([0, 255, 7]));
    const written = await client.logArtifacts(run.info.runId, src, "bundle");
    expect(written).toEqual(["bundle/deep/er/leaf.bin", "bundle/deep/mid.json", "bundle/top.txt"]);
    await client.logText(run.info.runId, "note", "notes.txt");
    expect((await client.listArtifacts(run.info.runId)).map((f) => f.path).sort()).toEqual(["bundle", "notes.txt"]);

    const dst = join(tmp, "dst");
    const local = await client.downloadArtifacts(run.info.runId, "bundle", dst);
    expect(local).toBe(join(dst, "bundle"));
    expect(await readFile(join(dst, "bundle", "deep", "er", "leaf.bin"))).toEqual(Buffer.from([0, 255, 7]));
    expect(await readFile(join(dst, "bundle", "deep", "mid.json"), "utf8")).toBe('{"a":1}');
    expect((await readdir(join(dst, "bundle"))).sort()).toEqual(["deep", "top.txt"]);
    expect((await errorOf(() => client.logArtifact(run.info.runId, join(tmp, "missing.txt")))).message).toContain("no such file");
    expect((await errorOf(() => client.logArtifact(run.info.runId, src))).message).toContain("use logArtifacts");
    expect((await errorOf(() => client.logArtifacts(run.info.runId, join(src, "top.txt")))).message).toContain("use logArtifact for files");
    const one = await client.downloadArtifacts(run.info.runId, "notes.txt", join(tmp, "dst2"));
    expect(await readFile(one, "utf8")).toBe("note");
  });
});

describe("model-serving endpoints", () => {
  let server: Server;
  let url: string;
  const seen: { url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ url: req.url, headers: req.headers, body });
        if (req.url !== "/invocations") {
          res.writeHead(404, { "Content-Type": "text/html" }).end("<h1>Not Found</h1>");
          return;
        }
        const rows = JSON.parse(body).dataframe_records ?? [];
        // MLflow's scoring server answers {"predictions": [...]}.
        res
          .writeHead(200, { "Content-Type": "application/json" })
          .end(JSON.stringify({ predictions: rows.map((r: { x: number }) => r.x * 2) }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("builds MLflow's scoring bodies and URLs", () => {
    expect(scoringBody([{ x: 1 }])).toEqual({ dataframe_records: [{ x: 1 }] });
    expect(scoringBody({ dataframe_split: { columns: ["x"], data: [[1]] } })).toEqual({ dataframe_split: { columns: ["x"], data: [[1]] } });
    expect(scoringBody([[1, 2]])).toEqual({ inputs: [[1, 2]] });
    expect(scoringBody("text")).toEqual({ inputs: "text" });
    expect(invocationsUrl("http://h:5001")).toBe("http://h:5001/invocations");
    expect(invocationsUrl("https://h/serving-endpoints/m/invocations")).toBe("https://h/serving-endpoints/m/invocations");
  });

  it("posts records with the tracking auth and returns the predictions", async () => {
    const out = await invokeServingEndpoint(url, [{ x: 1 }, { x: 2.5 }], { env: { MLFLOW_TRACKING_TOKEN: "tok" } });
    expect(out).toEqual({ predictions: [2, 5] });
    expect(seen.at(-1)!.headers.authorization).toBe("Bearer tok");
    expect(seen.at(-1)!.headers["content-type"]).toBe("application/json");
    const e = await errorOf(() => invokeServingEndpoint(`${url}/nope`, [], { env: {}, maxRetries: 0 }));
    expect(e).toMatchObject({ code: "ENDPOINT_NOT_FOUND", httpStatus: 404 });
    expect((await errorOf(() => invokeServingEndpoint("ftp://h/x", [], { env: {} }))).code).toBe("UNSUPPORTED_URI");
  });
});
