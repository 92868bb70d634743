// The logger in front of the file store (MLflow's mlruns layout in a temp dir): after
// flush every point is on disk, readable by a fresh store, and a refused batch (an
// unknown run) is reported and quarantined instead of retried.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MlflowError } from "../../tracking/errors.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { Logger } from "../../tracking/logging/logger.js";

let dir: string;
let store: FileStore;
let logger: Logger;
const T0 = 1700000000000;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "logger-fs-"));
  store = new FileStore(join(dir, "mlruns"));
  logger = Logger.create(store, { spoolDir: join(dir, "spool"), exitHooks: false });
});

afterEach(async () => {
  await logger.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("logger over the file store", () => {
  it("makes every point durable by flush, readable by a fresh store", async () => {
    const run = await store.createRun({ experimentId: "0", runName: "logger-fs" });
    const rl = logger.run(run.info.runId);
    for (let step = 0; step < 2500; step++) {
      rl.logMetric("loss", 1 / (step + 1), step, T0 + step);
      rl.logMetric("train/acc", step / 2500, step, T0 + step);
    }
    rl.logMetrics({ nan: NaN, inf: Infinity }, 0, T0);
    rl.logParams({ lr: 0.001, optimizer: "adam" });
    rl.setTags({ stage: "train" });
    await logger.flush();
    expect(logger.pending()).toMatchObject({ queued: 0, inFlight: 0, spooled: 0 });
    expect(logger.errors()).toEqual([]);

    const fresh = new FileStore(join(dir, "mlruns"));
    const loss = await fresh.getMetricHistory(run.info.runId, "loss");
    expect(loss).toHaveLength(2500);
    expect(loss.map((m) => m.step)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(loss[9]).toEqual({ key: "loss", value: 1 / 10, timestamp: T0 + 9, step: 9 });
    expect(await fresh.getMetricHistory(run.info.runId, "train/acc")).toHaveLength(2500);
    const nan = await fresh.getMetricHistory(run.info.runId, "nan");
    expect(Number.isNaN(nan[0].value)).toBe(true);
    const got = await fresh.getRun(run.info.runId);
    expect(Object.fromEntries(got.data.params.map((p) => [p.key, p.value]))).toEqual({ lr: "0.001", optimizer: "adam" });
    expect(got.data.tags.find((t) => t.key === "stage")?.value).toBe("train");
    // MLflow's layout: one `timestamp value step` line per point, `/` keys as directories.
    const expDir = join(dir, "mlruns", "0", run.info.runId);
    expect(readFileSync(join(expDir, "metrics", "train", "acc"), "utf8").split("\n")[1]).toBe(`${T0 + 1} 0.0004 1`);
    await fresh.close();
  });

  it("reports a batch for an unknown run once and keeps it under rejected/", async () => {
    logger.run("0123456789abcdef0123456789abcdef").logMetric("m", 1, 0, T0);
    await logger.flush();
    const [failure] = logger.errors();
    expect(failure).toMatchObject({ runId: "0123456789abcdef0123456789abcdef", disposition: "rejected", count: 1 });
    expect((failure.error as MlflowError).code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(failure.file).toMatch(/rejected/);
    await logger.flush();
    expect(logger.errors()).toHaveLength(1);
  });
});
