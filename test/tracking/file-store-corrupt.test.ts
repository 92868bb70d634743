// Damaged files: a clear CORRUPT_STORE error naming the file for the thing that is
// damaged; everything else in the store stays readable, and listings skip the damaged
// entry with a warning instead of failing.

import { promises as fs } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { MlflowError } from "../../tracking/errors.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { copyFixture, loadExpected } from "./file-store-helpers.js";

let root: string;
let store: FileStore;
let warnings: MlflowError[];
let ids: Record<string, string>;

beforeEach(async () => {
  root = await copyFixture();
  warnings = [];
  store = new FileStore(root, { onWarning: (e) => warnings.push(e) });
  ids = (await loadExpected()).ids;
});

async function corruptError(p: Promise<unknown>): Promise<MlflowError> {
  const e = await p.then(
    () => undefined,
    (err) => err,
  );
  expect(e).toBeInstanceOf(MlflowError);
  expect(e.code).toBe("CORRUPT_STORE");
  return e;
}

describe("corrupt files", () => {
  it("bad YAML in a run's meta.yaml: getRun names the file; search skips the run with a warning", async () => {
    const file = join(root, ids.exp!, ids.run_failed!, "meta.yaml");
    await fs.writeFile(file, "artifact_uri: [unclosed\nstatus: : 3\n");
    const e = await corruptError(store.getRun(ids.run_failed!));
    expect(e.message).toContain(file);
    expect(e.message).toContain("not valid YAML");
    const page = await store.searchRuns({ experimentIds: [ids.exp!], orderBy: ["start_time ASC"] });
    expect(page.items.map((r) => r.info.runId)).toEqual([ids.run_finished, ids.run_child]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain(file);
    // The rest of the store is untouched and readable.
    expect((await store.getRun(ids.run_finished!)).info.runName).toBe("fs-finished");
  });

  it("a metric line that does not parse: history and getRun name the file and line", async () => {
    const file = join(root, ids.exp!, ids.run_finished!, "metrics", "acc");
    await fs.appendFile(file, "1700000001300 zero 3\n");
    const e = await corruptError(store.getMetricHistory(ids.run_finished!, "acc"));
    expect(e.message).toContain(file);
    expect(e.message).toContain('line 4 "1700000001300 zero 3"');
    expect(e.message).toContain("is not a number");
    await corruptError(store.getRun(ids.run_finished!));
    expect((await store.getMetricHistory(ids.run_finished!, "final_score"))[0]!.value).toBe(42);
    const page = await store.searchRuns({ experimentIds: [ids.exp!], filter: "metrics.acc > 0" });
    expect(page.items.map((r) => r.info.runId).sort()).toEqual([ids.run_child, ids.run_failed].sort());
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining(file)]);
  });

  it("wrong field counts and bad statuses are corrupt too", async () => {
    const metric = join(root, ids.exp!, ids.run_child!, "metrics", "acc");
    // 4 and 6 fields are a LoggedModel's line forms, not a run's.
    for (const line of ["1 2 3 4", "1 2 3 run data digest", "1 2 3 4 5 6 7"]) {
      await fs.writeFile(metric, `${line}\n`);
      expect((await corruptError(store.getMetricHistory(ids.run_child!, "acc"))).message).toContain(
        `found ${line.split(" ").length} fields`,
      );
    }
    const meta = join(root, ids.exp!, ids.run_failed!, "meta.yaml");
    await fs.writeFile(meta, (await fs.readFile(meta, "utf8")).replace("status: 4", "status: 9"));
    expect((await corruptError(store.getRun(ids.run_failed!))).message).toContain("unknown run status 9");
  });

  it("a damaged experiment: getExperiment fails clearly, searches list the others", async () => {
    const file = join(root, ids.exp!, "meta.yaml");
    await fs.writeFile(file, "- just\n- a list\n");
    expect((await corruptError(store.getExperiment(ids.exp!))).message).toContain(`${file}: expected a YAML mapping`);
    const page = await store.searchExperiments({ viewType: "ALL" });
    expect(page.items.map((e) => e.name).sort()).toEqual(["Default", "fs-deleted-exp"]);
    expect(warnings[0]!.message).toContain(file);
    // Runs of the other experiments are still there.
    expect((await store.getRun(ids.run_in_deleted_exp!)).info.lifecycleStage).toBe("deleted");
  });

  it("a damaged model version fails on read and only it is skipped in searches", async () => {
    const file = join(root, "models", "fs-model", "version-1", "meta.yaml");
    await fs.writeFile(file, "name: fs-model\n");
    expect((await corruptError(store.getModelVersion("fs-model", "1"))).message).toContain(file);
    const search = await store.searchModelVersions({});
    expect(search.items.map((v) => v.version)).toEqual(["2"]);
    expect((await store.getRegisteredModel("fs-model")).latestVersions.map((v) => v.version)).toEqual(["2"]);
    expect(warnings[0]!.message).toContain(file);
  });
});

describe("left behind by a crashed writer", () => {
  it("a temp file from an interrupted atomic write is ignored", async () => {
    const tagDir = join(root, ids.exp!, ids.run_child!, "tags");
    await fs.writeFile(join(tagDir, "half~tmp~4242-deadbeef"), "partial");
    const run = await store.getRun(ids.run_child!);
    expect(run.data.tags.map((t) => t.key)).not.toContain("half~tmp~4242-deadbeef");
    expect(run.data.tags).toHaveLength(5);
    expect(warnings).toEqual([]);
  });

  it("a stale lock from a dead process does not block creating experiments", async () => {
    const lock = join(root, ".lock");
    await fs.mkdir(lock);
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lock, old, old);
    const id = await store.createExperiment("after-crash");
    expect((await store.getExperiment(id)).name).toBe("after-crash");
    await expect(fs.stat(lock)).rejects.toThrow();
  });
});
