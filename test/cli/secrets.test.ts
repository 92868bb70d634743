// `tslab-mlflow run` and `export` with secrets in the environment: every file the run leaves in
// the store (params, tags, the nested run, the uploaded notebook and page) and everything the
// CLI prints is searched for the secret values; an exported page keeps them only when asked.
// Also: --experiment wins over the notebook's own %mlflow_experiment for every run.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient, type Run } from "../../tracking/index.js";
import { REDACTED } from "../../magics/redact.js";
import { rmTempDir } from "../support/paths.js";
import { runCli, type RunResult } from "../support/run.js";
import { code, notebook, writeNotebook } from "./notebooks.js";
import { runIdOf, runNotebookCli, workspace, type Workspace } from "./run-helpers.js";

const SECRETS = { MY_API_TOKEN: "tok-cli-0a1b2c3d4e", DB_PASSWORD: "pw-cli-hunter22", AWS_SECRET_ACCESS_KEY: "aws/CLI+secret0987654321" };
const values = Object.values(SECRETS);

let ws: Workspace;
let input: string;
let out: string;
let result: RunResult;

function leaks(root: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else {
        const text = fs.readFileSync(p).toString("utf8");
        for (const s of values) if (text.includes(s) || name.includes(s)) found.push(`${path.relative(root, p)}: ${s}`);
      }
    }
  };
  walk(root);
  return found;
}

beforeAll(async () => {
  ws = workspace("run-secrets");
  Object.assign(ws.env, SECRETS);
  input = writeNotebook(
    ws.dir,
    "secret.ipynb",
    notebook([
      code(`const apiToken = "default";\nconst label = "x";`, { tags: ["parameters"] }),
      code(`%mlflow_experiment notebook-own`),
      code(`console.log("token:", process.env.MY_API_TOKEN, apiToken, label);`),
      code(
        `%%mlflow_run child\nmlflow.logParam("db", process.env.DB_PASSWORD!);\nmlflow.logMetric("m", 1);\nconsole.log("aws", process.env.AWS_SECRET_ACCESS_KEY);`,
      ),
      code(`throw new Error("cannot connect with " + process.env.DB_PASSWORD);`),
    ]),
  );
  out = path.join(ws.dir, "secret.out.ipynb");
  result = await runNotebookCli(ws, [
    input,
    "--experiment",
    "ci",
    "--allow-errors",
    "-p",
    "apiToken",
    SECRETS.MY_API_TOKEN,
    "-p",
    "label",
    `with ${SECRETS.AWS_SECRET_ACCESS_KEY} inside`,
  ]);
}, 180_000);
afterAll(() => rmTempDir(ws.dir));

describe("tslab-mlflow run with secrets in the environment", () => {
  it("ran every cell (the last one fails on purpose)", () => {
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Executed 6 of 6 code cells/);
  });

  it("sends no secret to the store: params, tags, nested runs, the uploaded notebook and page", async () => {
    expect(leaks(ws.store)).toEqual([]);
    const client = new MlflowClient(ws.store, {});
    const outer = await client.getRun(runIdOf(out));
    const params = Object.fromEntries(outer.data.params.map((p) => [p.key, p.value]));
    expect(params).toEqual({ apiToken: REDACTED, label: `with ${REDACTED} inside` });
    const files = (await client.listArtifacts(outer.info.runId)).map((f) => f.path).sort();
    expect(files).toEqual(["secret.out.html", "secret.out.ipynb"]);
    const uploaded = Buffer.from(await client.downloadArtifact(outer.info.runId, "secret.out.ipynb")).toString();
    expect(uploaded).toContain(`token: ${REDACTED} ${REDACTED} with ${REDACTED} inside`);
    expect(uploaded).toContain(`cannot connect with ${REDACTED}`);
  });

  it("prints no secret, and says by name what it replaced", () => {
    for (const s of values) {
      expect(result.stdout).not.toContain(s);
      expect(result.stderr).not.toContain(s);
    }
    expect(result.stderr).toMatch(/note: the values of (AWS_SECRET_ACCESS_KEY, )?DB_PASSWORD, MY_API_TOKEN were replaced by \[REDACTED\]/);
  });

  it("keeps the local executed notebook as the cells printed it", () => {
    const local = fs.readFileSync(out, "utf8");
    expect(local).toContain(SECRETS.MY_API_TOKEN);
  });

  it("puts the nested runs in the --experiment too, and never creates the notebook's own experiment", async () => {
    const client = new MlflowClient(ws.store, {});
    const ci = await client.getExperimentByName("ci");
    expect(ci).toBeDefined();
    expect(await client.getExperimentByName("notebook-own")).toBeUndefined();
    const runs: Run[] = (await client.store.searchRuns({ experimentIds: [ci!.experimentId], maxResults: 10 })).items;
    expect(runs.map((r) => r.info.runName).sort()).toEqual(["child", "secret"]);
    expect(result.stderr).toMatch(/note: --experiment "ci" wins over the notebook's %mlflow_experiment notebook-own/);
  });
});

describe("tslab-mlflow export of a notebook holding secrets", () => {
  it("replaces them in the page and names them on stderr", async () => {
    const page = path.join(ws.dir, "page.html");
    const r = await runCli(["export", out, "-o", page], { cwd: ws.dir, env: ws.env });
    expect(r.status).toBe(0);
    const html = fs.readFileSync(page, "utf8");
    for (const s of values) expect(html).not.toContain(s);
    expect(html).toContain(REDACTED);
    expect(r.stderr).toMatch(
      /note: the values of AWS_SECRET_ACCESS_KEY, DB_PASSWORD, MY_API_TOKEN were replaced by \[REDACTED\] \(--keep-secrets keeps them\)/,
    );
  });

  it("keeps them with --keep-secrets", async () => {
    const md = path.join(ws.dir, "page.md");
    const r = await runCli(["export", out, "--to", "md", "-o", md, "--keep-secrets"], { cwd: ws.dir, env: ws.env });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(md, "utf8")).toContain(SECRETS.MY_API_TOKEN);
    expect(r.stderr).not.toMatch(/REDACTED/);
  });
});
