// `compare`: one object that displays itself as the bundle %mlflow_compare shows. Also the
// synchronous display path (a worker thread renders; needs the build in dist/), the text
// table, PNG export, rendering of user specs, and runs read from a real MLflow FileStore.

import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  Comparison,
  VEGALITE_V5_MIME,
  compare,
  compareAsync,
  renderSpecToSvg,
  renderSvg,
  renderSvgSync,
  toPng,
  type ComparedRun,
} from "../../charts/index.js";
import { toBundle } from "../../kernel/display.js";
import { FileStore } from "../../tracking/file-store/index.js";
import { compared, countItems, run, segments } from "./fixtures.js";

const DISPLAY = Symbol.for("Jupyter.display");

const runs = [
  compared({
    id: "c000000000000001",
    name: "small-lr",
    start: 1,
    params: { lr: "0.001", optimizer: "adam" },
    history: { loss: [1, 0.6, 0.3], acc: [0.3, 0.6, 0.81234567] },
  }),
  compared({
    id: "c000000000000002",
    name: "big-lr",
    start: 2,
    params: { lr: "0.1", optimizer: "sgd" },
    history: { loss: [1, 0.9, 0.95], acc: [0.3, 0.35, 0.4] },
  }),
  run({
    id: "c000000000000003",
    name: "a-much-longer-run-name",
    start: 3,
    params: { lr: "0.01" },
    metrics: { loss: 12345.678, acc: Number.POSITIVE_INFINITY },
  }),
];

describe("compare", () => {
  it("displays itself synchronously as Vega-Lite v5 + SVG + text", () => {
    const c = compare(runs);
    expect(c).toBeInstanceOf(Comparison);
    expect(c.kind).toBe("history");
    const bundle = (c as unknown as Record<symbol, () => Record<string, unknown>>)[DISPLAY]();
    expect(Object.keys(bundle).sort()).toEqual(["application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"]);
    expect(bundle[VEGALITE_V5_MIME]).toBe(c.spec);
    expect(bundle["image/svg+xml"]).toMatch(/^<svg [^>]*class="marks"/);
    expect(countItems(bundle["image/svg+xml"] as string, "line")).toBe(5);
    expect(bundle["text/plain"]).toBe(c.text);
  });

  it("the kernel's display turns a comparison into the full bundle", () => {
    const c = compare(runs, { kind: "parallel" });
    const bundle = toBundle(c);
    expect(bundle["application/vnd.vegalite.v5+json"]).toBe(c.spec);
    // Axes lr, optimizer, acc, loss: 3 segments for each full run; the third run has only lr and loss.
    expect(segments(bundle["image/svg+xml"] as string)).toBe(2 * 3 + 1);
    expect(bundle["text/plain"]).toBe(c.text);
  });

  it("the synchronous, asynchronous and direct renders are the same bytes", async () => {
    const sync = compare(runs).bundle()["image/svg+xml"];
    const async = (await compareAsync(runs)).svg;
    expect(async).toBe(sync);
    expect(await renderSvg(compare(runs).spec)).toBe(sync);
    expect(renderSvgSync(compare(runs).spec)).toBe(sync);
  });

  it("compareAsync renders up front; display then returns at once with the same SVG", async () => {
    const c = await compareAsync(runs, { kind: "bar" });
    expect(c.svg).toBeDefined();
    expect(c.bundle()["image/svg+xml"]).toBe(c.svg);
    expect(countItems(c.svg!, "rect")).toBe(5); // acc x2 (Infinity is not drawn), loss x3
  });

  it("a failed SVG leaves the chart and says why in the text", () => {
    const c = new Comparison("bar", { mark: "bar", encoding: { x: { field: "a", type: "nonsense" } } } as never, "table", 1, 1);
    const bundle = c.bundle();
    expect(bundle["image/svg+xml"]).toBeUndefined();
    expect(bundle[VEGALITE_V5_MIME]).toBe(c.spec);
    expect(bundle["text/plain"]).toMatch(/^table\n\(no SVG: Not a valid Vega-Lite spec/);
  });
});

describe("text table", () => {
  it("aligns run name, id prefix, params and final metrics; numbers right-aligned", () => {
    const text = compare(runs, { kind: "bar" }).text;
    expect(text).toBe(
      [
        "Final metrics (3 runs)",
        "run                     id           lr  optimizer       acc     loss",
        "----------------------  --------  -----  ---------  --------  -------",
        "small-lr                c0000000  0.001  adam       0.812346      0.3",
        "big-lr                  c0000000    0.1  sgd             0.4     0.95",
        "a-much-longer-run-name  c0000000   0.01  -               Inf  12345.7",
      ].join("\n"),
    );
  });

  it("lists at most 100 runs, the latest, and says so", () => {
    const many = Array.from({ length: 130 }, (_, i) =>
      run({ id: `t${String(i).padStart(4, "0")}`, name: `run-${i}`, start: i, metrics: { loss: i } }),
    );
    const lines = compare(many, { kind: "bar" }).text.split("\n");
    expect(lines).toHaveLength(1 + 2 + 100 + 1);
    expect(lines[3]).toMatch(/^run-30 /);
    expect(lines.at(-1)).toBe("(table lists the latest 100 of 130 runs)");
  });

  it("notes runs left out by max", () => {
    const text = compare(runs, { kind: "bar", max: 2 }).text;
    expect(text.split("\n")[0]).toBe("Final metrics (latest 2 of 3 runs)");
    expect(text).toContain("(showing the latest 2 of 3 runs)");
    expect(text).not.toContain("small-lr");
  });
});

describe("rendering user specs", () => {
  it("renders a Vega spec as well as Vega-Lite", async () => {
    const vegaSpec = {
      $schema: "https://vega.github.io/schema/vega/v5.json",
      width: 100,
      height: 50,
      marks: [
        {
          type: "rect",
          encode: { enter: { x: { value: 0 }, y: { value: 0 }, width: { value: 10 }, height: { value: 10 }, fill: { value: "red" } } },
        },
      ],
    };
    const svg = await renderSpecToSvg(vegaSpec);
    expect(svg).toContain('fill="red"');
    expect(countItems(svg, "rect")).toBe(1);
  });

  it("turns SVG into PNG", async () => {
    const png = await toPng(await renderSvg(compare(runs, { kind: "bar" }).spec));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(1000);
  });
});

describe("runs read from a real MLflow FileStore", () => {
  const dir = mkdtempSync(join(tmpdir(), "charts-mlruns-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("compares the fixture experiment's runs with their histories", async () => {
    const fixture = fileURLToPath(new URL("../fixtures/mlflow-wire/filestore/mlruns", import.meta.url));
    cpSync(fixture, join(dir, "mlruns"), { recursive: true });
    const store = new FileStore(join(dir, "mlruns"), { onWarning: () => {} });
    const { items } = await store.searchRuns({ experimentIds: ["265722614914646150"] });
    expect(items.length).toBeGreaterThan(0);
    const input: ComparedRun[] = await Promise.all(
      items.map(async (r) => ({
        run: r,
        history: Object.fromEntries(
          await Promise.all(r.data.metrics.map(async (m) => [m.key, await store.getMetricHistory(r.info.runId, m.key)] as const)),
        ),
      })),
    );
    const c = await compareAsync(input, { metrics: ["acc", "train/loss"] });
    expect(c.kind).toBe("history");
    const withAcc = input.filter((r) => r.history?.acc?.length).length;
    const withLoss = input.filter((r) => r.history?.["train/loss"]?.length).length;
    expect(countItems(c.svg!, "line")).toBe(withAcc + withLoss);
    expect(c.text).toContain("fs-finished");
    expect(c.text).toContain("f836a174");
  });
});
