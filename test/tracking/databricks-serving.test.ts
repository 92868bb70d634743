// Databricks serving endpoints: `mlflow.predict("databricks://NAME", payload)` (invokeServingEndpoint)
// and `%mlflow_predict --endpoint NAME` (runEndpointPredict) against a loopback stand-in of a
// workspace (node:http on 127.0.0.1:0, DATABRICKS_HOST pointing at it). The stand-in records
// each request's path, Authorization header and body; the tests check those, the workspace
// credentials from the environment and from ~/.databrickscfg, and that no error ever prints the token.
import fs from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mlflowPredict, runEndpointPredict, MODEL_URI_TAG, PREDICTIONS_ARTIFACT_DIR } from "../../magics/magic-predict.js";
import type { Invocation } from "../../magics/registry.js";
import { invokeServingEndpoint } from "../../tracking/index.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

const TOKEN = "dapi-secret-0123456789abcdef";

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: any;
}

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs.splice(0)) rmTempDir(d);
});

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (text += c));
    req.on("end", () => resolve(text));
  });

/** A workspace stand-in: `answer` gives the status and JSON body for each request it records. */
async function workspace(answer: (seen: Seen) => { status: number; body: unknown } = defaultAnswer) {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const s: Seen = {
      method: req.method!,
      path: req.url!,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      body: JSON.parse((await readBody(req)) || "null"),
    };
    seen.push(s);
    const { status, body } = answer(s);
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** The endpoint "churn-scorer" predicts a + 2b for each record; any other path is a 404 as Databricks answers it. */
function defaultAnswer(s: Seen): { status: number; body: unknown } {
  if (s.path !== "/serving-endpoints/churn-scorer/invocations")
    return { status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: `Endpoint at ${s.path} does not exist.` } };
  if (s.authorization !== `Bearer ${TOKEN}`) return { status: 401, body: { error_code: "UNAUTHENTICATED", message: "Invalid token." } };
  const rows = s.body?.dataframe_records;
  if (!Array.isArray(rows)) return { status: 400, body: { error_code: "BAD_REQUEST", message: "Expected dataframe_records." } };
  return { status: 200, body: { predictions: rows.map((r: { a: number; b: number }) => r.a + 2 * r.b) } };
}

const errorOf = async (f: () => unknown): Promise<any> => {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
};

/** Everything an error would print: message, cause chain and inspection. */
const printed = (e: any) => `${e.message}\n${e.stack}\n${String(e.cause?.message ?? "")}\n${JSON.stringify(e)}`;

describe('mlflow.predict("databricks://NAME", payload)', () => {
  it("POSTs the records to /serving-endpoints/NAME/invocations with the workspace's Bearer token from DATABRICKS_HOST/DATABRICKS_TOKEN", async () => {
    const ws = await workspace();
    const env = { DATABRICKS_HOST: ws.host, DATABRICKS_TOKEN: TOKEN, MLFLOW_TRACKING_TOKEN: "not-for-databricks" };
    const rows = [
      { a: 1, b: 0 },
      { a: 2, b: 1 },
    ];
    expect(await invokeServingEndpoint("databricks://churn-scorer", rows, { env })).toEqual({ predictions: [1, 4] });
    expect(ws.seen).toEqual([
      {
        method: "POST",
        path: "/serving-endpoints/churn-scorer/invocations",
        authorization: `Bearer ${TOKEN}`,
        contentType: expect.stringMatching(/^application\/json/),
        body: { dataframe_records: rows },
      },
    ]);
  });

  it("takes host and token from ~/.databrickscfg (DEFAULT, or DATABRICKS_CONFIG_PROFILE) when the environment has none", async () => {
    const ws = await workspace();
    const home = makeTempDir("databricks-serving");
    dirs.push(home);
    fs.writeFileSync(
      path.join(home, ".databrickscfg"),
      `[DEFAULT]\nhost = ${ws.host}/\ntoken = wrong-token\n\n[scoring]\nhost = ${ws.host}\ntoken = ${TOKEN}\n`,
    );
    const split = { dataframe_split: { columns: ["a", "b"], data: [[3, 1]] } };
    // DEFAULT's token is refused by the stand-in; the named profile's is accepted.
    const e = await errorOf(() => invokeServingEndpoint("databricks://churn-scorer", split, { env: { HOME: home }, maxRetries: 0 }));
    expect(e.httpStatus).toBe(401);
    expect(ws.seen[0]!.authorization).toBe("Bearer wrong-token");
    expect(e.message).toContain(`${path.join(home, ".databrickscfg")} [DEFAULT]`);
    const answer = await invokeServingEndpoint("databricks://churn-scorer", [{ a: 3, b: 1 }], {
      env: { HOME: home, DATABRICKS_CONFIG_PROFILE: "scoring" },
    });
    expect(answer).toEqual({ predictions: [5] });
    expect(ws.seen[1]).toMatchObject({ path: "/serving-endpoints/churn-scorer/invocations", authorization: `Bearer ${TOKEN}` });
  });

  it("an HTTP error names the endpoint and host and never the token, even when the workspace echoes it", async () => {
    const ws = await workspace((s) => ({
      status: 403,
      body: { error_code: "PERMISSION_DENIED", message: `Token ${s.authorization?.slice("Bearer ".length)} may not query this endpoint.` },
    }));
    const env = { DATABRICKS_HOST: ws.host, DATABRICKS_TOKEN: TOKEN };
    const e = await errorOf(() => invokeServingEndpoint("databricks://churn-scorer", [{ a: 1, b: 1 }], { env, maxRetries: 0 }));
    expect(e).toMatchObject({ code: "PERMISSION_DENIED", httpStatus: 403 });
    expect(e.message).toContain(`Databricks serving endpoint "churn-scorer" on ${ws.host} answered HTTP 403`);
    expect(e.message).toContain("DATABRICKS_TOKEN");
    expect(printed(e)).not.toContain(TOKEN);
    expect(printed(e)).toContain("Token *** may not");

    const missing = await workspace();
    const e404 = await errorOf(() =>
      invokeServingEndpoint("databricks://no-such-endpoint", [{ a: 1, b: 1 }], {
        env: { DATABRICKS_HOST: missing.host, DATABRICKS_TOKEN: TOKEN },
      }),
    );
    expect(missing.seen.map((s) => s.path)).toEqual(["/serving-endpoints/no-such-endpoint/invocations"]);
    expect(e404.httpStatus).toBe(404);
    expect(e404.message).toContain(`"no-such-endpoint" on ${missing.host}`);
    expect(printed(e404)).not.toContain(TOKEN);
  });

  it("a workspace that does not listen fails at once, naming endpoint and host, not the token", async () => {
    const ws = await workspace();
    await new Promise((r) => servers.pop()!.close(r));
    const e = await errorOf(() =>
      invokeServingEndpoint("databricks://churn-scorer", [{ a: 1, b: 1 }], { env: { DATABRICKS_HOST: ws.host, DATABRICKS_TOKEN: TOKEN } }),
    );
    expect(e.code).toBe("ENDPOINT_UNREACHABLE");
    expect(e.message).toContain(`Databricks serving endpoint "churn-scorer" on ${ws.host}`);
    expect(e.message).toMatch(/connection refused/);
    expect(printed(e)).not.toContain(TOKEN);
  });

  it("refuses a bad endpoint name and missing credentials before sending anything, saying what is accepted", async () => {
    const ws = await workspace();
    const env = { DATABRICKS_HOST: ws.host, DATABRICKS_TOKEN: TOKEN };
    for (const bad of ["databricks://", "databricks://prod/churn", "databricks://churn scorer"]) {
      const e = await errorOf(() => invokeServingEndpoint(bad, [{ a: 1 }], { env }));
      expect(e.code).toBe("UNSUPPORTED_URI");
      expect(e.message).toContain(JSON.stringify(bad));
      expect(e.message).toContain("databricks://<endpoint-name>");
    }
    const home = makeTempDir("databricks-serving");
    dirs.push(home);
    const e = await errorOf(() => invokeServingEndpoint("databricks://churn-scorer", [{ a: 1 }], { env: { HOME: home } }));
    expect(e.code).toBe("INVALID_CONFIGURATION");
    expect(e.message).toContain('No Databricks credentials for Databricks serving endpoint "churn-scorer"');
    expect(e.message).toContain("DATABRICKS_HOST and DATABRICKS_TOKEN");
    expect(ws.seen).toEqual([]);
  });
});

describe("%mlflow_predict --endpoint NAME", () => {
  it("sends the input rows to the endpoint in batches and writes the input columns plus `prediction`; logs into the active run", async () => {
    const ws = await workspace();
    const work = makeTempDir("databricks-serving");
    dirs.push(work);
    fs.writeFileSync(path.join(work, "data.csv"), "id,a,b\n1,1,0\n2,2,1\n3,0,0\n4,1,1\n5,3,2\n");
    const tags: Record<string, string>[] = [];
    const logged: [string, string | undefined][] = [];
    const run = {
      info: { runId: "r1" },
      setTags: (t: Record<string, string>) => void tags.push(t),
      logArtifact: async (file: string, dir?: string) => void logged.push([file, dir]),
    };
    const session = { env: { DATABRICKS_HOST: ws.host, DATABRICKS_TOKEN: TOKEN }, activeRun: () => run as any };
    const shown: string[] = [];
    const output = path.join(work, "preds.csv");
    const result = await runEndpointPredict(session, "churn-scorer", path.join(work, "data.csv"), { output, batchSize: 2 }, (b) =>
      shown.push(String(b["text/plain"])),
    );

    expect(ws.seen.map((s) => [s.path, s.authorization])).toEqual(
      Array(3).fill(["/serving-endpoints/churn-scorer/invocations", `Bearer ${TOKEN}`]),
    );
    expect(ws.seen.map((s) => s.body.dataframe_records.map((r: { id: number }) => r.id))).toEqual([[1, 2], [3, 4], [5]]);
    expect(result).toMatchObject({ rows: 5, batches: 3, modelUri: "databricks://churn-scorer", runId: "r1" });
    expect(fs.readFileSync(output, "utf8").trim().split(/\r?\n/)).toEqual([
      "id,a,b,prediction",
      "1,1,0,1",
      "2,2,1,4",
      "3,0,0,0",
      "4,1,1,3",
      "5,3,2,7",
    ]);
    expect(tags).toEqual([{ [MODEL_URI_TAG]: "databricks://churn-scorer" }]);
    expect(logged).toEqual([[output, PREDICTIONS_ARTIFACT_DIR]]);
    expect(shown.at(-1)).toMatch(/^5 predictions by databricks:\/\/churn-scorer in .* -> .*preds\.csv, logged to run r1\./);
    expect(shown.join("\n")).not.toContain(TOKEN);
  });

  it("an endpoint error stops the run naming endpoint and host, without the token", async () => {
    const ws = await workspace(() => ({ status: 400, body: { error_code: "BAD_REQUEST", message: "Column 'b' is missing." } }));
    const work = makeTempDir("databricks-serving");
    dirs.push(work);
    fs.writeFileSync(path.join(work, "data.csv"), "a\n1\n");
    const session = { env: { DATABRICKS_HOST: ws.host, DATABRICKS_TOKEN: TOKEN }, activeRun: () => undefined };
    const e = await errorOf(() =>
      runEndpointPredict(session, "churn-scorer", path.join(work, "data.csv"), { output: path.join(work, "p.parquet") }),
    );
    expect(e.message).toContain(`Databricks serving endpoint "churn-scorer" on ${ws.host} answered HTTP 400: Column 'b' is missing.`);
    expect(printed(e)).not.toContain(TOKEN);
  });

  it("the line takes a model URI or --endpoint NAME, not both, and refuses a bad name", () => {
    const inv = (positionals: string[], values: Record<string, unknown>) =>
      ({ positionals, values: { input: "d.csv", output: "p.parquet", ...values }, body: undefined, call: {} }) as unknown as Invocation<
        typeof mlflowPredict.options
      >;
    expect(() => mlflowPredict.check!(inv([], { endpoint: "churn-scorer" }))).not.toThrow();
    expect(() => mlflowPredict.check!(inv(["models:/m@Champion"], { endpoint: "churn-scorer" }))).toThrow(
      /a model URI or --endpoint NAME, not both \(got "models:\/m@Champion" and --endpoint "churn-scorer"\)/,
    );
    expect(() => mlflowPredict.check!(inv([], { endpoint: "prod/churn" }))).toThrow(
      /Bad --endpoint "prod\/churn": give a Databricks serving endpoint name \(letters, digits, '-' and '_'\)/,
    );
    expect(() => mlflowPredict.check!(inv([], {}))).toThrow(/needs a model URI or --endpoint NAME/);
  });
});
