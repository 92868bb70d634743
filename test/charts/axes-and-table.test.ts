// Rough edges of comparison charts: value axes keep the digits the data's spread needs, steps
// are whole numbers, and the text table names the option the caller uses to pick metrics.

import { describe, expect, it } from "vitest";
import { compare } from "../../charts/index.js";
import { axisFormat } from "../../charts/history.js";
import { compared } from "./fixtures.js";

describe("history chart axes", () => {
  it("formats value ticks to the data's precision", () => {
    expect(axisFormat([0.9981, 0.9996])).toBe(".5~r");
    expect(axisFormat([0.1, 0.9])).toBe(".3~r");
    expect(axisFormat([1200, 1300])).toBe(".4~r");
    expect(axisFormat([2e-6, 3e-6])).toBe("~e");
    expect(axisFormat([5, 5])).toBe(".3~r");
    expect(axisFormat([])).toBe("~g");
  });

  it("puts the formats into the spec: integer steps, value digits from the data", () => {
    const runs = [compared({ id: "a".repeat(32), name: "a", history: { acc: [0.9981, 0.999, 0.9996] } })];
    const spec = JSON.stringify(compare(runs, { kind: "history", metrics: ["acc"] }).spec);
    expect(spec).toContain(`"axis":{"format":"d","tickMinStep":1}`);
    expect(spec).toContain(`"axis":{"format":".5~r"}`);
  });
});

describe("text table notes", () => {
  const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`m${String(i).padStart(2, "0")}`, i]));
  const runs = [
    compared({ id: "b".repeat(32), name: "b", history: Object.fromEntries(Object.entries(many).map(([k, v]) => [k, [v, v + 1]])) }),
  ];

  it("names the metrics option by default", () => {
    expect(compare(runs, { kind: "bar" }).text).toContain("2 more metrics not charted; choose with metrics");
  });

  it("names the magic's own option when the magic asks", () => {
    expect(compare(runs, { kind: "bar", metricsOption: "--metric" }).text).toContain("choose with --metric");
  });
});
