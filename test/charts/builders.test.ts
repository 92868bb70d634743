// Each builder's spec: v5 schema, data inlined, compiles with vega-lite without warnings,
// and renders (vega, no canvas) to an SVG drawing one mark per run / point / segment.

import { describe, expect, it } from "vitest";
import {
  VEGA_LITE_V5_SCHEMA,
  barSpec,
  historySpec,
  parallelSpec,
  renderSvg,
  scatterSpec,
  toVegaSpec,
  type TopLevelSpec,
} from "../../charts/index.js";
import { ariaLabels, compared, countItems, run, segments } from "./fixtures.js";

/** Compiles with vega-lite; returns the warnings it logged (a clean spec logs none). */
function compileWarnings(spec: TopLevelSpec): string[] {
  const warnings: string[] = [];
  toVegaSpec(spec, warnings);
  return warnings;
}

/** Every `data` in the spec, wherever it sits: all must carry inline values. */
function datas(spec: unknown): unknown[] {
  if (Array.isArray(spec)) return spec.flatMap(datas);
  if (spec === null || typeof spec !== "object") return [];
  return Object.entries(spec).flatMap(([k, v]) => (k === "data" ? [v, ...datas(v)] : datas(v)));
}

function expectWellFormed(spec: TopLevelSpec) {
  expect(spec.$schema).toBe(VEGA_LITE_V5_SCHEMA);
  expect(compileWarnings(spec)).toEqual([]);
  const ds = datas(spec);
  expect(ds.length).toBeGreaterThan(0);
  for (const d of ds) expect(Array.isArray((d as { values?: unknown }).values)).toBe(true);
}

const sweep = [
  run({
    id: "a1b2c3d4e5f60001",
    name: "lr-0.1",
    start: 1,
    params: { lr: "0.1", optimizer: "sgd", layers: "2" },
    metrics: { loss: 0.9, acc: 0.61 },
  }),
  run({
    id: "a1b2c3d4e5f60002",
    name: "lr-0.01",
    start: 2,
    params: { lr: "0.01", optimizer: "adam", layers: "3" },
    metrics: { loss: 0.4, acc: 0.82 },
  }),
  run({
    id: "a1b2c3d4e5f60003",
    name: "lr-0.001",
    start: 3,
    params: { lr: "0.001", optimizer: "adam", layers: "4" },
    metrics: { loss: 0.2, acc: 0.9 },
  }),
  run({
    id: "a1b2c3d4e5f60004",
    name: "lr-0.0001",
    start: 4,
    params: { lr: "0.0001", optimizer: "sgd", layers: "2" },
    metrics: { loss: 0.5, acc: 0.7 },
  }),
];

describe("bar", () => {
  it("draws one bar per run for one metric, in start order", async () => {
    const spec = barSpec(sweep, { metrics: ["loss"] });
    expectWellFormed(spec);
    const svg = await renderSvg(spec);
    expect(countItems(svg, "rect")).toBe(4);
    const axis = svg.match(/aria-label="Y-axis[^"]*"/)![0];
    expect(axis).toContain("lr-0.1, lr-0.01, lr-0.001, lr-0.0001");
  });

  it("draws a panel per metric, one bar per run and metric; missing and non-finite values draw nothing", async () => {
    const runs = [...sweep, run({ id: "ffff000000000005", name: "broken", start: 5, metrics: { loss: Number.NaN } })];
    const spec = barSpec(runs);
    expectWellFormed(spec);
    const svg = await renderSvg(spec);
    expect(countItems(svg, "rect")).toBe(8);
    expect(svg).toContain(">acc</text>");
    expect(svg).toContain(">loss</text>");
  });
});

describe("history", () => {
  const runs = [
    compared({
      id: "h0000000000000001",
      name: "fast",
      start: 1,
      params: { lr: "0.1" },
      history: { loss: [2, 0.5, 0.1, 0.02, 0.01], acc: [0.5, 0.6, 0.7, 0.8, 0.85] },
    }),
    compared({
      id: "h0000000000000002",
      name: "slow",
      start: 2,
      params: { lr: "0.01" },
      history: { loss: [2, 1.5, 1, 0.8, 0.6], acc: [0.5, 0.52, 0.55, 0.6, 0.62] },
    }),
    compared({ id: "h0000000000000003", name: "short", start: 3, params: { lr: "0.001" }, history: { loss: [2, 1.9] } }),
  ];

  it("draws one line per run and metric and a dot per point", async () => {
    const spec = historySpec(runs);
    expectWellFormed(spec);
    const svg = await renderSvg(spec);
    expect(countItems(svg, "line")).toBe(5); // loss x3, acc x2
    expect(countItems(svg, "symbol")).toBe(5 + 5 + 2 + 5 + 5);
  });

  it("uses a log y scale for a metric spanning two decades, linear otherwise", () => {
    const spec = historySpec(runs) as { concat: { title?: unknown; layer: { encoding: { y: { title: string; scale: object } } }[] }[] };
    const scales = Object.fromEntries(spec.concat.map((c) => [c.layer[0].encoding.y.title, c.layer[0].encoding.y.scale]));
    expect(scales.loss).toEqual({ type: "log" });
    expect(scales.acc).toEqual({ zero: false });
  });

  it("plots steps as logged, also when a run only has its final value", async () => {
    const plain = run({ id: "h0000000000000004", name: "final-only", start: 4, metrics: { loss: 0.3 } });
    const spec = historySpec([...runs, plain], { metrics: ["loss"] });
    const svg = await renderSvg(spec);
    expect(countItems(svg, "line")).toBe(4);
    expect(countItems(svg, "symbol")).toBe(5 + 5 + 2 + 1);
  });
});

describe("history at scale", () => {
  it("draws the latest 100 runs and thins long histories to 500 points, keeping first and last", async () => {
    const many = Array.from({ length: 120 }, (_, i) =>
      compared({ id: `m${String(i).padStart(4, "0")}`, name: `run-${i}`, start: i, history: { loss: [3, 2, 1 + i / 1000] } }),
    );
    many.push(compared({ id: "m9999", name: "long", start: 999, history: { loss: Array.from({ length: 2000 }, (_, s) => 1 / (s + 1)) } }));
    const spec = historySpec(many) as { title: string; data: { values: { run_id: string; step: number }[] } };
    expect(spec.title).toBe("Metric history (latest 100 of 121 runs)");
    const long = spec.data.values.filter((v) => v.run_id === "m9999").map((v) => v.step);
    expect(long).toHaveLength(500);
    expect([long[0], long[499]]).toEqual([0, 1999]);
    expect(new Set(spec.data.values.map((v) => v.run_id)).has("m0020")).toBe(false);
    const svg = await renderSvg(spec as never);
    expect(countItems(svg, "line")).toBe(100);
  });
});

describe("scatter", () => {
  it("puts a numeric param on a log x when it spans decades, one point per run", async () => {
    const spec = scatterSpec(sweep, { params: ["lr"], metrics: ["loss"] });
    expectWellFormed(spec);
    expect((spec as { layer: { encoding: { x: { scale: object } } }[] }).layer[0].encoding.x.scale).toEqual({ type: "log" });
    const svg = await renderSvg(spec);
    expect(countItems(svg, "symbol")).toBe(4);
  });

  it("keeps a linear x when values span less than two decades", () => {
    const spec = scatterSpec(sweep, { params: ["layers"], metrics: ["loss"] }) as { layer: { encoding: { x: { scale: object } } }[] };
    expect(spec.layer[0].encoding.x.scale).toEqual({ zero: false });
  });

  it("draws a text param as ordinal x; runs without the param or metric have no point", async () => {
    const runs = [...sweep, run({ id: "a1b2c3d4e5f60005", name: "no-opt", start: 5, metrics: { loss: 0.3 } })];
    const spec = scatterSpec(runs, { params: ["optimizer"], metrics: ["loss"] });
    expectWellFormed(spec);
    const enc = (spec as { layer: { encoding: { x: { type: string; sort: string[] } } }[] }).layer[0].encoding;
    expect(enc.x.type).toBe("ordinal");
    expect(enc.x.sort).toEqual(["adam", "sgd"]);
    expect(countItems(await renderSvg(spec), "symbol")).toBe(4);
  });

  it("draws a panel per (param, metric) pair", async () => {
    const spec = scatterSpec(sweep, { params: ["lr", "layers"], metrics: ["loss", "acc"] });
    expectWellFormed(spec);
    expect(countItems(await renderSvg(spec), "symbol")).toBe(16);
  });
});

describe("parallel coordinates", () => {
  it("folds params and metrics into normalised axes, one segment per run between neighbouring axes", async () => {
    const spec = parallelSpec(sweep, { metrics: ["loss"] });
    expectWellFormed(spec);
    const layer = (spec as { layer: { transform?: object[] }[] }).layer[1];
    expect(layer.transform![0]).toEqual({ fold: ["axis_0", "axis_1", "axis_2", "axis_3"], as: ["axis_key", "axis_value"] });
    const svg = await renderSvg(spec);
    // Axes: layers, lr, optimizer, loss -> 3 segments per run.
    expect(segments(svg)).toBe(4 * 3);
    expect(countItems(svg, "rule", "layer_0_marks")).toBe(4);
    // Text params are labelled with their values; log axes with logged values.
    const texts = svg.match(/>[^<>]+<\/text>/g)!.map((t) => t.slice(1, -7));
    expect(texts).toEqual(expect.arrayContaining(["adam", "sgd", "0.0001", "0.1", "layers", "lr", "optimizer", "loss"]));
  });

  it("skips a run's missing axis and joins its neighbours", async () => {
    const runs = [
      ...sweep,
      run({ id: "a1b2c3d4e5f60005", name: "no-layers", start: 5, params: { lr: "0.05", optimizer: "sgd" }, metrics: { loss: 0.3 } }),
    ];
    const svg = await renderSvg(parallelSpec(runs, { metrics: ["loss"] }));
    expect(segments(svg)).toBe(4 * 3 + 2);
  });
});

describe("parallel coordinates colour", () => {
  it("draws a run without the colour metric in grey instead of dropping it", async () => {
    const runs = [
      ...sweep,
      run({
        id: "a1b2c3d4e5f60005",
        name: "no-acc",
        start: 5,
        params: { lr: "0.05", optimizer: "sgd", layers: "3" },
        metrics: { loss: 0.5 },
      }),
    ];
    const svg = await renderSvg(parallelSpec(runs));
    // Axes layers, lr, optimizer, acc, loss; colour by acc. 4 segments per full run, 3 for the run without acc.
    expect(segments(svg)).toBe(4 * 4 + 3);
    expect(svg.match(/<line [^>]*stroke="#bbb"/g)).toHaveLength(3);
  });
});

describe("tooltips", () => {
  it("carry run name, run id and params in every chart kind", async () => {
    const runs = [
      compared({ id: "t0000000000000001", name: "alpha", start: 1, params: { "opt.lr": "0.1", depth: "2" }, history: { loss: [1, 0.5] } }),
      compared({ id: "t0000000000000002", name: "beta", start: 2, params: { "opt.lr": "0.01", depth: "3" }, history: { loss: [1, 0.7] } }),
    ];
    for (const spec of [barSpec(runs), historySpec(runs), scatterSpec(runs, { params: ["opt.lr"] }), parallelSpec(runs)]) {
      const labels = ariaLabels(await renderSvg(spec)).filter((l) => l.includes("run id"));
      expect(labels.length).toBeGreaterThan(0);
      // A param key with a dot stays one literal field (not a nested path).
      expect(
        labels.some(
          (l) => l.includes("run: alpha") && l.includes("run id: t0000000000000001") && l.includes("opt.lr: 0.1") && l.includes("depth: 2"),
        ),
      ).toBe(true);
      expect(labels.some((l) => l.includes("run: beta") && l.includes("run id: t0000000000000002") && l.includes("opt.lr: 0.01"))).toBe(
        true,
      );
    }
  });
});
