// A local MLflow store (./mlruns layout) for the sync tests: experiments, nested runs with
// params, tags, metric histories, a dataset input, artifacts and finals statuses, and a
// registered model whose versions point at two of the runs (one alias). Written through
// our FileStore, the way a notebook's runs land in ./mlruns.

import { FileStore, datasetFromRecords, toDatasetInput, type Metric } from "../../tracking/index.js";

export const T0 = 1_700_000_000_000;

export interface SourceSpec {
  dir: string;
  experiment: string;
  runs: number;
  /** Points of the `loss` history of each run. */
  points: number;
  /** A second experiment with this many runs (default none). */
  otherRuns?: number;
  model?: string;
}

export interface BuiltSource {
  runIds: string[];
  otherRunIds: string[];
  /** Every 10th run is a parent; the 9 after it are its children. */
  parentOf: Map<string, string>;
}

const history = (i: number, points: number): Metric[] =>
  Array.from({ length: points }, (_, k) => ({
    key: "loss",
    value: k % 997 === 5 ? NaN : 1 / (k + 1) + i,
    timestamp: T0 + i * 100_000 + k,
    step: k,
  }));

export async function buildSource(spec: SourceSpec): Promise<BuiltSource> {
  const store = new FileStore(spec.dir);
  const built: BuiltSource = { runIds: [], otherRunIds: [], parentOf: new Map() };
  const dataset = toDatasetInput(
    datasetFromRecords(
      [
        { x: 1, y: 2 },
        { x: 3, y: 4 },
      ],
      { name: "toy", source: "memory://toy" },
    ),
    "training",
  );
  const write = async (experimentId: string, i: number, parent?: string): Promise<string> => {
    const tags = [
      { key: "mlflow.user", value: "ada" },
      { key: "team", value: "vision" },
      { key: "mlflow.source.type", value: "NOTEBOOK" },
    ];
    if (parent) tags.push({ key: "mlflow.parentRunId", value: parent });
    const runId = (await store.createRun({ experimentId, runName: `run-${i}`, startTime: T0 + i * 100_000, tags, userId: "ada" })).info
      .runId;
    await store.logBatch(runId, {
      params: [
        { key: "lr", value: String(0.001 * (i + 1)) },
        { key: "layers", value: String(2 + (i % 3)) },
      ],
    });
    const loss = history(i, spec.points);
    for (let s = 0; s < loss.length; s += 1000) await store.logBatch(runId, { metrics: loss.slice(s, s + 1000) });
    // A metric logged twice at one step with different timestamps: both points must arrive.
    await store.logBatch(runId, {
      metrics: [
        { key: "acc", value: 0.5 + i / 1000, timestamp: T0 + i, step: 0 },
        { key: "acc", value: 0.6 + i / 1000, timestamp: T0 + i + 1, step: 0 },
      ],
    });
    if (i % 5 === 0) await store.logInputs(runId, [dataset]);
    await store.logArtifact(runId, "notes.txt", `run ${i}\n`);
    await store.logArtifact(runId, "model/MLmodel", `artifact_path: model\nrun_id: ${runId}\nflavors: {}\n`);
    await store.logArtifact(runId, "model/weights.bin", new Uint8Array(Array.from({ length: 300 }, (_, b) => (b * 7 + i) & 255)));
    const status = i % 7 === 3 ? "FAILED" : i % 11 === 4 ? "KILLED" : "FINISHED";
    await store.updateRun(runId, { status, endTime: T0 + i * 100_000 + spec.points + 7 });
    return runId;
  };
  try {
    const experimentId = await store.createExperiment(spec.experiment, [{ key: "project", value: "sync" }]);
    for (let i = 0; i < spec.runs; i++) {
      const parent = i % 10 === 0 ? undefined : built.runIds[Math.floor(i / 10) * 10];
      const id = await write(experimentId, i, parent);
      built.runIds.push(id);
      if (parent) built.parentOf.set(id, parent);
    }
    if (spec.otherRuns) {
      const other = await store.createExperiment(`${spec.experiment}-other`);
      for (let i = 0; i < spec.otherRuns; i++) built.otherRunIds.push(await write(other, 1000 + i));
    }
    if (spec.model) {
      await store.createRegisteredModel(spec.model, { description: "toy model", tags: [{ key: "owner", value: "ada" }] });
      await store.createModelVersion({
        name: spec.model,
        source: `runs:/${built.runIds[0]}/model`,
        runId: built.runIds[0],
        description: "first",
        tags: [{ key: "stage", value: "dev" }],
      });
      await store.createModelVersion({ name: spec.model, source: `runs:/${built.runIds[1]}/model`, runId: built.runIds[1] });
      await store.setRegisteredModelAlias(spec.model, "champion", "2");
    }
  } finally {
    await store.close();
  }
  return built;
}

/** A store's runs and models as plain data keyed by source run id, to compare a source with its copy. */
export interface Dump {
  runs: Record<
    string,
    {
      name: string;
      status: string;
      start: number;
      end: number | null;
      experiment: string;
      parent: string | null;
      params: Record<string, string>;
      tags: Record<string, string>;
      metrics: Record<string, [number, number, number | string][]>;
      artifacts: Record<string, number>;
      inputs: string[];
    }
  >;
  models: Record<
    string,
    {
      description: string;
      tags: Record<string, string>;
      aliases: Record<string, string>;
      versions: Record<string, { source: string; run: string; description: string; tags: Record<string, string> }>;
    }
  >;
}

const SYNC_TAG = /^tslab_mlflow\.sync\./;

/**
 * Dumps the runs of `experiments` in a store. `idOf` maps a run to the id it is compared
 * under (the source's own id, or a copy's source id from its provenance tag); provenance tags are left out.
 */
export async function dumpStore(
  store: import("../../tracking/index.js").TrackingStore,
  experiments: string[],
  models: string[],
  idOf: (run: import("../../tracking/index.js").Run) => string,
): Promise<Dump> {
  const dump: Dump = { runs: {}, models: {} };
  const ids = new Map<string, string>();
  const all: { run: import("../../tracking/index.js").Run; exp: string }[] = [];
  for (const name of experiments) {
    const exp = await store.getExperimentByName(name);
    if (!exp) continue;
    let pageToken: string | undefined;
    do {
      const page = await store.searchRuns({ experimentIds: [exp.experimentId], maxResults: 1000, pageToken, runViewType: "ALL" });
      for (const run of page.items) all.push({ run, exp: name });
      pageToken = page.items.length ? page.nextPageToken : undefined;
    } while (pageToken);
  }
  for (const { run } of all) ids.set(run.info.runId, idOf(run));
  const files = async (runId: string, dir?: string): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const f of await store.listArtifacts(runId, dir))
      Object.assign(out, f.isDir ? await files(runId, f.path) : { [f.path]: f.fileSize ?? -1 });
    return out;
  };
  for (const { run, exp } of all) {
    const tags = Object.fromEntries(run.data.tags.filter((t) => !SYNC_TAG.test(t.key)).map((t) => [t.key, t.value]));
    const parent = tags["mlflow.parentRunId"];
    delete tags["mlflow.parentRunId"];
    const metrics: Dump["runs"][string]["metrics"] = {};
    for (const key of new Set(run.data.metrics.map((m) => m.key)))
      metrics[key] = (await store.getMetricHistory(run.info.runId, key)).map((m) => [
        m.step,
        m.timestamp,
        Number.isNaN(m.value) ? "NaN" : m.value,
      ]);
    dump.runs[ids.get(run.info.runId)!] = {
      name: run.info.runName,
      status: run.info.status,
      start: run.info.startTime,
      end: run.info.endTime ?? null,
      experiment: exp,
      parent: parent === undefined ? null : (ids.get(parent) ?? `unknown:${parent}`),
      params: Object.fromEntries(run.data.params.map((p) => [p.key, p.value])),
      tags,
      metrics,
      artifacts: await files(run.info.runId),
      inputs: (run.inputs?.datasetInputs ?? [])
        .map((d) => `${d.dataset.name}@${d.dataset.digest}:${d.tags.map((t) => `${t.key}=${t.value}`).join(",")}`)
        .sort(),
    };
  }
  for (const name of models) {
    const m = await store.getRegisteredModel(name);
    const versions = (await store.searchModelVersions({ filter: `name='${name}'` })).items;
    dump.models[name] = {
      description: m.description ?? "",
      tags: Object.fromEntries(m.tags.map((t) => [t.key, t.value])),
      aliases: Object.fromEntries(m.aliases.map((a) => [a.alias, a.version])),
      versions: Object.fromEntries(
        versions.map((v) => [
          v.version,
          {
            source: v.source.replace(/^runs:\/([^/]+)/, (_, id: string) => `runs:/${ids.get(id) ?? id}`),
            run: ids.get(v.runId ?? "") ?? String(v.runId),
            description: v.description ?? "",
            tags: Object.fromEntries(v.tags.filter((t) => !SYNC_TAG.test(t.key)).map((t) => [t.key, t.value])),
          },
        ]),
      ),
    };
  }
  return dump;
}
