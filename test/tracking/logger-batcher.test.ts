// How a run's queue is cut into log-batch requests: MLflow's per-request limits (1000
// entities, 100 params, 100 tags), params and tags first, metrics in logging order.

import { describe, expect, it } from "vitest";
import { RunQueue } from "../../tracking/logging/batcher.js";
import { validateBatch } from "../../tracking/validation.js";

const counts = (b: { metrics?: unknown[]; params?: unknown[]; tags?: unknown[] }) => [
  b.params?.length ?? 0,
  b.tags?.length ?? 0,
  b.metrics?.length ?? 0,
];

describe("RunQueue.cut", () => {
  it("fills requests up to the limits, params and tags leading", () => {
    const q = new RunQueue();
    for (let i = 0; i < 2500; i++) q.metrics.push({ key: "m", value: i, timestamp: 1700000000000 + i, step: i });
    for (let i = 0; i < 150; i++) q.params.push({ key: `p${i}`, value: String(i) });
    for (let i = 0; i < 120; i++) q.tags.set(`t${i}`, String(i));
    const batches = q.cut();
    expect(batches.map(counts)).toEqual([
      [100, 100, 800],
      [50, 20, 930],
      [0, 0, 770],
    ]);
    for (const b of batches) expect(() => validateBatch(b)).not.toThrow();
    expect(batches.flatMap((b) => b.metrics ?? []).map((m) => m.step)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(q.size).toBe(0);
    expect(q.cut()).toEqual([]);
  });

  it("sends a tag set twice before sending once, with the last value", () => {
    const q = new RunQueue();
    q.tags.set("stage", "a");
    q.tags.set("stage", "b");
    expect(q.cut()).toEqual([{ tags: [{ key: "stage", value: "b" }] }]);
  });

  it("makes full 1000-metric requests when only metrics are queued", () => {
    const q = new RunQueue();
    for (let i = 0; i < 3001; i++) q.metrics.push({ key: "m", value: i, timestamp: 0, step: i });
    expect(q.cut().map(counts)).toEqual([
      [0, 0, 1000],
      [0, 0, 1000],
      [0, 0, 1000],
      [0, 0, 1],
    ]);
  });
});
