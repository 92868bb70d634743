// The fixture mlruns trees written by MLflow 2.22's and 3.4's Python clients, copied elsewhere
// (so every absolute URI in them is stale), read back through FileStore must equal what MLflow
// itself read from them (expected.json). One difference is on purpose: for a run metric line
// with dataset fields (`<ts> <value> <step> <name> <digest>`), MLflow 3.4's reader returns
// step 0; we return the step the line holds.

import { readFileSync, promises as fs } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MlflowError } from "../../tracking/errors.js";
import { FileStore } from "../../tracking/file-store/index.js";
import {
  copyFixture,
  fixtureMlruns,
  type FixtureVersion,
  loadExpected,
  sortedExperiment,
  sortedModel,
  sortedRun,
  sortedVersion,
  wireExperiment,
  wireMetric,
  wireModelVersion,
  wireRegisteredModel,
  wireRun,
} from "./file-store-helpers.js";

const VIEWS = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const;

/** Puts the step each 5-field run metric line holds into MLflow 3.4's answers (where it reads 0). */
function withLineSteps(node: any, mlruns: string, expId: string): void {
  if (Array.isArray(node)) {
    node.forEach((n) => withLineSteps(n, mlruns, expId));
    return;
  }
  if (!node || typeof node !== "object") return;
  if (node.dataset_name !== undefined && node.run_id !== undefined && node.model_id === undefined) {
    const lines = readFileSync(join(mlruns, expId, node.run_id, "metrics", node.key), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
    const line = lines.find((p) => Number(p[0]) === node.timestamp && p.length === 5)!;
    node.step = Number(line[2]);
  }
  for (const v of Object.values(node)) withLineSteps(v, mlruns, expId);
}

describe.each(["2.22", "3.4"] as FixtureVersion[])("FileStore reads the tree MLflow %s's Python client wrote", (version) => {
  let store: FileStore;
  let root: string;
  let expected: any;
  let ids: Record<string, string>;

  beforeAll(async () => {
    root = await copyFixture(version);
    store = new FileStore(root);
    expected = await loadExpected(version);
    ids = expected.ids;
    for (const key of ["search_runs", "get_run_model", "get_metric_history"])
      withLineSteps(expected[key], fixtureMlruns(version), ids.exp!);
  });

  it("search_experiments for every view type (order included)", async () => {
    for (const view of VIEWS) {
      const page = await store.searchExperiments({ viewType: view });
      expect(page.items.map(sortedExperiment), view).toEqual(
        expected.search_experiments.result[view].map((e: any) => wireExperiment(e, store.uri)),
      );
      expect(page.nextPageToken).toBeUndefined();
    }
  });

  it("rebases the stale absolute URIs onto the new root", async () => {
    const exp = await store.getExperiment(ids.exp!);
    expect(exp.artifactLocation).toBe(`${store.uri}/${ids.exp}`);
    expect(store.uri).toMatch(/^file:\/\/\/.*\/moved\/mlruns$/);
  });

  it("get_experiment_by_name and get_experiment on the deleted experiment", async () => {
    const byName = await store.getExperimentByName("fs-exp");
    expect(sortedExperiment(byName!)).toEqual(wireExperiment(expected.get_experiment_by_name.result, store.uri));
    const deleted = await store.getExperiment(ids.exp_deleted!);
    expect(sortedExperiment(deleted)).toEqual(wireExperiment(expected.get_experiment_deleted.result, store.uri));
    expect(await store.getExperimentByName("no-such-experiment")).toBeUndefined();
  });

  it("search_runs ordered by start_time ASC for every view type", async () => {
    for (const view of VIEWS) {
      const page = await store.searchRuns({ experimentIds: [ids.exp!], runViewType: view, orderBy: ["attributes.start_time ASC"] });
      expect(page.items.map(sortedRun), view).toEqual(expected.search_runs.result[view].map((r: any) => wireRun(r, store.uri)));
    }
  });

  it("search_runs in the deleted experiment (its runs were marked deleted by the move)", async () => {
    const page = await store.searchRuns({ experimentIds: [ids.exp_deleted!], runViewType: "ALL" });
    expect(page.items.map(sortedRun)).toEqual(expected.search_runs_deleted_experiment.result.map((r: any) => wireRun(r, store.uri)));
  });

  it("filtered searches select the same runs", async () => {
    // `datasets.*` filters (MLflow 3) are not in our search grammar yet.
    for (const [filter, runIds] of Object.entries(expected.search_runs_filtered as Record<string, string[]>)) {
      if (filter.startsWith("datasets.")) continue;
      const page = await store.searchRuns({ experimentIds: [ids.exp!], filter, orderBy: ["start_time ASC"] });
      expect(
        page.items.map((r) => r.info.runId),
        filter,
      ).toEqual(runIds);
    }
  });

  it("metric history for every metric of every run, nan and ±inf included", async () => {
    const hist = expected.get_metric_history.result as Record<string, Record<string, any[]>>;
    let count = 0;
    for (const [runId, keys] of Object.entries(hist))
      for (const [key, points] of Object.entries(keys)) {
        expect(await store.getMetricHistory(runId, key), `${runId}/${key}`).toEqual(points.map(wireMetric));
        count++;
      }
    expect(count).toBeGreaterThanOrEqual(8);
    expect(await store.getMetricHistory(ids.run_finished!, "never_logged")).toEqual([]);
  });

  it("getRun on every run equals the searched run", async () => {
    for (const r of expected.search_runs.result.ALL) {
      expect(sortedRun(await store.getRun(r.info.run_id))).toEqual(wireRun(r, store.uri));
    }
    await expect(store.getRun("0123456789abcdef0123456789abcdef")).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("list_artifacts for the root and every directory, and the downloaded text", async () => {
    for (const [path, infos] of Object.entries(expected.list_artifacts.result as Record<string, any[]>)) {
      const got = await store.listArtifacts(ids.run_finished!, path || undefined);
      expect(got, path).toEqual(
        infos.map((i) => (i.is_dir ? { path: i.path, isDir: true } : { path: i.path, isDir: false, fileSize: i.file_size })),
      );
    }
    const text = new TextDecoder().decode(await store.downloadArtifact(ids.run_finished!, "notes.txt"));
    expect(text).toBe(expected.download_text.result);
    expect(await store.listArtifacts(ids.run_finished!, "no/such/dir")).toEqual([]);
    await expect(store.downloadArtifact(ids.run_finished!, "missing.txt")).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("registry reads: by alias, registered model, versions, search", async () => {
    expect(sortedVersion(await store.getModelVersionByAlias("fs-model", "champion"))).toEqual(
      wireModelVersion(expected.get_model_version_by_alias.result),
    );
    expect(sortedModel(await store.getRegisteredModel("fs-model"))).toEqual(wireRegisteredModel(expected.get_registered_model.result));
    const versions = await Promise.all((expected.ids.model_versions as number[]).map((v) => store.getModelVersion("fs-model", String(v))));
    expect(versions.map(sortedVersion)).toEqual(expected.get_model_version.result.map(wireModelVersion));
    const search = await store.searchModelVersions({ filter: "name='fs-model'" });
    expect(search.items.map(sortedVersion)).toEqual(expected.search_model_versions.result.map(wireModelVersion));
  });

  it("an unknown alias fails as MLflow's does", async () => {
    const want = expected.get_model_version_by_alias_unknown.raises;
    const err = await store.getModelVersionByAlias("fs-model", "nope").catch((e) => e);
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.code).toBe(want.error_code);
    expect(err.message).toBe(want.message);
  });

  it("reading changes nothing on disk", async () => {
    const list = async (dir: string, rel = ""): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await fs.readdir(dir, { withFileTypes: true })) {
        out.push(rel + e.name);
        if (e.isDirectory()) out.push(...(await list(join(dir, e.name), `${rel}${e.name}/`)));
      }
      return out;
    };
    const tree = (await list(root)).sort();
    expect(tree).toEqual((await list(fixtureMlruns(version))).sort());
    // Every path MLflow listed is there, except the empty directories git cannot keep.
    const missing = (expected.tree as string[]).filter((p) => p !== "mlruns" && !tree.includes(p.slice("mlruns/".length)));
    expect(missing.every((p) => /\/(artifacts|metrics|params)$/.test(p))).toBe(true);
  });
});
