// Choosing a store from the tracking URI and MLflow's environment variables: schemes,
// auth headers (Basic, Bearer), Databricks credentials from the environment or
// ~/.databrickscfg, HTTP settings, and the experiment MLflow would pick.

import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  FileStore,
  MlflowClient,
  MlflowError,
  RestStore,
  httpOptionsFromEnv,
  openStore,
  parseIni,
  resolveDatabricksConfig,
  resolveExperiment,
  trackingUriKind,
  type TrackingStore,
} from "../../tracking/index.js";
import { MlflowStandin, exchange } from "../support/mlflow-standin.js";

let standin: MlflowStandin;
let tmp: string;
const opened: TrackingStore[] = [];
const open = (uri: string | undefined, env: Record<string, string>) => {
  const s = openStore(uri, env, { maxRetries: 0 });
  opened.push(s);
  return s;
};

beforeAll(async () => {
  standin = await MlflowStandin.start();
  tmp = await mkdtemp(join(tmpdir(), "rest-config-"));
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await standin.close();
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  standin.reset();
  standin.route("GET", "/api/2.0/mlflow/runs/get", 20);
});

const errorOf = (fn: () => unknown): MlflowError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    return e as MlflowError;
  }
  throw new Error("expected an error");
};

/** The Authorization header our store sends with this environment. */
async function authorizationFor(uri: string, env: Record<string, string>): Promise<string | undefined> {
  const store = open(uri, env);
  const run = await store.getRun(standin.ids.RUN_A);
  expect(run.info.runId).toBe(standin.ids.RUN_A);
  const header = standin.received.at(-1)!.headers.authorization;
  return Array.isArray(header) ? header[0] : header;
}

describe("tracking URI schemes", () => {
  it("classifies paths, file:, http(s): and databricks URIs", () => {
    expect(trackingUriKind("./mlruns")).toBe("file");
    expect(trackingUriKind("/abs/mlruns")).toBe("file");
    expect(trackingUriKind("file:///abs/mlruns")).toBe("file");
    expect(trackingUriKind("C:\\mlruns")).toBe("file");
    expect(trackingUriKind("http://127.0.0.1:5000")).toBe("rest");
    expect(trackingUriKind("https://mlflow.example.com/prefix")).toBe("rest");
    expect(trackingUriKind("databricks")).toBe("databricks");
    expect(trackingUriKind("databricks://dev")).toBe("databricks");
  });

  it("refuses unknown schemes, listing the accepted ones", () => {
    const e = errorOf(() => trackingUriKind("s3://bucket/mlruns"));
    expect(e.code).toBe("UNSUPPORTED_URI");
    expect(e.message).toContain('"s3://bucket/mlruns"');
    expect(e.message).toMatch(/file:.*http.*databricks/);
    const db = errorOf(() => openStore("sqlite:///mlflow.db", {}));
    expect(db.code).toBe("UNSUPPORTED_URI");
    expect(db.message).toContain("mlflow server --backend-store-uri sqlite:///mlflow.db");
    expect(errorOf(() => openStore("http://host:5000/?x=1", {})).code).toBe("UNSUPPORTED_URI");
    expect(errorOf(() => openStore("databricks://a/b/c", {})).code).toBe("UNSUPPORTED_URI");
  });

  it("defaults to ./mlruns in the working directory, and honours MLFLOW_TRACKING_URI", () => {
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      const store = open(undefined, {});
      expect(store).toBeInstanceOf(FileStore);
      expect(store.uri).toBe(pathToFileURL(join(tmp, "mlruns")).href);
      expect(open("other-runs", {}).uri).toBe(pathToFileURL(join(tmp, "other-runs")).href);
    } finally {
      process.chdir(cwd);
    }
    expect(open(undefined, { MLFLOW_TRACKING_URI: pathToFileURL(join(tmp, "x")).href }).uri).toBe(pathToFileURL(join(tmp, "x")).href);
    const rest = open(undefined, { MLFLOW_TRACKING_URI: standin.url });
    expect(rest).toBeInstanceOf(RestStore);
    expect(rest.uri).toBe(standin.url);
    // An explicit URI wins over the environment.
    expect(open(standin.url, { MLFLOW_TRACKING_URI: "/elsewhere" })).toBeInstanceOf(RestStore);
  });

  it("keeps a path prefix of the server URL", async () => {
    const store = open(`${standin.url}/mlflow`, {});
    standin.route("GET", "/mlflow/api/2.0/mlflow/runs/get", 20);
    await store.getRun(standin.ids.RUN_A);
    expect(standin.received.at(-1)!.path).toBe("/mlflow/api/2.0/mlflow/runs/get");
  });
});

describe("auth headers", () => {
  it("sends Basic auth from MLFLOW_TRACKING_USERNAME/PASSWORD, which wins over a token", async () => {
    const basic = "Basic " + Buffer.from("ann:s3cret:x").toString("base64");
    expect(await authorizationFor(standin.url, { MLFLOW_TRACKING_USERNAME: "ann", MLFLOW_TRACKING_PASSWORD: "s3cret:x" })).toBe(basic);
    expect(
      await authorizationFor(standin.url, {
        MLFLOW_TRACKING_USERNAME: "ann",
        MLFLOW_TRACKING_PASSWORD: "s3cret:x",
        MLFLOW_TRACKING_TOKEN: "tok",
      }),
    ).toBe(basic);
  });

  it("sends Bearer auth from MLFLOW_TRACKING_TOKEN, and nothing without credentials", async () => {
    expect(await authorizationFor(standin.url, { MLFLOW_TRACKING_TOKEN: "tok-123" })).toBe("Bearer tok-123");
    expect(await authorizationFor(standin.url, {})).toBeUndefined();
    // A username without a password is not Basic auth.
    expect(await authorizationFor(standin.url, { MLFLOW_TRACKING_USERNAME: "ann" })).toBeUndefined();
  });

  it("reaches Databricks with DATABRICKS_HOST and DATABRICKS_TOKEN as Bearer", async () => {
    expect(await authorizationFor("databricks", { DATABRICKS_HOST: standin.url, DATABRICKS_TOKEN: "dapi-env", HOME: tmp })).toBe(
      "Bearer dapi-env",
    );
  });
});

describe("Databricks Unity Catalog registry", () => {
  it("sends registry calls under /unity-catalog when MLFLOW_REGISTRY_URI=databricks-uc", async () => {
    const env = { DATABRICKS_HOST: standin.url, DATABRICKS_TOKEN: "dapi-uc", MLFLOW_REGISTRY_URI: "databricks-uc", HOME: tmp };
    const store = open("databricks", env);
    standin.route("GET", "/api/2.0/mlflow/unity-catalog/registered-models/alias", "registered-models-alias-get");
    const mv = await store.getModelVersionByAlias("main.ml.fx_model", "champion");
    expect(mv.version).toBe("1");
    const req = standin.received.at(-1)!;
    expect(req.path).toBe("/api/2.0/mlflow/unity-catalog/registered-models/alias");
    expect(req.query).toEqual({ name: ["main.ml.fx_model"], alias: ["champion"] });
    expect(req.headers.authorization).toBe("Bearer dapi-uc");
    // Tracking calls keep the workspace paths.
    await store.getRun(standin.ids.RUN_A);
    expect(standin.received.at(-1)!.path).toBe("/api/2.0/mlflow/runs/get");
  });
});

describe("Databricks configuration", () => {
  let cfg: string;
  beforeAll(async () => {
    cfg = join(tmp, ".databrickscfg");
    await writeFile(
      cfg,
      [
        "; written by the Databricks CLI",
        "[DEFAULT]",
        `host = ${standin.url}/`,
        "token = dapi-default",
        "",
        "[dev]",
        "host: adb-123.4.azuredatabricks.net",
        "token = dapi-dev",
        "# a comment",
        "[broken]",
        "host = https://x.cloud.databricks.com",
      ].join("\n"),
    );
  });

  it("parses INI profiles", () => {
    const ini = parseIni("[a]\nhost = h\n; c\n[b]\ntoken: t\n");
    expect(ini).toEqual({ a: { host: "h" }, b: { token: "t" } });
  });

  it("reads the DEFAULT profile for `databricks` and a named one for `databricks://profile`", async () => {
    const home = { HOME: tmp };
    expect(resolveDatabricksConfig("databricks", home)).toMatchObject({
      host: standin.url,
      auth: { kind: "bearer", token: "dapi-default" },
    });
    expect(resolveDatabricksConfig("databricks://dev", home)).toMatchObject({
      host: "https://adb-123.4.azuredatabricks.net",
      auth: { kind: "bearer", token: "dapi-dev" },
    });
    // `profile:key-prefix` names the profile before the colon.
    expect(resolveDatabricksConfig("databricks://dev:scope", home).auth).toEqual({ kind: "bearer", token: "dapi-dev" });
    expect(resolveDatabricksConfig("databricks", { ...home, DATABRICKS_CONFIG_PROFILE: "dev" }).auth).toEqual({
      kind: "bearer",
      token: "dapi-dev",
    });
    // The environment wins for plain `databricks`; a named profile reads the file.
    expect(resolveDatabricksConfig("databricks", { ...home, DATABRICKS_HOST: "h.example.com", DATABRICKS_TOKEN: "e" })).toMatchObject({
      host: "https://h.example.com",
      source: "environment",
    });
    expect(resolveDatabricksConfig("databricks://dev", { ...home, DATABRICKS_HOST: "h.example.com", DATABRICKS_TOKEN: "e" }).auth).toEqual({
      kind: "bearer",
      token: "dapi-dev",
    });
    expect(await authorizationFor("databricks", home)).toBe("Bearer dapi-default");
  });

  it("says what is missing when there are no credentials", () => {
    const noProfile = errorOf(() => resolveDatabricksConfig("databricks://nope", { HOME: tmp }));
    expect(noProfile.code).toBe("INVALID_CONFIGURATION");
    expect(noProfile.message).toContain("no profile [nope]");
    expect(noProfile.message).toContain(cfg);
    expect(errorOf(() => resolveDatabricksConfig("databricks://broken", { HOME: tmp })).message).toContain("profile [broken]");
    const noFile = errorOf(() => openStore("databricks", { HOME: join(tmp, "empty-home") }));
    expect(noFile.code).toBe("INVALID_CONFIGURATION");
    expect(noFile.message).toMatch(/DATABRICKS_HOST and DATABRICKS_TOKEN are not set/);
    expect(noFile.message).toContain("does not exist");
  });
});

describe("HTTP settings from the environment", () => {
  it("reads timeout, retries, backoff and insecure TLS", () => {
    expect(
      httpOptionsFromEnv({
        MLFLOW_HTTP_REQUEST_TIMEOUT: "5",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: "3",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0.5",
        MLFLOW_TRACKING_INSECURE_TLS: "true",
      }),
    ).toEqual({ auth: undefined, insecureTls: true, timeoutMs: 5000, maxRetries: 3, backoffMs: 500 });
    expect(httpOptionsFromEnv({})).toEqual({ auth: undefined, insecureTls: false });
    const e = errorOf(() => httpOptionsFromEnv({ MLFLOW_HTTP_REQUEST_TIMEOUT: "soon" }));
    expect(e.code).toBe("INVALID_CONFIGURATION");
    expect(e.message).toContain('MLFLOW_HTTP_REQUEST_TIMEOUT="soon"');
  });
});

describe("TLS", () => {
  it("refuses a self-signed certificate unless MLFLOW_TRACKING_INSECURE_TLS is set", async () => {
    const key = join(tmp, "key.pem"),
      cert = join(tmp, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
      { stdio: "ignore" },
    );
    const answer = standin.answerOf(exchange("runs-get"));
    const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(answer.status, { "Content-Type": answer.contentType }).end(answer.body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const strict = await open(url, {})
        .getRun(standin.ids.RUN_A)
        .catch((e) => e);
      expect(strict).toBeInstanceOf(MlflowError);
      expect(strict.code).toBe("TLS_ERROR");
      expect(strict.message).toContain("MLFLOW_TRACKING_INSECURE_TLS");
      const run = await open(url, { MLFLOW_TRACKING_INSECURE_TLS: "true" }).getRun(standin.ids.RUN_A);
      expect(run.info.runId).toBe(standin.ids.RUN_A);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("the experiment MLflow would choose", () => {
  it("uses the explicit choice, then MLFLOW_EXPERIMENT_ID, then MLFLOW_EXPERIMENT_NAME, else Default", async () => {
    const store = new FileStore(join(tmp, "exp-store"));
    opened.push(store);
    const dflt = await resolveExperiment(store, {}, {});
    expect(dflt).toMatchObject({ experimentId: "0", name: "Default" });
    const byName = await resolveExperiment(store, {}, { MLFLOW_EXPERIMENT_NAME: "from-env" });
    expect(byName.name).toBe("from-env");
    expect(
      (await resolveExperiment(store, {}, { MLFLOW_EXPERIMENT_ID: byName.experimentId, MLFLOW_EXPERIMENT_NAME: "ignored" })).name,
    ).toBe("from-env");
    expect((await resolveExperiment(store, { experimentName: "explicit" }, { MLFLOW_EXPERIMENT_ID: byName.experimentId })).name).toBe(
      "explicit",
    );
    // Asking again finds the same experiment instead of making a second one.
    expect((await resolveExperiment(store, {}, { MLFLOW_EXPERIMENT_NAME: "from-env" })).experimentId).toBe(byName.experimentId);
    await expect(resolveExperiment(store, {}, { MLFLOW_EXPERIMENT_ID: "424242" })).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    const client = new MlflowClient(store, { MLFLOW_EXPERIMENT_NAME: "via-client" });
    expect((await client.resolveExperiment()).name).toBe("via-client");
    await store.deleteExperiment(byName.experimentId);
    await expect(resolveExperiment(store, {}, { MLFLOW_EXPERIMENT_NAME: "from-env" })).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("deleted"),
    });
  });
});
