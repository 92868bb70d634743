// `auto` picks the chart the data supports; the log-scale rule; run order and `max`.

import { describe, expect, it } from "vitest";
import { autoSpec, buildChart, prepare } from "../../charts/index.js";
import { spansDecades } from "../../charts/common.js";
import { compared, run } from "./fixtures.js";

const kindOf = (...args: Parameters<typeof buildChart>) => buildChart(...args).kind;

describe("auto picks", () => {
  it("history when any metric has more than one step", () => {
    const runs = [
      compared({ id: "r1", start: 1, params: { lr: "0.1", opt: "sgd" }, history: { loss: [1, 0.5] } }),
      run({ id: "r2", start: 2, params: { lr: "0.2", opt: "adam" }, metrics: { loss: 0.4 } }),
    ];
    expect(kindOf(runs)).toBe("history");
  });

  it("not history when every history has one step (repeated values at one step do not count)", () => {
    const one = compared({ id: "r1", start: 1, history: { loss: [1] } });
    const same = compared({ id: "r2", start: 2, history: { loss: [] } });
    same.history = {
      loss: [
        { key: "loss", value: 1, step: 3, timestamp: 1 },
        { key: "loss", value: 2, step: 3, timestamp: 2 },
      ],
    };
    expect(kindOf([one, same])).toBe("bar");
  });

  it("scatter when exactly one param varies and it is numeric", () => {
    const runs = [1, 2, 3].map((i) => run({ id: `r${i}`, start: i, params: { lr: String(i / 10), seed: "7" }, metrics: { loss: 1 / i } }));
    expect(kindOf(runs)).toBe("scatter");
    const spec = autoSpec(runs) as { layer: { encoding: { x: { title: string } } }[] };
    expect(spec.layer[0].encoding.x.title).toBe("lr");
  });

  it("bar when the one varying param is text", () => {
    const runs = ["sgd", "adam"].map((opt, i) => run({ id: `r${i}`, start: i, params: { opt }, metrics: { loss: i } }));
    expect(kindOf(runs)).toBe("bar");
  });

  it("parallel when two or more params vary", () => {
    const runs = [1, 2, 3].map((i) =>
      run({ id: `r${i}`, start: i, params: { lr: String(i), opt: i % 2 ? "sgd" : "adam" }, metrics: { loss: i } }),
    );
    expect(kindOf(runs)).toBe("parallel");
  });

  it("a param missing from some runs counts as varying", () => {
    const runs = [
      run({ id: "r1", start: 1, params: { lr: "0.1" }, metrics: { loss: 1 } }),
      run({ id: "r2", start: 2, metrics: { loss: 2 } }),
    ];
    expect(kindOf(runs)).toBe("scatter");
  });

  it("bar when nothing varies", () => {
    const runs = [1, 2].map((i) => run({ id: `r${i}`, start: i, params: { lr: "0.1" }, metrics: { loss: i } }));
    expect(kindOf(runs)).toBe("bar");
  });

  it("parallel of params when no run logged a metric but params vary", () => {
    const runs = [1, 2].map((i) => run({ id: `r${i}`, start: i, params: { lr: String(i), depth: String(i * 2) } }));
    expect(kindOf(runs)).toBe("parallel");
  });

  it("follows the chosen params: one chosen numeric param means scatter even if others vary", () => {
    const runs = [1, 2, 3].map((i) =>
      run({ id: `r${i}`, start: i, params: { lr: String(i), opt: i % 2 ? "sgd" : "adam" }, metrics: { loss: i } }),
    );
    expect(kindOf(runs, { params: ["lr"] })).toBe("scatter");
  });

  it("an explicit kind wins over what auto would pick", () => {
    const runs = [compared({ id: "r1", start: 1, params: { lr: "1" }, history: { loss: [1, 0.5] } })];
    expect(kindOf(runs, { kind: "bar" })).toBe("bar");
  });
});

describe("log scale rule", () => {
  it("needs all finite values positive and max/min >= 100", () => {
    expect(spansDecades([1, 100])).toBe(true);
    expect(spansDecades([1e-4, 1e-2])).toBe(true);
    expect(spansDecades([1, 99.9])).toBe(false);
    expect(spansDecades([0, 1, 1000])).toBe(false);
    expect(spansDecades([-1, 1000])).toBe(false);
    expect(spansDecades([1, Number.NaN, 500])).toBe(true);
    expect(spansDecades([])).toBe(false);
  });

  it("a numeric param spanning decades is marked log; one spanning less is not", () => {
    const p = prepare([
      run({ id: "a", start: 1, params: { lr: "0.001", layers: "2" }, metrics: { m: 1 } }),
      run({ id: "b", start: 2, params: { lr: "0.1", layers: "100" }, metrics: { m: 2 } }),
    ]);
    const byKey = Object.fromEntries(p.params.map((i) => [i.key, i]));
    expect(byKey.lr.log).toBe(true);
    expect(byKey.layers.log).toBe(false);
  });
});

describe("order and max", () => {
  const runs = [
    run({ id: "b-id", name: "second", start: 20, metrics: { m: 1 } }),
    run({ id: "c-id", name: "third", start: 30, metrics: { m: 1 } }),
    run({ id: "a-id", name: "first", start: 10, metrics: { m: 1 } }),
    run({ id: "a0-id", name: "tie", start: 20, metrics: { m: 1 } }),
  ];

  it("orders runs by start time, then run id", () => {
    expect(prepare(runs).runs.map((r) => r.name)).toEqual(["first", "tie", "second", "third"]);
  });

  it("max keeps the most recently started runs", () => {
    const p = prepare(runs, { max: 2 });
    expect(p.runs.map((r) => r.name)).toEqual(["second", "third"]);
    expect(p.totalRuns).toBe(4);
    expect(buildChart(runs, { max: 2 }).spec.title).toBe("Final metrics (latest 2 of 4 runs)");
  });

  it("draws a run given twice once, from the copy with more points", () => {
    const plain = run({ id: "dup", name: "dup", start: 1, metrics: { loss: 0.5 } });
    const full = compared({ id: "dup", name: "dup", start: 1, history: { loss: [1, 0.7, 0.5] } });
    for (const input of [
      [plain, full],
      [full, plain],
    ]) {
      const p = prepare(input);
      expect(p.runs).toHaveLength(1);
      expect(p.totalRuns).toBe(1);
      expect(p.runs[0].history.get("loss")).toHaveLength(3);
    }
  });

  it("labels repeated run names with an id prefix, and unnamed runs by id", () => {
    const p = prepare([
      run({ id: "1111111111aa", name: "same", start: 1 }),
      run({ id: "2222222222bb", name: "same", start: 2 }),
      run({ id: "3333333333cc", start: 3 }),
    ]);
    expect(p.runs.map((r) => r.label)).toEqual(["same (11111111)", "same (22222222)", "33333333"]);
  });
});
