// `tslab-mlflow serve` as a spawned process, and side by side with MLflow's own scoring server.
// Ours alone: every payload format answers the model's predictions, to `fetch`, to
// `mlflow.predict` (invokeServingEndpoint) and to Python's `requests`; SIGTERM lets a request
// already received finish before the process exits 0; `--workers 2` shares one port.
// Side by side: MLflow 2.22's `mlflow models serve --env-manager local` serves a scikit-learn
// LinearRegression fitted on y = 2a + 3b + 1, ours serves a model from code computing the same;
// the same good and bad payloads get the same status codes and answer shapes from both.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelFromDir, saveModel, startScoringServer } from "../../models/index.js";
import { invokeServingEndpoint } from "../../tracking/index.js";
import { mlflowPython, pythonClientAvailable, SERVER_KIT } from "../support/mlflow-servers.js";
import { CLI_MAIN, REPO_ROOT, makeTempDir, rmTempDir } from "../support/paths.js";

const FIXTURE = path.join(REPO_ROOT, "test", "models", "fixtures", "scoring", "model.ts");
const rows = [
  { a: 1, b: 0 },
  { a: 2, b: 1 },
];
const expected = [3, 8];

interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts a process and resolves once a line of its output matches `ready` (its URL in group 1, or `url`). */
async function startServing(
  cmd: string,
  args: string[],
  ready: RegExp,
  opts: { env?: NodeJS.ProcessEnv; url?: string; cwd?: string } = {},
): Promise<Served> {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(opts.url ?? m[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${cmd} exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
  return { child, url, output: () => out };
}

function stopGroup(s: Served | undefined): void {
  if (s?.child.pid && s.child.exitCode === null) {
    try {
      process.kill(-s.child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

const post = async (url: string, body: string, type: string | undefined) => {
  const res = await fetch(`${url}/invocations`, { method: "POST", body, headers: type === undefined ? {} : { "content-type": type } });
  const text = await res.text();
  const media = (res.headers.get("content-type") ?? "").split(";")[0]!;
  return { status: res.status, media, json: media === "application/json" ? JSON.parse(text) : undefined, text };
};

let work: string;
let modelDir: string;
beforeAll(async () => {
  work = makeTempDir("serving");
  modelDir = path.join(work, "ts-model");
  await saveModel(FIXTURE, modelDir, {
    inputExample: [
      { a: 0, b: 1 },
      { a: 1.5, b: 0 },
    ],
  });
});
afterAll(() => rmTempDir(work));

const serveOurs = (...extra: string[]) =>
  startServing(process.execPath, [CLI_MAIN, "serve", modelDir, "--port", "0", ...extra], /Listening at (http:\/\/\S+)/, { cwd: work });

describe("tslab-mlflow serve", () => {
  let ours: Served;
  beforeAll(async () => {
    ours = await serveOurs();
  });
  afterAll(() => stopGroup(ours));

  it("answers every payload format with the predictions, and /ping, /health, /version", async () => {
    const payloads: [string, string][] = [
      [
        JSON.stringify({
          dataframe_split: {
            columns: ["a", "b"],
            data: [
              [1, 0],
              [2, 1],
            ],
          },
        }),
        "application/json",
      ],
      [JSON.stringify({ dataframe_records: rows }), "application/json"],
      [JSON.stringify({ instances: rows }), "application/json"],
      [JSON.stringify({ inputs: { a: [1, 2], b: [0, 1] } }), "application/json; charset=utf-8"],
      ["a,b\n1,0\n2,1\n", "text/csv"],
    ];
    for (const [body, type] of payloads)
      expect(await post(ours.url, body, type), body).toMatchObject({ status: 200, json: { predictions: expected } });
    for (const p of ["/ping", "/health"]) expect((await fetch(ours.url + p)).status).toBe(200);
    const version = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version;
    expect(await (await fetch(ours.url + "/version")).text()).toBe(version);
    expect((await fetch(ours.url + "/nowhere")).status).toBe(404);
    expect((await fetch(ours.url + "/invocations")).status).toBe(405);
  });

  it("is what mlflow.predict(url, payload) calls: records, a scoring body, a failing model's 400", async () => {
    expect(await invokeServingEndpoint(ours.url, rows)).toEqual({ predictions: expected });
    expect(await invokeServingEndpoint(ours.url, { dataframe_split: { columns: ["a", "b"], data: [[1, 0]] } })).toEqual({
      predictions: [3],
    });
    await expect(invokeServingEndpoint(ours.url, { dataframe_records: rows, params: { fail: true } }, { maxRetries: 0 })).rejects.toThrow(
      /asked to fail/,
    );
  });

  it.skipIf(!pythonClientAvailable("2.22"))("answers Python's requests", async () => {
    const got = await mlflowPython(
      "2.22",
      "file:///nonexistent",
      `
import json, requests
r = requests.post(${JSON.stringify(ours.url + "/invocations")}, json={"dataframe_records": ${JSON.stringify(rows)}})
bad = requests.post(${JSON.stringify(ours.url + "/invocations")}, data="{", headers={"Content-Type": "application/json"})
print(json.dumps({"status": r.status_code, "body": r.json(), "bad": [bad.status_code, bad.json()["error_code"]]}))`,
    );
    expect(got).toEqual({ status: 200, body: { predictions: expected }, bad: [400, "BAD_REQUEST"] });
  });
});

describe("tslab-mlflow serve: shutdown and workers", () => {
  it("on SIGTERM answers the request already received, refuses new connections, and exits 0", async () => {
    const s = await serveOurs();
    try {
      const started = path.join(work, "started-1");
      const watcher = fs.watch(work);
      const predictStarted = new Promise<void>((resolve) =>
        watcher.on("change", (_e, f) => {
          if (String(f) === "started-1") resolve();
        }),
      );
      const inFlight = post(
        s.url,
        JSON.stringify({ dataframe_records: rows, params: { startedFile: started, delayMs: 1500 } }),
        "application/json",
      );
      await predictStarted;
      watcher.close();
      const exited = once(s.child, "exit");
      process.kill(s.child.pid!, "SIGTERM");
      expect(await inFlight).toMatchObject({ status: 200, json: { predictions: expected } });
      const [code] = await exited;
      expect(code).toBe(0);
      await expect(fetch(s.url + "/ping")).rejects.toThrow();
    } finally {
      stopGroup(s);
    }
  });

  it("--workers 2: two processes behind one port answer 40 concurrent requests, all of them", async () => {
    const s = await serveOurs("--workers", "2");
    try {
      expect(s.output()).toMatch(/2 workers/);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(s.url, JSON.stringify({ dataframe_records: [{ a: i, b: 1 }] }), "application/json")),
      );
      expect(answers.map((a) => a.json?.predictions[0])).toEqual(Array.from({ length: 40 }, (_, i) => 2 * i + 4));
      const exited = once(s.child, "exit");
      process.kill(s.child.pid!, "SIGTERM");
      expect((await exited)[0]).toBe(0);
    } finally {
      stopGroup(s);
    }
  });

  it("refuses a bad --workers or --port, naming the value", async () => {
    const child = spawn(process.execPath, [CLI_MAIN, "serve", modelDir, "--workers", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(err).toMatch(/--workers must be an integer from 1 to 256, got "0"/);
  });
});

describe("scoring server in process: large bodies and many clients", () => {
  it("answers a 20 MB body, refuses one over --max-body-size with 413 naming the limit, and keeps serving", async () => {
    const model = await loadModelFromDir(modelDir);
    const big = JSON.stringify({ dataframe_records: Array.from({ length: 1_500_000 }, (_, i) => ({ a: i % 10, b: 1 })) });
    expect(big.length).toBeGreaterThan(20e6);
    const roomy = await startScoringServer({ model });
    const tight = await startScoringServer({ model, maxBodyBytes: 16 * 2 ** 20 });
    try {
      const ok = await post(roomy.url, big, "application/json");
      expect(ok.status).toBe(200);
      expect(ok.json.predictions).toHaveLength(1_500_000);
      const refused = await post(tight.url, big, "application/json");
      expect(refused.status).toBe(413);
      expect(refused.json).toEqual({
        error_code: "BAD_REQUEST",
        message: expect.stringMatching(/larger than this server accepts \(16777216 bytes\)/),
      });
      expect(await post(tight.url, JSON.stringify({ inputs: rows }), "application/json")).toMatchObject({
        status: 200,
        json: { predictions: expected },
      });
    } finally {
      await Promise.all([roomy.close(), tight.close()]);
    }
  }, 120_000);

  it("200 concurrent clients with good and bad payloads: every request answered, none lost", async () => {
    const model = await loadModelFromDir(modelDir);
    const server = await startScoringServer({ model });
    try {
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          i % 4 === 3
            ? post(server.url, "{broken", "application/json")
            : post(server.url, JSON.stringify({ dataframe_records: [{ a: i, b: 0 }] }), "application/json"),
        ),
      );
      const counts = answers.reduce<Record<number, number>>((c, a) => ({ ...c, [a.status]: (c[a.status] ?? 0) + 1 }), {});
      expect(counts).toEqual({ 200: 150, 400: 50 });
      answers.forEach((a, i) => {
        if (i % 4 !== 3) expect(a.json.predictions).toEqual([2 * i + 1]);
      });
      expect(server.inFlight).toBe(0);
    } finally {
      await server.close();
    }
  });
});

// ---- Side by side with MLflow's own scoring server

const good: [string, string, string][] = [
  [
    "dataframe_split",
    JSON.stringify({
      dataframe_split: {
        columns: ["a", "b"],
        data: [
          [1, 0],
          [2, 1],
        ],
      },
    }),
    "application/json",
  ],
  [
    "dataframe_split with index",
    JSON.stringify({
      dataframe_split: {
        index: [5, 6],
        columns: ["a", "b"],
        data: [
          [1, 0],
          [2, 1],
        ],
      },
    }),
    "application/json",
  ],
  ["dataframe_records", JSON.stringify({ dataframe_records: rows }), "application/json"],
  ["instances (records)", JSON.stringify({ instances: rows }), "application/json"],
  ["instances (columns)", JSON.stringify({ instances: { a: [1, 2], b: [0, 1] } }), "application/json"],
  ["inputs (records)", JSON.stringify({ inputs: rows }), "application/json"],
  ["inputs (columns)", JSON.stringify({ inputs: { a: [1, 2], b: [0, 1] } }), "application/json; charset=utf-8"],
  ["inputs with params", JSON.stringify({ inputs: rows, params: {} }), "application/json"],
  ["csv", "a,b\n1,0\n2,1\n", "text/csv"],
  ["csv with charset", "a,b\n1,0\n2,1\n", "text/csv; charset=utf-8"],
  [
    "an extra column (dropped)",
    JSON.stringify({
      dataframe_records: [
        { a: 1, b: 0, c: 5 },
        { a: 2, b: 1, c: 6 },
      ],
    }),
    "application/json",
  ],
];
const bad: [string, string, string][] = [
  ["malformed JSON", '{"inputs": [1,', "application/json"],
  ["empty body", "", "application/json"],
  ["unknown top-level key", JSON.stringify({ foo: rows }), "application/json"],
  ["no key", "{}", "application/json"],
  ["two keys", JSON.stringify({ inputs: rows, instances: rows }), "application/json"],
  ["a list, not a dictionary", JSON.stringify(rows), "application/json"],
  ["wrong content type", "a,b\n1,0\n", "text/plain"],
  ["another wrong content type", "<a/>", "application/xml"],
  ["missing column", JSON.stringify({ dataframe_records: [{ a: 1 }] }), "application/json"],
  ["wrong type", JSON.stringify({ dataframe_records: [{ a: "x", b: 0 }] }), "application/json"],
  ["no rows", JSON.stringify({ dataframe_records: [] }), "application/json"],
  ["dataframe_split with short rows", JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1]] } }), "application/json"],
  ["dataframe_split not a dictionary", JSON.stringify({ dataframe_split: [1, 2] }), "application/json"],
  ["dataframe_records not a list", JSON.stringify({ dataframe_records: { a: 1, b: 0 } }), "application/json"],
  ["empty csv", "", "text/csv"],
];
// Where MLflow's error_code differs from ours (same status, same shape), and why.
const codeDiffers: Record<string, string> = {
  // pandas fails converting "x" to float64 before the signature is checked; ours is the signature's refusal.
  "wrong type": "MLflow BAD_REQUEST, ours INVALID_PARAMETER_VALUE",
};

const python = pythonClientAvailable("2.22");
describe.skipIf(!python)("side by side with MLflow 2.22's scoring server", () => {
  let theirs: Served;
  let ours: Served;
  beforeAll(async () => {
    const sk = path.join(work, "sk-model");
    await mlflowPython(
      "2.22",
      "file:///nonexistent",
      `
import json, mlflow, pandas as pd
from sklearn.linear_model import LinearRegression
from mlflow.models import infer_signature
X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
m = LinearRegression().fit(X, 2 * X["a"] + 3 * X["b"] + 1)
mlflow.sklearn.save_model(m, ${JSON.stringify(sk)}, signature=infer_signature(X, m.predict(X)))
print(json.dumps({"ok": True}))`,
    );
    const port = await freePort();
    [theirs, ours] = await Promise.all([
      startServing(
        path.join(SERVER_KIT, "python.sh"),
        ["2.22", "-m", "mlflow", "models", "serve", "-m", sk, "--env-manager", "local", "-h", "127.0.0.1", "-p", String(port)],
        /Uvicorn running on|Listening at: http/,
        { url: `http://127.0.0.1:${port}`, cwd: work },
      ),
      serveOurs(),
    ]);
  }, 240_000);
  afterAll(() => {
    stopGroup(theirs);
    stopGroup(ours);
  });

  it.each(good)("%s: both answer 200 with the same predictions", async (_name, body, type) => {
    const [a, b] = await Promise.all([post(theirs.url, body, type), post(ours.url, body, type)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(Object.keys(b.json)).toEqual(Object.keys(a.json));
    expect(b.json.predictions.length).toBe(a.json.predictions.length);
    b.json.predictions.forEach((p: number, i: number) => expect(p).toBeCloseTo(a.json.predictions[i], 9));
  });

  it.each(bad)("%s: the same status and answer shape", async (name, body, type) => {
    const [a, b] = await Promise.all([post(theirs.url, body, type), post(ours.url, body, type)]);
    expect(a.status).toBeGreaterThanOrEqual(400);
    expect([b.status, b.media]).toEqual([a.status, a.media]);
    if (a.json) {
      expect(Object.keys(b.json).sort()).toEqual(
        Object.keys(a.json)
          .filter((k) => k !== "stack_trace")
          .sort(),
      );
      if (!codeDiffers[name]) expect(b.json.error_code).toBe(a.json.error_code);
      expect(b.json.message.length).toBeGreaterThan(20);
    } else {
      expect(b.text).toMatch(/content types.*text\/csv/);
    }
  });

  it("both answer /ping, /health and /version with 200, and an unknown path with 404", async () => {
    for (const p of ["/ping", "/health", "/version", "/nowhere"]) {
      const [a, b] = await Promise.all([fetch(theirs.url + p), fetch(ours.url + p)]);
      expect([p, b.status, b.headers.get("content-type")]).toEqual([p, a.status, a.headers.get("content-type")]);
    }
  });
});
describe.skipIf(python)("side by side with MLflow 2.22's scoring server (no Python client here)", () => {
  it.skip("skipped: MLflow 2.22's Python client cannot run here (../shared/mlflow-server/python.sh 2.22)", () => undefined);
});
