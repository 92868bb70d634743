// A caller's label for a run (`{ run, label }`): the charts and the table call the run by it
// (the run's name stays in tooltips and the table), repeated labels still get an id prefix,
// and a label that is not a non-empty string is refused naming the run's position.
import { describe, expect, it } from "vitest";
import { barSpec, compare, prepare } from "../../charts/index.js";
import { run } from "./fixtures.js";

const a = run({ id: "a1111111aaaa", name: "train-1", start: 1, metrics: { auc: 0.9 } });
const b = run({ id: "b2222222bbbb", name: "train-2", start: 2, metrics: { auc: 0.8 } });
const c = run({ id: "c3333333cccc", name: "train-3", start: 3, metrics: { auc: 0.7 } });

describe("run labels", () => {
  it("draws runs under the caller's labels, keeping their names beside", () => {
    const input = [{ run: a, label: "Champion (v3)" }, { run: b, label: "Challenger (v4)" }, c];
    expect(prepare(input).runs.map((r) => [r.label, r.name])).toEqual([
      ["Champion (v3)", "train-1"],
      ["Challenger (v4)", "train-2"],
      ["train-3", "train-3"],
    ]);
    const spec = barSpec(input) as { encoding?: unknown };
    expect(JSON.stringify(spec)).toContain('"domain":["Champion (v3)","Challenger (v4)","train-3"]');
    const text = compare(input, { kind: "bar" }).text;
    expect(text).toMatch(/^label\s+run\s+id\s+auc$/m);
    expect(text).toMatch(/^Champion \(v3\)\s+train-1\s+a1111111/m);
    expect(compare([a, b], { kind: "bar" }).text).toMatch(/^run\s+id\s+auc$/m);
  });

  it("makes repeated labels unique with an id prefix", () => {
    expect(
      prepare([
        { run: a, label: "v1" },
        { run: b, label: "v1" },
      ]).runs.map((r) => r.label),
    ).toEqual(["v1 (a1111111)", "v1 (b2222222)"]);
  });

  it("refuses a label that is not a non-empty string", () => {
    expect(() => prepare([{ run: a }, { run: b, label: "" }])).toThrow('runs[1].label must be a non-empty string, got ""');
    expect(() => prepare([{ run: a, label: 3 as unknown as string }])).toThrow("runs[0].label must be a non-empty string, got 3");
  });
});
