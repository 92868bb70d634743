// `tslab-mlflow sync ./mlruns --to <server>` against real MLflow 2.22 and 3.4 servers:
//  - a local store of 50 runs with 10,000-point histories, nested runs, dataset inputs,
//    artifacts and a registered model (two versions, an alias) is synced, then read back with
//    MLflow's own Python client and compared field by field with the source;
//  - a sync killed (SIGKILL) once it has reported some runs, then run again, leaves exactly one
//    complete copy of every run.
// The CLI runs as a process (dist/); names carry a random suffix (the servers serve the whole run).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { FileStore, type Run } from "../../tracking/index.js";
import { forEachRealServer, mlflowPython, type RealServer } from "../support/mlflow-servers.js";
import { CLI_MAIN, makeTempDir, rmTempDir } from "../support/paths.js";
import { runCli } from "../support/run.js";
import { buildSource, dumpStore, type BuiltSource, type Dump } from "../support/sync-source.js";

const suffix = randomBytes(4).toString("hex");
const base = makeTempDir("sync-real");
afterAll(() => rmTempDir(base));
const env = { ...process.env };
delete env.MLFLOW_TRACKING_URI;

/** Built once, used by both servers' tests. */
const BIG = { dir: path.join(base, "big"), experiment: `sync-big-${suffix}`, runs: 50, points: 10_000, model: `sync-model-${suffix}` };
const SMALL = { dir: path.join(base, "small"), experiment: `sync-kill-${suffix}`, runs: 16, points: 3_000 };
let bigSource: Promise<BuiltSource> | undefined;
let smallSource: Promise<BuiltSource> | undefined;

const sourceDump = async (dir: string, experiments: string[], models: string[]): Promise<Dump> => {
  const store = new FileStore(dir);
  try {
    return await dumpStore(store, experiments, models, (r: Run) => r.info.runId);
  } finally {
    await store.close();
  }
};

/** What MLflow's Python client reads from the server, in dumpStore's shape, each copy under its source run id. */
const PY_DUMP = String.raw`
import json, math, os, re
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient()
EXPS, MODELS, ONLY = json.loads(os.environ["EXPS"]), json.loads(os.environ["MODELS"]), set(json.loads(os.environ["ONLY"]))
def num(v):
    return "NaN" if isinstance(v, float) and math.isnan(v) else v
runs = []
for name in EXPS:
    e = c.get_experiment_by_name(name)
    if e is not None:
        runs += [(r, name) for r in c.search_runs([e.experiment_id], run_view_type=ViewType.ALL, max_results=1000)]
ids = {r.info.run_id: r.data.tags.get("tslab_mlflow.sync.source_run_id", "not a copy: " + r.info.run_id) for r, _ in runs}
def files(rid, path=None):
    out = {}
    for f in c.list_artifacts(rid, path):
        if f.is_dir: out.update(files(rid, f.path))
        else: out[f.path] = f.file_size
    return out
dump = {"runs": {}, "models": {}, "copies": {}}
for r, name in runs:
    src = ids[r.info.run_id]
    dump["copies"][src] = dump["copies"].get(src, 0) + 1
    if src not in ONLY: continue
    tags = {k: v for k, v in r.data.tags.items() if not k.startswith("tslab_mlflow.sync.")}
    parent = tags.pop("mlflow.parentRunId", None)
    inputs = r.inputs.dataset_inputs if r.inputs else []
    dump["runs"][src] = {
        "name": r.info.run_name, "status": r.info.status, "start": r.info.start_time, "end": r.info.end_time, "experiment": name,
        "parent": None if parent is None else ids.get(parent, "unknown:" + parent),
        "params": r.data.params, "tags": tags,
        "metrics": {k: [[m.step, m.timestamp, num(m.value)] for m in c.get_metric_history(r.info.run_id, k)] for k in r.data.metrics},
        "artifacts": files(r.info.run_id),
        "inputs": sorted(d.dataset.name + "@" + d.dataset.digest + ":" + ",".join(t.key + "=" + t.value for t in d.tags) for d in inputs),
    }
for name in MODELS:
    m = c.get_registered_model(name)
    dump["models"][name] = {
        "description": m.description or "", "tags": m.tags, "aliases": {a: str(v) for a, v in m.aliases.items()},
        "versions": {v.version: {
            "source": re.sub(r"^runs:/([^/]+)", lambda g: "runs:/" + ids.get(g.group(1), g.group(1)), v.source),
            "run": ids.get(v.run_id, str(v.run_id)), "description": v.description or "",
            "tags": {k: x for k, x in v.tags.items() if not k.startswith("tslab_mlflow.sync.")},
        } for v in c.search_model_versions("name='%s'" % name)},
    }
print(json.dumps(dump))
`;

/** The dump in a few calls of 10 runs each: one call reading 500,000 points may outlast the helper's 2 minutes on a busy machine. */
async function serverDump(
  server: RealServer,
  experiments: string[],
  models: string[],
  runIds: string[],
): Promise<Dump & { copies: Record<string, number> }> {
  const whole: Dump & { copies: Record<string, number> } = { runs: {}, models: {}, copies: {} };
  for (let i = 0; i < runIds.length; i += 10) {
    const part = await mlflowPython<Dump & { copies: Record<string, number> }>(server.version, server.url, PY_DUMP, {
      EXPS: JSON.stringify(experiments),
      MODELS: JSON.stringify(i === 0 ? models : []),
      ONLY: JSON.stringify(runIds.slice(i, i + 10)),
    });
    Object.assign(whole.runs, part.runs);
    Object.assign(whole.models, part.models);
    whole.copies = part.copies;
  }
  return whole;
}

const runLines = (stdout: string) => stdout.split("\n").filter((l) => /^\[\s*\d+\/\d+\] /.test(l));

forEachRealServer("sync --to a real server", (server) => {
  it("copies 50 runs of 10,000 points with nesting, inputs, artifacts and a model; MLflow's client reads back the source, field by field", async () => {
    const built = await (bigSource ??= buildSource(BIG));
    const t0 = performance.now();
    const r = await runCli(["sync", BIG.dir, "--to", server.url], { env, timeout: 1_100_000 });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.status, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(runLines(r.stdout)).toHaveLength(50);
    expect(r.stdout).toContain("50 copied, 0 completed, 0 already there, 0 failed; model versions: 2 copied, 0 already there, 0 failed.");
    console.log(
      `MLflow ${server.version}: 50 runs x 10,000 points synced in ${seconds.toFixed(1)} s (${Math.round((50 * 10_002) / seconds)} points/s)`,
    );

    const want = await sourceDump(BIG.dir, [BIG.experiment], [BIG.model]);
    if (!server.python) return;
    const got = await serverDump(server, [BIG.experiment], [BIG.model], built.runIds);
    expect(Object.keys(got.runs).sort()).toEqual([...built.runIds].sort());
    expect(Object.values(got.copies).every((n) => n === 1)).toBe(true);
    for (const id of built.runIds) expect(got.runs[id], `run ${id}`).toEqual(want.runs[id]);
    expect(got.runs[built.runIds[13]!]!.parent).toBe(built.runIds[10]);
    expect(got.models).toEqual(want.models);

    // A second sync finds every copy and writes nothing.
    const again = await runCli(["sync", BIG.dir, "--to", server.url], { env, timeout: 300_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      "0 copied, 0 completed, 50 already there, 0 failed; model versions: 0 copied, 2 already there, 0 failed.",
    );
  }, 1_200_000);

  it("a sync killed halfway and run again leaves exactly one complete copy of every run", async () => {
    const built = await (smallSource ??= buildSource(SMALL));
    // Kill the CLI once it has reported 5 runs: waiting on its output, not on a timer.
    const child = spawn(process.execPath, [CLI_MAIN, "sync", SMALL.dir, "--to", server.url], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const killed = await new Promise<{ lines: number; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      let lines = 0;
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        lines = runLines(out).length;
        if (lines >= 5 && !child.killed) child.kill("SIGKILL");
      });
      child.on("close", (code, signal) => resolve({ lines, code, signal }));
    });
    expect(killed.signal, out).toBe("SIGKILL");
    expect(killed.lines).toBeLessThan(16);

    const r = await runCli(["sync", SMALL.dir, "--to", server.url], { env, timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = runLines(r.stdout);
    expect(lines).toHaveLength(16);
    expect(lines.filter((l) => / skipped /.test(l)).length).toBeGreaterThanOrEqual(5);
    expect(lines.filter((l) => / (copied|completed) /.test(l)).length).toBeGreaterThanOrEqual(1);

    const want = await sourceDump(SMALL.dir, [SMALL.experiment], []);
    if (!server.python) return;
    const got = await serverDump(server, [SMALL.experiment], [], built.runIds);
    expect(got.copies).toEqual(Object.fromEntries(built.runIds.map((id) => [id, 1])));
    for (const id of built.runIds) expect(got.runs[id], `run ${id}`).toEqual(want.runs[id]);
  }, 900_000);
});
