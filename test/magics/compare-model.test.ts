// `%mlflow_compare --model NAME` in-process (fake-host.ts) against a real file store: the
// aliased versions' source runs are charted under `Champion (v3)`-style labels, versions
// sharing a run share its row, a model without aliases is compared by its latest 10 versions
// with a note saying so, and an unknown model or a conflicting option is refused by name.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { VEGALITE_V5_MIME } from "../../charts/index.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { mlflowExtension } from "../../magics/extension.js";
import { trackingFromStore } from "../../magics/open-tracking.js";
import { displays, errors, FakeHost } from "./fake-host.js";

let dir: string;
let store: FileStore;
let host: FakeHost;
let exp: string;

/** A finished run with an `accuracy` history over three steps ending at `acc`. */
async function trainRun(name: string, acc: number, start: number): Promise<string> {
  const run = await store.createRun({ experimentId: exp, runName: name, startTime: start });
  const id = run.info.runId;
  await store.logBatch(id, {
    metrics: [0, 1, 2].map((step) => ({ key: "accuracy", value: acc - (2 - step) * 0.1, timestamp: start + step, step })),
    params: [{ key: "lr", value: String(acc / 10) }],
  });
  await store.updateRun(id, { status: "FINISHED", endTime: start + 10 });
  return id;
}

async function version(model: string, runId: string | undefined): Promise<string> {
  return (await store.createModelVersion({ name: model, source: runId ? `runs:/${runId}/model` : "file:///nowhere/model", runId })).version;
}

const labelsOf = (spec: unknown) => [...new Set((JSON.stringify(spec).match(/"run":"[^"]*"/g) ?? []).map((s) => s.slice(7, -1)))];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "magics-compare-model-"));
  store = new FileStore(path.join(dir, "mlruns"), { onWarning: () => undefined });
  exp = await store.createExperiment("training");
  const tracking = trackingFromStore(store, () => undefined, { spoolDir: path.join(dir, "spool"), exitHooks: false });
  host = new FakeHost(dir, mlflowExtension({ env: {}, tracking }));
  await host.start();
});
afterAll(async () => {
  await host.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

it("charts Champion, Challenger and other aliased versions by their source runs' metrics", async () => {
  await store.createRegisteredModel("churn");
  const r1 = await trainRun("baseline", 0.7, 1_000);
  const r2 = await trainRun("wider", 0.8, 2_000);
  const r3 = await trainRun("deeper", 0.9, 3_000);
  await version("churn", r1); // v1: no alias, left out
  await version("churn", r2); // v2
  await version("churn", r3); // v3
  await version("churn", r2); // v4: the same run as v2
  await store.setRegisteredModelAlias("churn", "Champion", "2");
  await store.setRegisteredModelAlias("churn", "Challenger", "3");
  await store.setRegisteredModelAlias("churn", "Shadow", "4");
  await store.setRegisteredModelAlias("churn", "Production", "2");

  const r = await host.execute("%mlflow_compare --model churn --kind bar");
  expect(errors(r.outputs)).toEqual([]);
  const shown = displays(r.outputs);
  expect(shown).toHaveLength(1);
  const bundle = shown[0]!;
  // Two runs: v2 and v4 came from one run and share its row; v1 has no alias.
  expect(labelsOf(bundle[VEGALITE_V5_MIME])).toEqual(["Champion, Production (v2) / Shadow (v4)", "Challenger (v3)"]);
  const text = bundle["text/plain"] as string;
  expect(text).toMatch(/^label\s+run\s+id\s+lr\s+accuracy$/m);
  expect(text).toMatch(/^Champion, Production \(v2\) \/ Shadow \(v4\)\s+wider\s+\S+\s+0\.08\s+0\.8$/m);
  expect(text).toMatch(/^Challenger \(v3\)\s+deeper\s+\S+\s+0\.09\s+0\.9$/m);
  expect(text).not.toContain("baseline");
  expect(bundle["image/svg+xml"]).toContain("Challenger (v3)");

  // auto draws the histories (three steps), under the same labels.
  const auto = displays((await host.execute("%mlflow_compare --model churn")).outputs)[0]!;
  expect(JSON.stringify(auto[VEGALITE_V5_MIME])).toContain('"step"');
  expect(labelsOf(auto[VEGALITE_V5_MIME]).sort()).toEqual(["Challenger (v3)", "Champion, Production (v2) / Shadow (v4)"]);
});

it("compares the latest 10 versions of a model without aliases, says so, and names versions without a source run", async () => {
  await store.createRegisteredModel("plain");
  for (let i = 1; i <= 12; i++) await version("plain", await trainRun(`sweep-${i}`, 0.5 + i / 100, 10_000 + i * 100));
  await version("plain", undefined); // v13: registered from a path, no run
  const r = await host.execute("%mlflow_compare --model plain --kind bar");
  expect(errors(r.outputs)).toEqual([]);
  const [note, bundle] = displays(r.outputs);
  expect(note!["text/plain"]).toBe(
    "plain has no aliases: comparing its latest 10 versions (v13, v12, v11, v10, v9, v8, v7, v6, v5, v4).\nLeft out (no source run found): v13.",
  );
  expect(labelsOf(bundle![VEGALITE_V5_MIME])).toEqual(["v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"]);
});

it("refuses an unknown model by name, and --model with --runs, --filter or --experiment", async () => {
  const unknown = await host.execute("%mlflow_compare --model no-such-model");
  expect(unknown.status).toBe("error");
  expect(errors(unknown.outputs)[0]!.evalue).toMatch(
    /--model: Unknown registered model "no-such-model": .* has no registered model by that name\. %mlflow_models lists the registered models\./,
  );
  for (const extra of ["--runs abc", '--filter "metrics.accuracy > 0"', "--experiment training"]) {
    const r = await host.execute(`%mlflow_compare --model churn ${extra}`);
    expect(r.status).toBe("error");
    expect(errors(r.outputs)[0]!.evalue).toContain(
      "--model compares a registered model's versions by their source runs; it does not combine with --runs, --filter or --experiment.",
    );
  }
});

it("says when no version of the model has a source run", async () => {
  await store.createRegisteredModel("orphan");
  await version("orphan", undefined);
  const r = await host.execute("%mlflow_compare --model orphan");
  expect(r.status).toBe("error");
  expect(errors(r.outputs)[0]!.evalue).toContain("--model: none of orphan's versions (v1) has a source run to compare.");
});
