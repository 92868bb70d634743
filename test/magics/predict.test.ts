// %mlflow_predict and mlflow.batchPredict through a spawned kernel over ZeroMQ, on a file store:
// a registered model from code is loaded by alias, predicts over a CSV in batches; the cell
// shows a progress display that is updated in place (same display id) and a preview table;
// the predictions land in the active run's artifacts with tags naming the model URI and
// version, and read back with hyparquet. Bad input: a missing --output, a bad row (named).
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../tracking/file-store/index.js";
import { MlflowClient } from "../../tracking/index.js";
import { logModel } from "../../models/index.js";
import { contentsOf, KernelClient, startKernelIn, stdoutOf } from "../support/kernel.js";
import { REPO_ROOT, makeTempDir, rmTempDir } from "../support/paths.js";

type Content = Record<string, any>;
const FIXTURE = path.join(REPO_ROOT, "test", "models", "fixtures", "scoring", "model.ts");

let work: string;
let store: FileStore;
let kernel: KernelClient;

async function exec(code: string) {
  const { reply, outputs } = await kernel.execute(code, { timeout: 60_000 });
  return { status: (reply.content as Content).status as string, reply: reply.content as Content, outputs };
}

beforeAll(async () => {
  work = makeTempDir("magic-predict");
  const mlruns = path.join(work, "mlruns");
  store = new FileStore(mlruns, { onWarning: () => undefined });
  const client = new MlflowClient(store);
  const exp = await client.createExperiment("models");
  const run = await client.createRun(exp);
  await logModel(client, run.info.runId, FIXTURE, { inputExample: [{ a: 0, b: 1 }], registeredModelName: "scorer" });
  await client.setRegisteredModelAlias("scorer", "Champion", "1");
  writeFileSync(path.join(work, "data.csv"), "id,a,b\n1,1,0\n2,2,1\n3,0,0\n4,1,1\n5,3,2\n");
  writeFileSync(path.join(work, "bad.csv"), "a,b\n1,0\nx,1\n");
  kernel = await startKernelIn(work, { XDG_CACHE_HOME: path.join(work, "cache") });
}, 60_000);
afterAll(async () => {
  await kernel?.close();
  rmTempDir(work);
});

describe("%mlflow_predict in a kernel", () => {
  it("predicts by alias with a progress display updated in place and a preview; logs the predictions into the run with the model's URI and version", async () => {
    expect((await exec(`const run = await mlflow.startRun({ runName: "scoring" }); run.runId`)).status).toBe("ok");
    const r = await exec("%mlflow_predict models:/scorer@Champion --input data.csv --output preds.parquet --batch-size 2");
    expect(r.status, JSON.stringify(contentsOf(r.outputs, "error"))).toBe("ok");
    const shown = contentsOf(r.outputs, "display_data");
    const progressId = shown[0]!.transient?.display_id;
    expect(progressId).toBeTruthy();
    expect(shown[0]!.data["text/plain"]).toMatch(/^Predicting models:\/scorer@Champion: 2 rows \(.* of .* MB\), 1 batches/);
    const updates = contentsOf(r.outputs, "update_display_data");
    expect(updates.at(-1)!.transient.display_id).toBe(progressId);
    expect(updates.at(-1)!.data["text/plain"]).toMatch(/^Predicted models:\/scorer@Champion: 5 rows, 3 batches/);
    const preview = shown.at(-1)!.data;
    expect(preview["text/plain"]).toMatch(
      /^5 predictions by models:\/scorer@Champion \(version 1\) in .* -> .*preds\.parquet, logged to run \w+\. First 5 rows:\nid +a +b +prediction\n1 +1 +0 +3\n2 +2 +1 +8/,
    );
    expect(preview["text/html"]).toContain("<th>prediction</th>");

    const api =
      await exec(`const res = await mlflow.batchPredict("models:/scorer@Champion", [{ a: 1, b: 1, note: "x" }], { output: "mem.csv" });
console.log(JSON.stringify({ rows: res.rows, version: res.modelVersion, columns: res.columns, preview: res.preview }));`);
    expect(api.status, JSON.stringify(contentsOf(api.outputs, "error"))).toBe("ok");
    expect(JSON.parse(stdoutOf(api.outputs))).toEqual({
      rows: 1,
      version: "1",
      columns: ["a", "b", "note", "prediction"],
      preview: [{ a: 1, b: 1, note: "x", prediction: 6 }],
    });
    // The api's call shows its progress and preview in the cell too.
    expect(contentsOf(api.outputs, "display_data").at(-1)!.data["text/plain"]).toMatch(/^1 predictions by models:\/scorer@Champion/);
    expect((await exec("await mlflow.endRun()")).status).toBe("ok");

    const runs = (
      await store.searchRuns({
        experimentIds: ["0", ...(await store.searchExperiments({ maxResults: 100 })).items.map((e) => e.experimentId)],
        maxResults: 100,
      })
    ).items;
    const scoring = runs.find((x) => x.info.runName === "scoring")!;
    const tags = Object.fromEntries(scoring.data.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ "batch_predict.model_uri": "models:/scorer@Champion", "batch_predict.model_version": "1" });
    const files = (await store.listArtifacts(scoring.info.runId, "predictions")).map((f) => f.path).sort();
    expect(files).toEqual(["predictions/mem.csv", "predictions/preds.parquet"]);
    const bytes = await store.downloadArtifact(scoring.info.runId, "predictions/preds.parquet");
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    expect(await parquetReadObjects({ file: ab })).toEqual([
      { id: 1, a: 1, b: 0, prediction: 3 },
      { id: 2, a: 2, b: 1, prediction: 8 },
      { id: 3, a: 0, b: 0, prediction: 1 },
      { id: 4, a: 1, b: 1, prediction: 6 },
      { id: 5, a: 3, b: 2, prediction: 13 },
    ]);
    expect(Buffer.from(await store.downloadArtifact(scoring.info.runId, "predictions/mem.csv")).toString()).toBe(
      "a,b,note,prediction\n1,1,x,6\n",
    );
  });

  it("refuses a missing --output and names a bad row; --skip-bad-rows reports it", async () => {
    const noOut = await exec("%mlflow_predict models:/scorer@Champion --input data.csv");
    expect(noOut.status).toBe("error");
    expect(noOut.reply.evalue).toMatch(/needs --output PATH/);
    const bad = await exec("%mlflow_predict models:/scorer@Champion --input bad.csv --output bad.parquet");
    expect(bad.status).toBe("error");
    expect(bad.reply.evalue).toMatch(/Input row 2 does not match the model's signature: column "a" expects double but got string \("x"\)/);
    const skipped = await exec("%mlflow_predict models:/scorer@Champion --input bad.csv --output bad.parquet --skip-bad-rows");
    expect(skipped.status).toBe("ok");
    expect(contentsOf(skipped.outputs, "display_data").at(-1)!.data["text/plain"]).toMatch(
      /1 predictions .*; 1 bad rows left out: row 2 \(column "a" expects double/,
    );
  });
});
