// What FileStore writes: MLflow's exact file formats (compared with the fixture tree the
// Python client wrote), read back equal through our own reader; run/experiment lifecycle;
// artifacts; the registry; Python float formatting of metric values.

import { promises as fs } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MlflowError } from "../../tracking/errors.js";
import { FileStore, formatPyFloat, parsePyFloat } from "../../tracking/file-store/index.js";
import { isGeneratedRunName } from "../../tracking/run-names.js";
import { FIXTURE_MLRUNS, loadExpected, tempDir } from "./file-store-helpers.js";

let root: string;
let store: FileStore;
beforeEach(async () => {
  root = join(await tempDir("fs-write-"), "mlruns");
  store = new FileStore(root);
});

const read = (...p: string[]) => fs.readFile(join(root, ...p), "utf8");
const yamlKeys = (text: string) =>
  text
    .split("\n")
    .filter((l) => /^[a-z_]+:/.test(l))
    .map((l) => l.split(":")[0]);
const fixture = (...p: string[]) => fs.readFile(join(FIXTURE_MLRUNS, ...p), "utf8");

describe("Python float format", () => {
  it("formats like Python's repr(float)", () => {
    const cases: [number, string][] = [
      [42, "42.0"],
      [0.9, "0.9"],
      [NaN, "nan"],
      [Infinity, "inf"],
      [-Infinity, "-inf"],
      [1e-5, "1e-05"],
      [1.5e300, "1.5e+300"],
      [0.0001, "0.0001"],
      [1e16, "1e+16"],
      [1e15, "1000000000000000.0"],
      [123456789012345678, "1.2345678901234568e+17"],
      [0.1 + 0.2, "0.30000000000000004"],
      [-0, "-0.0"],
      [0, "0.0"],
      [5e-324, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [12345.678, "12345.678"],
      [2.5e-7, "2.5e-07"],
      [9999999999999998, "9999999999999998.0"],
      [1.2e16, "1.2e+16"],
      [-3.25e-10, "-3.25e-10"],
      [100, "100.0"],
      [0.001, "0.001"],
      [1e22, "1e+22"],
    ];
    for (const [x, want] of cases) expect(formatPyFloat(x), String(x)).toBe(want);
  });
  it("parses like Python's float()", () => {
    const cases: [string, number][] = [
      ["nan", NaN],
      ["-inf", -Infinity],
      ["Infinity", Infinity],
      ["1e5", 1e5],
      ["1_000.5", 1000.5],
      [" 2.5 ", 2.5],
      [".5", 0.5],
      ["5.", 5],
      ["NaN", NaN],
      ["1e-05", 1e-5],
      ["42.0", 42],
      ["5.e3", 5000],
      ["+1.5E+2", 150],
      ["-iNF", -Infinity],
      ["1_0e1_0", 1e11],
    ];
    for (const [s, want] of cases) expect(parsePyFloat(s), s).toEqual(want);
    for (const bad of ["", "abc", "1.2.3", "0x10", "1e", "--1", "1__0", "_1", "1_", "1._5", ".", "e5", "nan1"])
      expect(parsePyFloat(bad), bad).toBeUndefined();
  });
});

describe("experiments on disk", () => {
  it("first write creates Default experiment 0; new ids are random 18-digit integers", async () => {
    const id = await store.createExperiment("exp-a", [
      { key: "team", value: "ts" },
      { key: "flag", value: "yes" },
    ]);
    expect(id).toMatch(/^[1-9]\d{17}$/);
    const def = await read("0", "meta.yaml");
    expect(yamlKeys(def)).toEqual(yamlKeys(await fixture("0", "meta.yaml")));
    expect(def).toContain("experiment_id: '0'\n");
    expect(def).toContain("name: Default\n");
    expect(def).toContain(`artifact_location: ${store.uri}/0\n`);
    const meta = await read(id, "meta.yaml");
    expect(yamlKeys(meta)).toEqual(["artifact_location", "creation_time", "experiment_id", "last_update_time", "lifecycle_stage", "name"]);
    expect(meta).toContain(`experiment_id: '${id}'\n`);
    expect(await read(id, "tags", "team")).toBe("ts");
    expect((await store.getExperiment(id)).tags).toEqual(expect.arrayContaining([{ key: "flag", value: "yes" }]));
    await expect(fs.stat(join(root, ".trash"))).resolves.toBeTruthy();
  });

  it("a duplicate name is RESOURCE_ALREADY_EXISTS, also against a deleted experiment", async () => {
    const id = await store.createExperiment("dup");
    await expect(store.createExperiment("dup")).rejects.toMatchObject({ code: "RESOURCE_ALREADY_EXISTS" });
    await store.deleteExperiment(id);
    await expect(store.createExperiment("dup")).rejects.toThrow(/deleted state/);
    await expect(store.createExperiment("")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
  });

  it("delete moves to .trash with a tags mapping and marks runs deleted; restore moves back", async () => {
    const id = await store.createExperiment("doomed", [{ key: "doomed", value: "yes" }]);
    const run = await store.createRun({ experimentId: id, runName: "r" });
    await store.deleteExperiment(id);
    await expect(fs.stat(join(root, id))).rejects.toThrow();
    const meta = await read(".trash", id, "meta.yaml");
    expect(meta).toContain("lifecycle_stage: deleted\n");
    expect(meta).toContain("tags:\n  doomed: 'yes'\n");
    expect(yamlKeys(meta)).toEqual(yamlKeys(await fixture(".trash", "249679693888595098", "meta.yaml")));
    const runMeta = parse(await read(".trash", id, run.info.runId, "meta.yaml"));
    expect(runMeta.lifecycle_stage).toBe("deleted");
    expect(typeof runMeta.deleted_time).toBe("number");
    expect((await store.getExperiment(id)).lifecycleStage).toBe("deleted");
    expect((await store.getRun(run.info.runId)).info.lifecycleStage).toBe("deleted");
    expect((await store.searchExperiments({ viewType: "DELETED_ONLY" })).items.map((e) => e.experimentId)).toEqual([id]);
    await expect(store.createRun({ experimentId: id })).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });

    await store.restoreExperiment(id);
    expect((await store.getExperiment(id)).lifecycleStage).toBe("active");
    const restored = parse(await read(id, run.info.runId, "meta.yaml"));
    expect(restored.lifecycle_stage).toBe("active");
    expect(restored.deleted_time).toBeUndefined();
    await expect(store.deleteExperiment("0")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
    await expect(store.getExperiment("42")).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("experiment tags and search over a written store", async () => {
    const a = await store.createExperiment("fx-a");
    const b = await store.createExperiment("fx-b");
    await store.setExperimentTag(b, { key: "team", value: "ts" });
    const page = await store.searchExperiments({ filter: "name LIKE 'fx-%'", orderBy: ["name DESC"], maxResults: 1 });
    expect(page.items.map((e) => e.experimentId)).toEqual([b]);
    const next = await store.searchExperiments({
      filter: "name LIKE 'fx-%'",
      orderBy: ["name DESC"],
      maxResults: 1,
      pageToken: page.nextPageToken,
    });
    expect(next.items.map((e) => e.experimentId)).toEqual([a]);
    expect((await store.searchExperiments({ filter: "tags.team = 'ts'" })).items.map((e) => e.name)).toEqual(["fx-b"]);
  });
});

describe("runs on disk", () => {
  it("writes meta.yaml, params, tags and metric lines in MLflow's formats", async () => {
    const exp = await store.createExperiment("e");
    const run = await store.createRun({
      experimentId: exp,
      runName: "fs-finished",
      startTime: 1700000000000,
      userId: "root",
      tags: [{ key: "owner", value: "alice" }],
    });
    const dir = join(exp, run.info.runId);
    expect(run.info.runId).toMatch(/^[0-9a-f]{32}$/);
    const running = await read(dir, "meta.yaml");
    expect(running).toContain("end_time: null\n");
    expect(running).toContain("status: 1\n");

    await store.logBatch(run.info.runId, {
      params: [
        { key: "lr", value: "0.01" },
        { key: "epochs", value: "3" },
      ],
      tags: [{ key: "stage", value: "train" }],
      metrics: [
        { key: "acc", value: 0.5, timestamp: 1700000001000, step: 0 },
        { key: "acc", value: 0.7, timestamp: 1700000001100, step: 1 },
        { key: "final_score", value: 42, timestamp: 1700000001500, step: 0 },
        { key: "train/loss", value: 1.5, timestamp: 1700000001000, step: 0 },
        { key: "odd", value: NaN, timestamp: 5, step: 0 },
        { key: "odd", value: Infinity, timestamp: 6, step: 1 },
        { key: "odd", value: -Infinity, timestamp: 7, step: 2 },
        { key: "odd", value: 1e-5, timestamp: 8, step: 3 },
        { key: "odd", value: 1.5e300, timestamp: 9, step: 4 },
      ],
    });
    await store.updateRun(run.info.runId, { status: "FINISHED", endTime: 1700000009000 });

    const meta = await read(dir, "meta.yaml");
    const fixtureRun = await fixture("265722614914646150", "f836a1742fef45f4b69f074656048534", "meta.yaml");
    expect(yamlKeys(meta)).toEqual(yamlKeys(fixtureRun));
    expect(meta).toBe(
      [
        `artifact_uri: ${store.uri}/${exp}/${run.info.runId}/artifacts`,
        "end_time: 1700000009000",
        "entry_point_name: ''",
        `experiment_id: '${exp}'`,
        "lifecycle_stage: active",
        `run_id: ${run.info.runId}`,
        "run_name: fs-finished",
        `run_uuid: ${run.info.runId}`,
        "source_name: ''",
        "source_type: 4",
        "source_version: ''",
        "start_time: 1700000000000",
        "status: 3",
        "tags: []",
        "user_id: root",
        "",
      ].join("\n"),
    );
    expect(await read(dir, "params", "lr")).toBe("0.01");
    expect(await read(dir, "tags", "mlflow.runName")).toBe("fs-finished");
    expect(await read(dir, "tags", "stage")).toBe("train");
    expect(await read(dir, "metrics", "acc")).toBe("1700000001000 0.5 0\n1700000001100 0.7 1\n");
    expect(await read(dir, "metrics", "final_score")).toBe(
      await fixture("265722614914646150", "f836a1742fef45f4b69f074656048534", "metrics", "final_score"),
    );
    expect(await read(dir, "metrics", "train", "loss")).toBe("1700000001000 1.5 0\n");
    expect(await read(dir, "metrics", "odd")).toBe("5 nan 0\n6 inf 1\n7 -inf 2\n8 1e-05 3\n9 1.5e+300 4\n");
    await expect(fs.stat(join(root, dir, "artifacts"))).resolves.toBeTruthy();

    // Read back through our reader.
    const back = await store.getRun(run.info.runId);
    expect(back.info).toEqual({ ...run.info, status: "FINISHED", endTime: 1700000009000 });
    const latest = Object.fromEntries(back.data.metrics.map((m) => [m.key, m.value]));
    expect(latest).toEqual({ acc: 0.7, final_score: 42, "train/loss": 1.5, odd: 1.5e300 });
    expect(await store.getMetricHistory(run.info.runId, "odd")).toEqual([
      { key: "odd", value: NaN, timestamp: 5, step: 0 },
      { key: "odd", value: Infinity, timestamp: 6, step: 1 },
      { key: "odd", value: -Infinity, timestamp: 7, step: 2 },
      { key: "odd", value: 1e-5, timestamp: 8, step: 3 },
      { key: "odd", value: 1.5e300, timestamp: 9, step: 4 },
    ]);
    expect(back.data.params.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: "epochs", value: "3" },
      { key: "lr", value: "0.01" },
    ]);
  });

  it("generates an adjective-noun-NNN name and the mlflow.runName tag when none is given", async () => {
    const run = await store.createRun({ experimentId: "0" });
    expect(isGeneratedRunName(run.info.runName)).toBe(true);
    const back = await store.getRun(run.info.runId);
    expect(back.data.tags).toContainEqual({ key: "mlflow.runName", value: run.info.runName });
    expect(back.info.userId).toBe("unknown");
    await expect(store.createRun({ experimentId: "0", runName: "a", tags: [{ key: "mlflow.runName", value: "b" }] })).rejects.toMatchObject(
      { code: "INVALID_PARAMETER_VALUE" },
    );
    await expect(store.createRun({ experimentId: "999" })).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
  });

  it("params are immutable; refused batches write nothing; deleted runs refuse writes", async () => {
    const { info } = await store.createRun({ experimentId: "0", runName: "p" });
    await store.logBatch(info.runId, { params: [{ key: "lr", value: "0.1" }] });
    await store.logBatch(info.runId, { params: [{ key: "lr", value: "0.1" }] });
    const err = await store
      .logBatch(info.runId, {
        params: [
          { key: "new", value: "1" },
          { key: "lr", value: "0.2" },
        ],
        metrics: [{ key: "m", value: 1, timestamp: 1, step: 0 }],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(MlflowError);
    expect(err.code).toBe("INVALID_PARAMETER_VALUE");
    expect(err.message).toContain("lr");
    const back = await store.getRun(info.runId);
    expect(back.data.params).toEqual([{ key: "lr", value: "0.1" }]);
    expect(back.data.metrics).toEqual([]);
    await expect(store.logBatch(info.runId, { metrics: [{ key: "../x", value: 1, timestamp: 1, step: 0 }] })).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
    });

    await store.deleteRun(info.runId);
    const meta = parse(await read("0", info.runId, "meta.yaml"));
    expect(meta.lifecycle_stage).toBe("deleted");
    expect(typeof meta.deleted_time).toBe("number");
    await expect(store.logBatch(info.runId, { tags: [{ key: "a", value: "b" }] })).rejects.toThrow(/must be in the 'active' state/);
    expect((await store.searchRuns({ experimentIds: ["0"] })).items).toEqual([]);
    expect((await store.searchRuns({ experimentIds: ["0"], runViewType: "DELETED_ONLY" })).items).toHaveLength(1);
    await expect(store.deleteRun(info.runId)).rejects.toThrow(/must be in the 'active' state/);
    await store.restoreRun(info.runId);
    await expect(store.restoreRun(info.runId)).rejects.toThrow(/must be in the 'deleted' state/);
    expect(parse(await read("0", info.runId, "meta.yaml")).deleted_time).toBeUndefined();
    expect((await store.searchRuns({ experimentIds: ["0"] })).items).toHaveLength(1);
  });

  it("rewriting meta.yaml keeps fields a newer MLflow may have added", async () => {
    const { info } = await store.createRun({ experimentId: "0", runName: "keep" });
    const file = join(root, "0", info.runId, "meta.yaml");
    await fs.appendFile(file, "future_field: 7\n");
    await store.updateRun(info.runId, { status: "FINISHED", endTime: 5 });
    await store.deleteRun(info.runId);
    const meta = parse(await fs.readFile(file, "utf8"));
    expect(meta).toMatchObject({ future_field: 7, status: 3, end_time: 5, lifecycle_stage: "deleted" });
  });

  it("renames through updateRun or the mlflow.runName tag, deletes tags", async () => {
    const { info } = await store.createRun({ experimentId: "0", runName: "before" });
    await store.updateRun(info.runId, { runName: "after", status: "KILLED" });
    expect((await store.getRun(info.runId)).info).toMatchObject({ runName: "after", status: "KILLED" });
    expect(await read("0", info.runId, "tags", "mlflow.runName")).toBe("after");
    await store.logBatch(info.runId, {
      tags: [
        { key: "mlflow.runName", value: "again" },
        { key: "x", value: "1" },
      ],
    });
    expect((await store.getRun(info.runId)).info.runName).toBe("again");
    await store.logBatch(info.runId, { tags: [{ key: "backup.tmp", value: "kept" }] });
    expect((await store.getRun(info.runId)).data.tags).toContainEqual({ key: "backup.tmp", value: "kept" });
    await store.deleteTag(info.runId, "x");
    await expect(store.deleteTag(info.runId, "x")).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
    await expect(store.updateRun(info.runId, { status: "DONE" as never })).rejects.toThrow(/DONE.*RUNNING, SCHEDULED/);
  });

  it("search runs over a written store with filters, order and pages", async () => {
    const exp = await store.createExperiment("s");
    const made = [];
    for (let i = 0; i < 5; i++) {
      const { info } = await store.createRun({ experimentId: exp, runName: `r${i}`, startTime: 1000 + i });
      await store.logBatch(info.runId, {
        metrics: [{ key: "acc", value: i / 10, timestamp: 1, step: 0 }],
        params: [{ key: "i", value: String(i) }],
      });
      made.push(info.runId);
    }
    const p1 = await store.searchRuns({ experimentIds: [exp], filter: "metrics.acc >= 0.1", orderBy: ["metrics.acc DESC"], maxResults: 2 });
    expect(p1.items.map((r) => r.info.runName)).toEqual(["r4", "r3"]);
    const p2 = await store.searchRuns({
      experimentIds: [exp],
      filter: "metrics.acc >= 0.1",
      orderBy: ["metrics.acc DESC"],
      maxResults: 2,
      pageToken: p1.nextPageToken,
    });
    expect(p2.items.map((r) => r.info.runName)).toEqual(["r2", "r1"]);
    expect(p2.nextPageToken).toBeUndefined();
    expect((await store.searchRuns({ experimentIds: [exp, "0"], filter: "params.i = '0'" })).items.map((r) => r.info.runId)).toEqual([
      made[0],
    ]);
    await expect(store.searchRuns({ experimentIds: ["12345"] })).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
    await expect(store.searchRuns({ experimentIds: [exp], filter: "metrics.acc >>> 1" })).rejects.toThrow(/Invalid comparator '>>>'/);
  });
});

describe("artifacts", () => {
  it("writes under the run's artifacts/, lists relative to the run root, downloads", async () => {
    const { info } = await store.createRun({ experimentId: "0" });
    await store.logArtifact(info.runId, "notes.txt", "hello filestore\n");
    await store.logArtifact(info.runId, "plots/tiny.png", new Uint8Array([137, 80, 78, 71]));
    await store.logArtifact(info.runId, "bundle/deeper/readme.md", "# nested artifact\n");
    expect(await read("0", info.runId, "artifacts", "notes.txt")).toBe("hello filestore\n");
    expect(await store.listArtifacts(info.runId)).toEqual([
      { path: "bundle", isDir: true },
      { path: "notes.txt", isDir: false, fileSize: 16 },
      { path: "plots", isDir: true },
    ]);
    expect(await store.listArtifacts(info.runId, "bundle/deeper")).toEqual([
      { path: "bundle/deeper/readme.md", isDir: false, fileSize: 18 },
    ]);
    expect([...(await store.downloadArtifact(info.runId, "plots/tiny.png"))]).toEqual([137, 80, 78, 71]);
    await expect(store.logArtifact(info.runId, "../escape.txt", "x")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
    await expect(store.logArtifact(info.runId, "/abs.txt", "x")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
    await expect(store.downloadArtifact(info.runId, "plots")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
  });

  it("an experiment with its own artifact location keeps artifacts there", async () => {
    const elsewhere = join(await tempDir("fs-art-"), "my artifacts");
    const exp = await store.createExperiment("custom", [], elsewhere);
    expect((await store.getExperiment(exp)).artifactLocation).toBe(pathToFileURL(elsewhere).href);
    const { info } = await store.createRun({ experimentId: exp });
    expect(info.artifactUri).toBe(`${pathToFileURL(elsewhere).href}/${info.runId}/artifacts`);
    await store.logArtifact(info.runId, "x.txt", "custom");
    expect(await fs.readFile(join(elsewhere, info.runId, "artifacts", "x.txt"), "utf8")).toBe("custom");
    expect(await store.listArtifacts(info.runId)).toEqual([{ path: "x.txt", isDir: false, fileSize: 6 }]);
  });

  it("a moved store still finds its artifacts", async () => {
    const { info } = await store.createRun({ experimentId: "0" });
    await store.logArtifact(info.runId, "a/b.txt", "moved");
    const moved = join(await tempDir("fs-moved-"), "elsewhere");
    await fs.rename(root, moved);
    const again = new FileStore(`file://${moved}`);
    const run = await again.getRun(info.runId);
    expect(run.info.artifactUri).toBe(`${again.uri}/0/${info.runId}/artifacts`);
    expect(new TextDecoder().decode(await again.downloadArtifact(info.runId, "a/b.txt"))).toBe("moved");
    // meta.yaml keeps what was written; only what we report is rebased.
    expect(await fs.readFile(join(moved, "0", info.runId, "meta.yaml"), "utf8")).toContain(`artifact_uri: ${store.uri}/0/`);
  });
});

describe("registry on disk", () => {
  it("writes the fixture's layout and reads it back", async () => {
    const { info } = await store.createRun({ experimentId: "0" });
    await store.createRegisteredModel("fs-model", { description: "filestore model", tags: [{ key: "domain", value: "vision" }] });
    await expect(store.createRegisteredModel("fs-model")).rejects.toMatchObject({ code: "RESOURCE_ALREADY_EXISTS" });
    const v1 = await store.createModelVersion({
      name: "fs-model",
      source: `runs:/${info.runId}/model`,
      runId: info.runId,
      description: "first",
      tags: [{ key: "quality", value: "ok" }],
    });
    const v2 = await store.createModelVersion({ name: "fs-model", source: `runs:/${info.runId}/model` });
    expect([v1.version, v2.version]).toEqual(["1", "2"]);
    await store.setRegisteredModelAlias("fs-model", "champion", "2");

    const modelMeta = await read("models", "fs-model", "meta.yaml");
    expect(yamlKeys(modelMeta)).toEqual(yamlKeys(await fixture("models", "fs-model", "meta.yaml")));
    expect(modelMeta).toContain("aliases:\n  champion: '2'\n");
    expect(await read("models", "fs-model", "aliases", "champion")).toBe("2");
    const v1Meta = await read("models", "fs-model", "version-1", "meta.yaml");
    expect(yamlKeys(v1Meta)).toEqual(yamlKeys(await fixture("models", "fs-model", "version-1", "meta.yaml")));
    expect(v1Meta).toMatch(/aliases: \[\]\n[\s\S]*current_stage: None\n[\s\S]*run_link: null\n[\s\S]*status: READY\n[\s\S]*version: 1\n$/);
    const v2Meta = await read("models", "fs-model", "version-2", "meta.yaml");
    expect(v2Meta).toContain("description: null\n");
    expect(v2Meta).toContain("run_id: null\n");
    expect(v2Meta).toContain(`storage_location: runs:/${info.runId}/model\n`);
    expect(await read("models", "fs-model", "version-1", "tags", "quality")).toBe("ok");

    const model = await store.getRegisteredModel("fs-model");
    expect(model.aliases).toEqual([{ alias: "champion", version: "2" }]);
    expect(model.latestVersions.map((v) => [v.version, v.aliases])).toEqual([["2", ["champion"]]]);
    expect(model.description).toBe("filestore model");
    expect((await store.getModelVersionByAlias("fs-model", "champion")).version).toBe("2");
    expect((await store.searchModelVersions({ filter: `run_id = '${info.runId}'` })).items.map((v) => v.version)).toEqual(["1"]);
    expect((await store.searchRegisteredModels({ filter: "name LIKE 'fs-%'" })).items.map((m) => m.name)).toEqual(["fs-model"]);
    await store.deleteRegisteredModelAlias("fs-model", "champion");
    await expect(store.getModelVersionByAlias("fs-model", "champion")).rejects.toThrow("Registered model alias champion not found.");
    await expect(store.getModelVersion("fs-model", "9")).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
    await expect(store.getRegisteredModel("nope")).rejects.toMatchObject({ code: "RESOURCE_DOES_NOT_EXIST" });
    await expect(store.setRegisteredModelAlias("fs-model", "v3", "1")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
    expect((await store.updateRegisteredModel("fs-model", "new text")).description).toBe("new text");
  });
});

describe("a store we write reads back like the fixture reads", () => {
  it("rebuilding the fixture's main run gives the same entity as MLflow read from the fixture", async () => {
    const expected = await loadExpected();
    const want = expected.search_runs.result.ACTIVE_ONLY[0];
    const exp = await store.createExperiment("fs-exp");
    const tags = want.data.tags.filter((t: any) => t.key !== "mlflow.runName");
    const { info } = await store.createRun({
      experimentId: exp,
      runName: want.info.run_name,
      startTime: want.info.start_time,
      userId: want.info.user_id,
      tags,
    });
    const history = expected.get_metric_history.result[want.info.run_id];
    const metrics = Object.values(history)
      .flat()
      .map((m: any) => ({ ...m, value: Number(m.value) }));
    await store.logBatch(info.runId, { metrics, params: want.data.params });
    await store.updateRun(info.runId, { status: "FINISHED", endTime: want.info.end_time });
    const back = await store.getRun(info.runId);
    const sort = (xs: any[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(sort(back.data.metrics)).toEqual(sort(want.data.metrics));
    expect(sort(back.data.params)).toEqual(sort(want.data.params));
    expect(sort(back.data.tags)).toEqual(sort(want.data.tags));
    expect(back.info).toMatchObject({
      runName: want.info.run_name,
      status: "FINISHED",
      startTime: want.info.start_time,
      endTime: want.info.end_time,
      userId: "root",
    });
    for (const key of Object.keys(history)) {
      const src = await fixture("265722614914646150", want.info.run_id, "metrics", ...key.split("/"));
      expect(await read(exp, info.runId, "metrics", ...key.split("/")), key).toBe(src);
    }
  });
});

describe("store locations", () => {
  it("accepts file: URIs and plain paths, refuses other schemes", async () => {
    const dir = await tempDir("fs-uri-");
    const abs = join(dir, "with space", "mlruns");
    expect(new FileStore(abs).root).toBe(abs);
    expect(new FileStore(pathToFileURL(abs).href).root).toBe(abs);
    expect(new FileStore(abs).uri).toBe(pathToFileURL(abs).href);
    expect(new FileStore("rel/mlruns").root).toBe(join(process.cwd(), "rel/mlruns"));
    expect(new FileStore("file:rel/mlruns").root).toBe(join(process.cwd(), "rel/mlruns"));
    for (const bad of ["http://host/mlruns", "s3://bucket/x", ""]) {
      expect(() => new FileStore(bad), bad).toThrow(MlflowError);
      expect(
        (() => {
          try {
            new FileStore(bad);
          } catch (e) {
            return (e as MlflowError).code;
          }
        })(),
      ).toBe("UNSUPPORTED_URI");
    }
  });
});
