// Bad input: a ChartError with a stable code and a message naming the bad value and what
// would be accepted.

import { describe, expect, it } from "vitest";
import { ChartError, barSpec, compare, renderSpecToSvg, scatterSpec, parallelSpec, historySpec } from "../../charts/index.js";
import { run } from "./fixtures.js";

function caught(fn: () => unknown): ChartError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ChartError);
    return e as ChartError;
  }
  throw new Error("expected a ChartError, nothing was thrown");
}

const runs = [
  run({ id: "r1", start: 1, params: { lr: "0.1", opt: "sgd" }, metrics: { loss: 1, acc: 0.5 } }),
  run({ id: "r2", start: 2, params: { lr: "0.2", opt: "sgd" }, metrics: { loss: 0.5 } }),
];

describe("bad input", () => {
  it("no runs: says so and what to check", () => {
    const e = caught(() => compare([]));
    expect(e.code).toBe("NO_RUNS");
    expect(e.message).toMatch(/No runs to compare/);
  });

  it("unknown metric: names it and lists the available metrics", () => {
    const e = caught(() => barSpec(runs, { metrics: ["los"] }));
    expect(e.code).toBe("METRIC_NOT_FOUND");
    expect(e.message).toBe('Metric "los" not found in any of the 2 runs; available metrics: acc, loss');
  });

  it("unknown param: names it and lists the available params", () => {
    const e = caught(() => scatterSpec(runs, { params: ["learning_rate"] }));
    expect(e.code).toBe("PARAM_NOT_FOUND");
    expect(e.message).toBe('Param "learning_rate" not found in any of the 2 runs; available params: lr, opt');
  });

  it("unknown kind, bad max, bad lists, bad title", () => {
    const kind = caught(() => compare(runs, { kind: "pie" as never }));
    expect(kind.code).toBe("BAD_OPTION");
    expect(kind.message).toBe('Unknown chart kind "pie"; accepted: auto, bar, history, scatter, parallel');
    for (const max of [0, -1, 1.5, "10"]) {
      const e = caught(() => compare(runs, { max: max as number }));
      expect(e.code).toBe("BAD_OPTION");
      expect(e.message).toContain(`max must be a positive integer, got ${JSON.stringify(max)}`);
    }
    expect(caught(() => compare(runs, { metrics: "loss" as never })).message).toContain(
      'metrics must be a list of non-empty names, got "loss"',
    );
    expect(caught(() => compare(runs, { params: [""] })).code).toBe("BAD_OPTION");
    expect(caught(() => compare(runs, { title: 3 as never })).code).toBe("BAD_OPTION");
  });

  it("not a list of runs, or an item that is not a run", () => {
    const e = caught(() => compare({ runs } as never));
    expect(e.code).toBe("BAD_INPUT");
    expect(e.message).toContain("runs must be a list of runs, got an object with keys runs");
    const item = caught(() => compare([runs[0], { id: "x" } as never]));
    expect(item.code).toBe("BAD_INPUT");
    expect(item.message).toContain("runs[1] is not a run");
    expect(item.message).toContain("keys id");
  });

  it("no metrics logged: a metric chart says so and lists the params", () => {
    const bare = [run({ id: "r1", start: 1, params: { lr: "0.1" } })];
    for (const build of [barSpec, historySpec]) {
      const e = caught(() => build(bare));
      expect(e.code).toBe("NO_DATA");
      expect(e.message).toMatch(/needs a metric, but none of the 1 runs logged one \(params: lr\)/);
    }
  });

  it("scatter with no varying param, parallel with fewer than two axes", () => {
    const same = [
      run({ id: "r1", start: 1, params: { lr: "0.1" }, metrics: { loss: 1 } }),
      run({ id: "r2", start: 2, params: { lr: "0.1" }, metrics: { loss: 2 } }),
    ];
    const s = caught(() => scatterSpec(same));
    expect(s.code).toBe("NO_DATA");
    expect(s.message).toContain("available params: lr");
    const p = caught(() => parallelSpec(same, { metrics: ["loss"] }));
    expect(p.code).toBe("NO_DATA");
    expect(p.message).toContain("at least two axes");
  });

  it("renderSpecToSvg refuses what is not a spec, and specs vega-lite cannot compile", async () => {
    for (const bad of [null, "bar", [1]]) {
      await expect(renderSpecToSvg(bad as never)).rejects.toMatchObject({ code: "BAD_SPEC" });
    }
    await expect(renderSpecToSvg({ mark: "bar", encoding: { x: { field: "a", type: "nonsense" } } })).rejects.toMatchObject({
      code: "BAD_SPEC",
      message: expect.stringContaining("Not a valid Vega-Lite spec"),
    });
  });
});
