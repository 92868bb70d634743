// notebooks/models.ipynb executed by Debian's `jupyter nbconvert --execute` through our
// installed kernelspec, with its model file beside it, into a fresh file store: the model is
// logged into the run, registered as version 1 with Champion on it, and loaded back by alias.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FileStore } from "../../tracking/file-store/index.js";
import { installedKernelSandbox, KERNEL_NAME, type JupyterSandbox } from "../support/jupyter.js";
import { nbconvertExecute } from "../support/notebook-runs.js";
import { makeTempDir, REPO_ROOT, rmTempDir } from "../support/paths.js";

interface Output {
  output_type: string;
  name?: string;
  evalue?: string;
  data?: Record<string, unknown>;
  text?: string | string[];
}

let sandbox: JupyterSandbox;
let work: string;

beforeAll(async () => {
  sandbox = await installedKernelSandbox();
  work = makeTempDir("models-notebook");
}, 120_000);
afterAll(() => {
  sandbox?.cleanup();
  rmTempDir(work);
});

it("models.ipynb trains, logs, registers, sets Champion and loads it back", async () => {
  for (const f of ["models.ipynb", "logreg.ts"]) fs.copyFileSync(path.join(REPO_ROOT, "notebooks", f), path.join(work, f));
  const mlruns = path.join(work, "mlruns");
  const r = await nbconvertExecute(path.join(work, "models.ipynb"), KERNEL_NAME, {
    output: "executed.ipynb",
    cellTimeout: 240,
    env: {
      ...sandbox.env,
      MLFLOW_TRACKING_URI: `file://${mlruns}`,
      TSLAB_MLFLOW_SPOOL_DIR: path.join(work, "spool"),
      XDG_CACHE_HOME: path.join(work, "cache"),
    },
  });
  expect(r.status, r.stderr).toBe(0);
  const nb = JSON.parse(fs.readFileSync(path.join(work, "executed.ipynb"), "utf8")) as { cells: { outputs?: Output[] }[] };
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
  const stdout = outputs
    .filter((o) => o.output_type === "stream" && o.name === "stdout")
    .map((o) => [o.text].flat().join(""))
    .join("");
  const accuracy = Number(/accuracy (\d\.\d+)/.exec(stdout)![1]);
  expect(accuracy).toBeGreaterThan(0.9);
  expect(stdout).toMatch(/runs:\/[0-9a-f]{32}\/model version 1/);
  // The two new rows sit on either side of the boundary the model learned.
  const [hi, lo] = /(\d\.\d{3}) (\d\.\d{3})\n/.exec(stdout)!.slice(1).map(Number);
  expect(hi).toBeGreaterThan(0.5);
  expect(lo).toBeLessThan(0.5);
  expect(stdout).toMatch(/column "x1" expects double but got string \("0.9"\) in record 0/);

  const store = new FileStore(mlruns, { onWarning: () => undefined });
  const champion = await store.getModelVersionByAlias("logreg-example", "Champion");
  expect(champion.version).toBe("1");
  const files = (await store.listArtifacts(champion.runId!, "model")).map((f) => f.path).sort();
  expect(files).toEqual([
    "model/MLmodel",
    "model/artifacts",
    "model/code",
    "model/input_example.json",
    "model/package.json",
    "model/serving_input_example.json",
  ]);
  const table = outputs.find(
    (o) => o.output_type === "display_data" && String(o.data?.["text/plain"]).startsWith("logreg-example: 1 version"),
  );
  expect(String(table?.data?.["text/plain"])).toMatch(/1\s+Champion\s+READY\s+logreg/);
}, 300_000);
