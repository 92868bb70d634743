// The same runs, in any order, give byte-identical specs, SVGs and tables: in one process,
// after other charts were rendered, and in a fresh process.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CHART_KINDS, compareAsync, renderSvg, type CompareOptions, type RunInput } from "../../charts/index.js";
import { compared, run, shuffled } from "./fixtures.js";

const runs: RunInput[] = Array.from({ length: 12 }, (_, i) =>
  compared({
    id: `d${String(i).padStart(3, "0")}${"0123456789abcdef".repeat(2).slice(i, i + 12)}`,
    name: i % 5 === 0 ? "repeat" : `run-${i}`,
    start: 1_700_000_000_000 + (i % 4) * 1000, // ties on start time: the run id decides
    params: { lr: String(10 ** -(1 + (i % 4))), optimizer: ["sgd", "adam", "rmsprop"][i % 3], depth: String(2 + (i % 3)) },
    history: { loss: [2, 1 / (i + 1), 0.1 / (i + 1)], acc: [0.1, 0.5, 0.9 - i / 100] },
  }),
);
runs.push(
  run({ id: "zzzz", name: "final-only", start: 1_700_000_000_500, params: { lr: "0.5" }, metrics: { loss: 0.25, acc: Number.NaN } }),
);

const cases: [string, CompareOptions][] = [
  ...CHART_KINDS.map((kind): [string, CompareOptions] => [kind, { kind, ...(kind === "scatter" ? { params: ["lr"] } : {}) }]),
  ["bar, 5 runs", { kind: "bar", max: 5 }],
];

async function faces(input: readonly RunInput[], options: CompareOptions) {
  const c = await compareAsync(input, options);
  return { spec: JSON.stringify(c.spec), svg: c.svg!, text: c.text };
}

describe("determinism", () => {
  it.each(cases)("%s: shuffled input gives identical spec, SVG and text", async (_, options) => {
    const reference = await faces(runs, options);
    for (const seed of [1, 2]) {
      const again = await faces(shuffled(runs, seed), options);
      expect(again.spec).toBe(reference.spec);
      expect(again.text).toBe(reference.text);
      expect(again.svg).toBe(reference.svg);
    }
  });

  it("specs hold no timestamps of the run or of now, and no random ids", async () => {
    const { spec, svg } = await faces(runs, { kind: "history" });
    expect(spec).not.toMatch(/1700000000|17\d{11}/);
    expect(svg).not.toMatch(/17\d{11}/);
  });

  it("vega's clip-path ids restart at each render, so earlier renders do not change the bytes", async () => {
    const clipped = {
      data: { values: [{ a: 1, b: 2 }] },
      mark: { type: "bar", clip: true },
      encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
    };
    const first = await renderSvg(clipped);
    expect(first).toContain('clip-path="url(#clip1)"');
    await renderSvg({ ...clipped, mark: { type: "point", clip: true } });
    expect(await renderSvg(clipped)).toBe(first);
  });

  it("a fresh process renders the same bytes", async () => {
    const c = await compareAsync(runs, { kind: "parallel" });
    const script = `
      const { renderSvg } = await import(${JSON.stringify(new URL("../../dist/charts/index.js", import.meta.url).href)});
      let input = ""; for await (const chunk of process.stdin) input += chunk;
      process.stdout.write(await renderSvg(JSON.parse(input)));`;
    const child = promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      maxBuffer: 64 << 20,
    });
    child.child.stdin!.end(JSON.stringify(c.spec));
    const { stdout } = await child;
    expect(stdout).toBe(c.svg);
    expect(await renderSvg(c.spec)).toBe(c.svg);
  });
});
