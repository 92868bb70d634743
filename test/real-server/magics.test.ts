// The magics end to end against real MLflow servers (2.22 and 3.4): a spawned kernel runs
// %%mlflow_run cells that finish, fail, are interrupted and nest; log params, metrics, tags,
// artifacts and a dataset; show %mlflow_runs and %mlflow_compare (whose history chart reads
// metric history, the call MLflow 3 pages); register a model and point an alias at it. Then
// MLflow's own Python client of the same version reads everything back.

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import { forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";
import { contentsOf, KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;

forEachRealServer("magics through a spawned kernel", (server: RealServer) => {
  const experiment = `magics-e2e-${randomBytes(4).toString("hex")}`;
  const model = `e2e-model-${randomBytes(4).toString("hex")}`;
  let kernel: KernelClient;
  let work: string;

  const exec = async (code: string) => {
    const r = await kernel.execute(code, { timeout: 120_000 });
    return { status: (r.reply.content as Content).status as string, reply: r.reply.content as Content, outputs: r.outputs };
  };
  const python = <T = any>(script: string) => mlflowPython<T>(server.version, server.url, script);

  beforeAll(async () => {
    work = makeTempDir(`real-magics-${server.version}`);
    kernel = await startKernelIn(work, { MLFLOW_TRACKING_URI: server.url });
    expect((await exec(`%mlflow_experiment ${experiment}`)).status).toBe("ok");
  }, 120_000);
  afterAll(async () => {
    await kernel?.close();
    rmTempDir(work);
  });

  it("%%mlflow_run FINISHED, FAILED and KILLED runs, nested runs and a dataset, read back by MLflow's Python client", async () => {
    const ok = await exec(
      [
        `%%mlflow_run good --param lr=0.1 --tag team=growth --description "first try"`,
        `for (let step = 0; step < 30; step++) mlflow.logMetric("loss", 1 / (step + 1), step);`,
        `mlflow.logMetric("odd", NaN, 0);`,
        `mlflow.setTag("stage", "dev");`,
        `await mlflow.logText("hello", "notes/hello.txt");`,
        `await mlflow.logInput(mlflow.data.fromRecords([{ x: 1, y: 0.5, label: "a" }, { x: 2, y: 1.5, label: "b" }], { name: "toy", source: "file:///data/toy.csv" }), { context: "training" });`,
        `console.log("trained");`,
      ].join("\n"),
    );
    expect(ok.status, JSON.stringify(ok.reply)).toBe("ok");

    const failed = await exec(`%%mlflow_run broken\nmlflow.logMetric("loss", 3, 0);\nthrow new Error("diverged");`);
    expect(failed.status).toBe("error");

    // Interrupt once the cell says it is inside its wait (an event, not a sleep).
    let started!: () => void;
    const inside = new Promise<void>((r) => (started = r));
    const pending = kernel.execute(
      `%%mlflow_run waiting\nmlflow.logMetric("progress", 1);\nconsole.log("waiting now");\nawait new Promise(() => {});`,
      {
        timeout: 120_000,
        onOutput: (m: Message) => {
          if (m.header.msg_type === "stream" && String((m.content as Content).text).includes("waiting now")) started();
        },
      },
    );
    await inside;
    await kernel.interrupt();
    expect(((await pending).reply.content as Content).status).toBe("error");

    expect((await exec(`await mlflow.startRun({ runName: "outer" });`)).status).toBe("ok");
    expect((await exec(`%%mlflow_run inner --nested\nmlflow.logMetric("m", 1);`)).status).toBe("ok");
    expect((await exec(`await mlflow.endRun();`)).status).toBe("ok");
    expect((await exec(`await mlflow.flush();`)).status).toBe("ok");

    const seen = await python<Record<string, any>>(`
import json, mlflow
from mlflow import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name(${JSON.stringify(experiment)})
out = {}
for r in c.search_runs([exp.experiment_id], max_results=100):
    d = {"status": r.info.status, "params": r.data.params, "tags": r.data.tags, "metrics": r.data.metrics,
         "end": r.info.end_time is not None, "id": r.info.run_id}
    d["loss"] = [[m.step, m.value] for m in c.get_metric_history(r.info.run_id, "loss")]
    d["artifacts"] = sorted(f.path for f in c.list_artifacts(r.info.run_id))
    d["notes"] = sorted(f.path for f in c.list_artifacts(r.info.run_id, "notes"))
    full = c.get_run(r.info.run_id)
    d["datasets"] = [{"name": i.dataset.name, "digest": i.dataset.digest, "source_type": i.dataset.source_type,
                      "source": i.dataset.source, "schema": i.dataset.schema, "profile": i.dataset.profile,
                      "tags": {t.key: t.value for t in i.tags}} for i in (full.inputs.dataset_inputs if full.inputs else [])]
    out[r.info.run_name] = d
print(json.dumps(out))
`);
    expect(Object.keys(seen).sort()).toEqual(["broken", "good", "inner", "outer", "waiting"]);
    const good = seen.good;
    expect(good.status).toBe("FINISHED");
    expect(good.end).toBe(true);
    expect(good.params).toEqual({ lr: "0.1" });
    expect(good.tags).toMatchObject({
      team: "growth",
      stage: "dev",
      "mlflow.note.content": "first try",
      "mlflow.runName": "good",
      "mlflow.source.type": "NOTEBOOK",
    });
    expect(good.loss).toEqual(Array.from({ length: 30 }, (_, i) => [i, 1 / (i + 1)]));
    expect(good.metrics.odd).toBe("NaN");
    expect(good.notes).toEqual(["notes/hello.txt"]);
    expect(good.datasets).toHaveLength(1);
    expect(good.datasets[0]).toMatchObject({ name: "toy", source_type: "local", tags: { "mlflow.data.context": "training" } });
    expect(JSON.parse(good.datasets[0].source)).toEqual({ uri: "file:///data/toy.csv" });
    expect(JSON.parse(good.datasets[0].schema).mlflow_colspec.map((c: Content) => [c.name, c.type])).toEqual([
      ["x", "long"],
      ["y", "double"],
      ["label", "string"],
    ]);
    expect(JSON.parse(good.datasets[0].profile)).toEqual({ num_rows: 2, num_elements: 6 });
    expect(seen.broken.status).toBe("FAILED");
    expect(seen.broken.loss).toEqual([[0, 3]]);
    expect(seen.waiting.status).toBe("KILLED");
    expect(seen.waiting.metrics).toEqual({ progress: 1 });
    expect(seen.outer.status).toBe("FINISHED");
    expect(seen.inner.status).toBe("FINISHED");
    expect(seen.inner.tags["mlflow.parentRunId"]).toBe(seen.outer.id);
    for (const r of Object.values(seen)) expect(r.status).not.toBe("RUNNING");
  }, 240_000);

  it("%mlflow_runs lists the runs and %mlflow_compare charts metric history", async () => {
    const runs = await exec(`%mlflow_runs --experiment ${experiment}`);
    expect(runs.status, JSON.stringify(runs.reply)).toBe("ok");
    const table = JSON.stringify(contentsOf(runs.outputs, "display_data").concat(contentsOf(runs.outputs, "execute_result")));
    for (const name of ["good", "broken", "waiting"]) expect(table).toContain(name);

    // History needs metrics/get-history: on MLflow 3 without max_results this was a 400.
    const compare = await exec(`%mlflow_compare --experiment ${experiment} --metric loss --kind history`);
    expect(compare.status, JSON.stringify(compare.reply)).toBe("ok");
    const bundles = contentsOf(compare.outputs, "display_data").map((c) => c.data as Content);
    const chart = bundles.find((d) => Object.keys(d).some((k) => k.startsWith("application/vnd.vegalite")));
    expect(chart, JSON.stringify(compare.outputs.map((m) => m.content))).toBeDefined();
    expect(chart!["image/svg+xml"]).toContain("<svg");
    const spec = Object.entries(chart!).find(([k]) => k.startsWith("application/vnd.vegalite"))![1] as Content;
    const values = JSON.stringify(spec);
    expect(values).toContain("good");
    expect(contentsOf(compare.outputs, "stream").filter((s) => s.name === "stderr")).toEqual([]);
  }, 120_000);

  it("registerModel, setAlias and getModelVersionByAlias from a cell agree with MLflow's client", async () => {
    const r = await exec(
      [
        `const runs = await mlflow.searchRuns({ filter: "attributes.run_name = 'good'" });`,
        `const v1 = await mlflow.registerModel(\`runs:/\${runs[0]!.info.runId}/model\`, ${JSON.stringify(model)});`,
        `const v2 = await mlflow.registerModel(\`runs:/\${runs[0]!.info.runId}/model\`, ${JSON.stringify(model)});`,
        `await mlflow.setAlias(${JSON.stringify(model)}, "Champion", v1.version);`,
        `await mlflow.setAlias(${JSON.stringify(model)}, "Challenger", v2.version);`,
        `const champ = await mlflow.getModelVersionByAlias(${JSON.stringify(model)}, "Champion");`,
        `[v1.version, v2.version, champ.version, champ.runId === runs[0]!.info.runId].join(",")`,
      ].join("\n"),
    );
    expect(r.status, JSON.stringify(r.reply)).toBe("ok");
    expect(contentsOf(r.outputs, "execute_result")[0]!.data["text/plain"]).toContain("1,2,1,true");
    const seen = await python<Content>(`
import json
from mlflow import MlflowClient
c = MlflowClient()
champ = c.get_model_version_by_alias(${JSON.stringify(model)}, "Champion")
chall = c.get_model_version_by_alias(${JSON.stringify(model)}, "Challenger")
rm = c.get_registered_model(${JSON.stringify(model)})
print(json.dumps({"champion": champ.version, "challenger": chall.version, "source": champ.source, "aliases": rm.aliases}))
`);
    expect(seen).toMatchObject({ champion: "1", challenger: "2", aliases: { Champion: "1", Challenger: "2" } });
    expect(seen.source).toMatch(/model$/);
  }, 120_000);
});
