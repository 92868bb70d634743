// Magic lines checked once, before anything is sent, and secrets kept out of the store: the
// magics in-process (FakeHost) against a real file store, which is then read back byte by
// byte for the secret values.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../tracking/file-store/index.js";
import { artifactRepository, LocalArtifactRepository } from "../../tracking/rest/artifacts.js";
import { HttpClient } from "../../tracking/rest/http.js";
import { mlflowExtension } from "../../magics/extension.js";
import { trackingFromStore } from "../../magics/open-tracking.js";
import { REDACTED } from "../../magics/redact.js";
import { displays, errors, FakeHost } from "./fake-host.js";
import { allRuns } from "../support/store-reads.js";

const SECRETS = { MY_API_TOKEN: "tok-val-5150-abcdef", DB_PASSWORD: "pw-db-778899", AWS_SECRET_ACCESS_KEY: "aws/SeCrEt+KEY0123456789" };
const URI_PASSWORD = "uri-pass-31337";

let dir: string;
let store: FileStore;
let host: FakeHost;

/** Every file under `root` with the secrets found in it. */
function leaks(root: string, secrets: string[]): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      for (const s of secrets) if (name.includes(s)) found.push(`${p} (name): ${s}`);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const text = readFileSync(p).toString("utf8");
        for (const s of secrets) if (text.includes(s)) found.push(`${p}: ${s}`);
      }
    }
  };
  walk(root);
  return found;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "magics-validation-"));
  store = new FileStore(path.join(dir, "mlruns"), { onWarning: () => undefined });
  const env = { ...SECRETS, MLFLOW_TRACKING_URI: `http://alice:${URI_PASSWORD}@tracking.invalid:5000` };
  const tracking = trackingFromStore(store, () => undefined, { spoolDir: path.join(dir, "spool"), exitHooks: false });
  // The store is a file store; the URI shown is the one with credentials, as a server's would be.
  host = new FakeHost(dir, mlflowExtension({ env, tracking: { ...tracking, uri: env.MLFLOW_TRACKING_URI } }));
  await host.start();
});
afterAll(async () => {
  await host.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe("magic lines are checked before anything is sent", () => {
  const cases: [string, RegExp][] = [
    [`%%mlflow_run --tag "a=1\nprint('ran')`, /Unbalanced quote in "--tag \\"a=1": the double quote at character 7 is never closed/],
    [`%%mlflow_run 'name\nprint('ran')`, /Unbalanced quote .* single quote at character 1/],
    [`%%mlflow_run --param a=1 --param a=2\nprint('ran')`, /Param "a" is given twice \("1" and "2"\)/],
    [`%%mlflow_run --tag team=x --tag team=y\nprint('ran')`, /Tag "team" is given twice/],
    [`%%mlflow_run --experiment ""\nprint('ran')`, /Invalid experiment name "": an experiment name is a non-empty string/],
    [
      `%%mlflow_run --tag mlflow.user=x\nprint('ran')`,
      /Tag "mlflow\.user" is set by tslab-mlflow itself and cannot be given \(it is the user running the kernel\)\. Reserved: mlflow\.runName, /,
    ],
    [
      `%%mlflow_run --tag mlflow.runName=x\nprint('ran')`,
      /Tag "mlflow\.runName" is set by tslab-mlflow itself .*NAME \(the first argument\)/,
    ],
    [`%%mlflow_run --tag mlflow.note.content=x\nprint('ran')`, /use --description TEXT/],
    [`%%mlflow_run ${"n".repeat(10_000)}\nprint('ran')`, /Invalid run name "n{77}\.\.\.": 10000 characters, at most 250 are accepted/],
    [`%%mlflow_run --resume ""\nprint('ran')`, /Invalid run id "" for resume/],
    [`%mlflow_experiment ""\nprint('ran')`, /Invalid experiment name ""/],
    // A bad cell magic stops the line magics above it too: the experiment is not created.
    [`%mlflow_experiment made-too-early\n%%mlflow_run --param a=1 --param a=2\nprint('ran')`, /Param "a" is given twice/],
  ];
  for (const [cell, pattern] of cases) {
    it(`refuses ${JSON.stringify(cell.split("\n")[0]!.slice(0, 60))}`, async () => {
      const before = (await allRuns(store)).length;
      const r = await host.execute(cell);
      expect(r.status).toBe("error");
      expect(
        errors(r.outputs)
          .map((e) => e.evalue)
          .join("\n"),
      ).toMatch(pattern);
      expect(r.outputs.filter((o) => o.type === "stream" && o.name === "stdout")).toEqual([]);
      expect((await allRuns(store)).length).toBe(before);
      expect(await store.getExperimentByName("made-too-early")).toBeUndefined();
    });
  }

  it("accepts mlflow.* tags it does not set itself", async () => {
    const r = await host.execute(`%%mlflow_run --tag mlflow.source.git.repoURL=https://example.org/r\nprint('ran')`);
    expect(r.status).toBe("ok");
    const run = (await allRuns(store)).at(-1)!;
    expect(run.data.tags.find((t) => t.key === "mlflow.source.git.repoURL")?.value).toBe("https://example.org/r");
  });

  it("refuses the same things from mlflow.startRun, naming them", async () => {
    const r = await host.execute(`await mlflow.startRun({ runName: "x".repeat(300) });`);
    expect(errors(r.outputs)[0]!.evalue).toMatch(/Invalid run name .*300 characters, at most 250/);
    const t = await host.execute(`await mlflow.startRun({ tags: { "mlflow.parentRunId": "abc" } });`);
    expect(errors(t.outputs)[0]!.evalue).toMatch(/Tag "mlflow\.parentRunId" is set by tslab-mlflow itself .*--nested/);
  });
});

describe("secrets never reach the store nor the magics' outputs", () => {
  it("redacts run names, params, metric keys, tags, text and file artifacts, outputs and the notebook snapshot", async () => {
    const file = path.join(dir, "creds.txt");
    writeFileSync(file, `db=${SECRETS.DB_PASSWORD}\n`);
    const t = SECRETS.MY_API_TOKEN;
    const r = await host.execute(
      [
        `%%mlflow_run run-${t} --param token=${t} --tag note=${SECRETS.AWS_SECRET_ACCESS_KEY} --description "uses ${SECRETS.DB_PASSWORD}"`,
        `mlflow.logParam("conn", "postgres://u:${SECRETS.DB_PASSWORD}@db/x");`,
        `mlflow.logParam("aws_secret", "whatever-it-is");`,
        `mlflow.logMetric("loss_${t}", 0.5);`,
        `mlflow.setTag("who", "${t}");`,
        `await mlflow.logText("token=${t}", "notes/t.txt");`,
        `await mlflow.logDict({ key: "${SECRETS.AWS_SECRET_ACCESS_KEY}" }, "d.json");`,
        `await mlflow.logArtifact(${JSON.stringify(file)});`,
        `print("printed ${t}");`,
      ].join("\n"),
    );
    expect(errors(r.outputs)).toEqual([]);
    const run = (await allRuns(store)).at(-1)!;
    expect(run.info.runName).toBe(`run-${REDACTED}`);
    expect(run.info.status).toBe("FINISHED");
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ token: REDACTED, conn: `postgres://${REDACTED}@db/x`, aws_secret: REDACTED });
    expect(run.data.metrics.map((m) => m.key)).toEqual(["loss_REDACTED"]);
    expect(Buffer.from(await store.downloadArtifact(run.info.runId, "creds.txt")).toString()).toBe(`db=${REDACTED}\n`);
    // The summary shown in the cell links nowhere with the URI's password in it.
    const shown = JSON.stringify(displays(r.outputs));
    expect(shown).not.toContain(URI_PASSWORD);
    expect(shown).toContain(`http://tracking.invalid:5000/#/experiments/${run.info.experimentId}/runs/${run.info.runId}`);
    expect(leaks(path.join(dir, "mlruns"), [...Object.values(SECRETS), URI_PASSWORD])).toEqual([]);
  });

  it("%mlflow_status and %mlflow_experiment never show the URI's credentials", async () => {
    for (const cell of ["%mlflow_status", "%mlflow_experiment shown"]) {
      const r = await host.execute(cell);
      const shown = JSON.stringify(r.outputs);
      expect(shown).toContain("tracking.invalid:5000");
      expect(shown).not.toContain(URI_PASSWORD);
      expect(shown).not.toContain("alice");
    }
  });

  it("an error quoting a secret is shown redacted", async () => {
    const r = await host.execute(`%%mlflow_run --param "a=${SECRETS.MY_API_TOKEN}" --param "a=2"\nprint(1)`);
    expect(errors(r.outputs)[0]!.evalue).toBe(`Param "a" is given twice ("${REDACTED}" and "2"); give each param once.`);
  });
});

describe("one artifact-path rule for every store", () => {
  // tracking/validation.ts holds the rule; the file store, the REST store's local artifact
  // root and its artifact proxy all refuse the same paths with the same message.
  const BAD = ["../up.txt", "/abs.txt", "a//b", "a/./b", "C:/x.txt", ""];
  const message = async (p: Promise<unknown>) =>
    p.then(
      () => "accepted",
      (e: Error) => e.message,
    );

  it("refuses the same paths in the file store and in the REST store's artifact roots", async () => {
    const fileStore = new FileStore(path.join(dir, "paths", "mlruns"), { onWarning: () => undefined });
    const exp = await fileStore.createExperiment("artifact-paths");
    const run = await fileStore.createRun({ experimentId: exp, startTime: Date.now() });
    const local = new LocalArtifactRepository("file:///unused", path.join(dir, "paths", "local"));
    const proxy = artifactRepository("mlflow-artifacts:/1/r/artifacts", new HttpClient({ baseUrl: "http://127.0.0.1:9", maxRetries: 0 }));
    for (const bad of BAD) {
      const byFile = await message(fileStore.logArtifact(run.info.runId, bad, "x"));
      expect(byFile).toContain(`Invalid artifact path ${JSON.stringify(bad)}`);
      expect(await message(local.put(bad, "x"))).toBe(byFile);
      expect(await message(proxy.put(bad, "x"))).toBe(byFile);
    }
    // "./" is dropped, the same path everywhere.
    await fileStore.logArtifact(run.info.runId, "./plots/a.txt", "x");
    expect((await fileStore.listArtifacts(run.info.runId, "plots")).map((f) => f.path)).toEqual(["plots/a.txt"]);
    await local.put("./plots/a.txt", "x");
    expect((await local.list!("plots")).map((f) => f.path)).toEqual(["plots/a.txt"]);
    // What only the artifact proxy cannot keep is refused there alone, before anything is sent.
    expect(await message(proxy.put("a#b.txt", "x"))).toMatch(/artifact proxy refuses paths containing '#'/);
    expect(await message(proxy.put("a%20b.txt", "x"))).toMatch(/would store "%20" as the character it encodes/);
    await local.put("a#b.txt", "x");
  });
});
