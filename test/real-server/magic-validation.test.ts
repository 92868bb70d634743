// Magic lines refused the same way on a real MLflow server as on the file store (a 10,000-
// character run name, a reserved system tag, a repeated param: nothing reaches the server),
// a cell that does not compile creates no run, and secrets from the environment never reach
// the server: MLflow's own Python client reads back what the kernel sent.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { REDACTED } from "../../magics/redact.js";
import { forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";
import { KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;
const SECRET = `tok-real-${randomBytes(6).toString("hex")}`;

forEachRealServer("magic lines and secrets against a real server", (server: RealServer) => {
  const experiment = `magic-validation-${randomBytes(4).toString("hex")}`;
  let kernel: KernelClient;
  let work: string;

  const exec = async (code: string) => {
    const r = await kernel.execute(code, { timeout: 120_000 });
    return { reply: r.reply.content as Content, text: JSON.stringify(r.outputs.map((m) => m.content)) };
  };
  /** Every run of the experiment as MLflow's Python client sees it. */
  const runs = () =>
    mlflowPython<{ name: string; params: Record<string, string>; metrics: string[]; tags: Record<string, string> }[]>(
      server.version,
      server.url,
      `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experiment)})
runs = mlflow.search_runs([exp.experiment_id], output_format="list") if exp else []
print(json.dumps([{"name": r.info.run_name, "params": r.data.params, "metrics": sorted(r.data.metrics), "tags": r.data.tags} for r in runs]))
`,
    );

  beforeAll(async () => {
    work = makeTempDir(`real-validation-${server.version}`);
    kernel = await startKernelIn(work, { MLFLOW_TRACKING_URI: server.url, MY_API_TOKEN: SECRET });
    expect((await exec(`%mlflow_experiment ${experiment}`)).reply.status).toBe("ok");
  }, 120_000);
  afterAll(async () => {
    await kernel?.close();
    rmTempDir(work);
  });

  it("refuses bad magic lines and uncompilable cells before anything reaches the server", async () => {
    for (const [cell, message] of [
      [`%%mlflow_run ${"n".repeat(10_000)}\nconsole.log(1);`, /Invalid run name "n{77}\.\.\.": 10000 characters, at most 250 are accepted/],
      [`%%mlflow_run --tag mlflow.user=x\nconsole.log(1);`, /Tag "mlflow\.user" is set by tslab-mlflow itself/],
      [`%%mlflow_run --param a=1 --param a=2\nconsole.log(1);`, /Param "a" is given twice/],
      [`%%mlflow_run typed\nconst n: number = "x";`, /error TS2322/],
    ] as const) {
      const r = await exec(cell);
      expect(r.reply.status).toBe("error");
      expect(r.reply.evalue).toMatch(message);
    }
    expect(await runs()).toEqual([]);
  }, 120_000);

  it("sends no secret: the run name, params, metric keys and tags come back redacted", async () => {
    const r = await exec(
      [
        `%%mlflow_run run-${SECRET} --param token=${SECRET} --tag note=x${SECRET}`,
        `mlflow.logParam("url", "http://u:${SECRET}@h/x");`,
        `mlflow.logMetric("loss_${SECRET}", 1);`,
        `console.log(process.env.MY_API_TOKEN);`,
      ].join("\n"),
    );
    expect(r.reply.status).toBe("ok");
    const [run] = await runs();
    expect(run).toMatchObject({
      name: `run-${REDACTED}`,
      params: { token: REDACTED, url: `http://${REDACTED}@h/x` },
      metrics: ["loss_REDACTED"],
    });
    expect(run!.tags.note).toBe(`x${REDACTED}`);
    expect(JSON.stringify(run)).not.toContain(SECRET);
    const stdout = await mlflowPython<string>(
      server.version,
      server.url,
      `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experiment)})
run = mlflow.search_runs([exp.experiment_id], output_format="list")[0]
path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="outputs/stdout.txt")
print(json.dumps(open(path).read()))
`,
    );
    expect(stdout).toBe(`${REDACTED}\n`);
  }, 120_000);
});
