// The run panel's parts without a kernel: the metric model keeps a bounded, evenly strided
// sample however many points are logged; the view escapes every user string and draws only
// numbers into its SVG; the live panel publishes only when something changed, ends with the
// final status, and stops (with a warning) when its display fails.

import { describe, expect, it } from "vitest";
import { HISTORY_LIMIT, MetricSeries, pointsRecorded, type MetricState } from "../../magics/run-panel.js";
import { LivePanel, type PanelRun } from "../../magics/run-panel-live.js";
import { MAX_ROWS, panelBundle, panelMarker, sparklineSvg, sparklineText, type PanelFrame } from "../../magics/run-panel-view.js";
import type { MimeBundle } from "../../magics/outputs.js";

describe("MetricSeries", () => {
  it("keeps at most HISTORY_LIMIT points, evenly spread over the whole history, for 100k points", () => {
    const s = new MetricSeries();
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      s.record(i);
      most = Math.max(most, s.values.length);
    }
    expect(most).toBeLessThanOrEqual(HISTORY_LIMIT);
    expect(s.count).toBe(100_000);
    expect(s.values.length).toBeGreaterThanOrEqual(HISTORY_LIMIT / 2);
    // Values are the call indices: a constant gap means an even stride from the first point on.
    expect(s.values[0]).toBe(0);
    const gaps = new Set(s.values.slice(1).map((v, i) => v - s.values[i]!));
    expect(gaps.size).toBe(1);
    const [gap] = [...gaps];
    // The sample reaches the end of the history (within one stride), and the line ends on the last point.
    expect(100_000 - 1 - s.values.at(-1)!).toBeLessThan(gap!);
    expect(s.line().at(-1)).toBe(99_999);
    expect(s.line().length).toBeLessThanOrEqual(HISTORY_LIMIT + 1);
  });

  it("keeps every point while there are few, and the line is exactly them", () => {
    const s = new MetricSeries();
    for (const v of [3, 1, 2]) s.record(v);
    expect(s.values).toEqual([3, 1, 2]);
    expect(s.line()).toEqual([3, 1, 2]);
  });

  it("ends the line on the last point when it was not sampled (right after a halving)", () => {
    const s = new MetricSeries();
    for (let i = 0; i < HISTORY_LIMIT; i++) s.record(i);
    // The halving dropped call HISTORY_LIMIT-1 from the sample.
    expect(s.values.at(-1)).toBe(HISTORY_LIMIT - 2);
    expect(s.line().at(-1)).toBe(HISTORY_LIMIT - 1);
  });

  it("pointsRecorded counts the points of every series (metrics a resumed run had count none)", () => {
    const a = new MetricSeries();
    const b = new MetricSeries();
    a.record(1);
    b.record(2);
    a.record(3);
    const metrics = new Map<string, MetricState>([
      ["a", { value: 3, step: 1, series: a }],
      ["b", { value: 2, step: 0, series: b }],
      ["old", { value: 9, step: 4 }],
    ]);
    expect(pointsRecorded(metrics)).toBe(3);
    expect(a.tail).toBe(3);
  });
});

const frame = (over: Partial<PanelFrame> = {}): PanelFrame => ({
  displayId: "0123abcd",
  runName: "run",
  runId: "r1",
  experimentId: "1",
  status: "RUNNING",
  elapsedMs: 1500,
  params: new Map(),
  metrics: new Map(),
  trackingUri: "/tmp/mlruns",
  ...over,
});

describe("the panel view", () => {
  it("escapes the run name, params and metric keys; the SVG holds numbers and an escaped title only", () => {
    const series = new MetricSeries();
    for (const v of [1, 0.5, 0.25]) series.record(v);
    const b = panelBundle(
      frame({
        runName: `<script>alert(1)</script>`,
        params: new Map([[`k"><img src=x onerror=alert(1)>`, `<b>v</b> & "q"`]]),
        metrics: new Map([[`loss<i>`, { value: 0.25, step: 2, series }]]),
        trackingUri: "http://user:pw@host:5000",
      }),
    );
    const html = b["text/html"] as string;
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>v</b>");
    expect(html).not.toContain("<i>loss");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("&lt;b&gt;v&lt;/b&gt; &amp; &quot;q&quot;");
    expect(html).toContain("<code>loss&lt;i&gt;</code>");
    // The link to the run never carries the URI's credentials.
    expect(html).toContain(`href="http://host:5000/#/experiments/1/runs/r1"`);
    expect(html).not.toContain("pw@");
    const svg = /<svg[\s\S]*?<\/svg>/.exec(html)![0];
    expect(svg.replace(/<title>[^<]*<\/title>/, "")).toMatch(/^<svg[^>]*>(<path d="[ML0-9. ]+"[^>]*\/>)?(<circle[^>]*\/>)?<\/svg>$/);
    expect(svg).toContain("<title>loss&lt;i&gt;: 3 of 3 points</title>");
    // text/plain: the same facts, unescaped.
    expect(b["text/plain"]).toContain("MLflow run <script>alert(1)</script> (r1) RUNNING for 1.50 s, step 2");
    expect(b["text/plain"]).toMatch(/loss<i>=0\.25 {2}[▁-█]+ {2}\(step 2, 3 points\)/);
  });

  it("marks its output with the display id, counts what it leaves out, and says what waits for delivery", () => {
    const metrics = new Map(Array.from({ length: MAX_ROWS + 3 }, (_, i) => [`m${String(i).padStart(2, "0")}`, { value: i, step: i }]));
    const params = new Map(Array.from({ length: MAX_ROWS + 1 }, (_, i) => [`p${String(i).padStart(2, "0")}`, "x"]));
    const b = panelBundle(frame({ metrics, params, status: "FINISHED", pending: { queued: 2, inFlight: 1, spooled: 4 } }));
    const html = b["text/html"] as string;
    expect(html).toContain(panelMarker("0123abcd"));
    expect(html).toContain("… 3 more metrics");
    expect(html).toContain("… 1 more params");
    expect(b["text/plain"]).toContain("MLflow run run (r1) FINISHED in 1.50 s, step 14");
    expect(b["text/plain"]).toContain("pending: 7 items not yet delivered (2 queued, 1 in flight, 4 in the spool)");
    expect(panelBundle(frame({ pending: { queued: 0, inFlight: 0, spooled: 0 } }))["text/plain"]).toContain(
      "pending: everything logged is delivered",
    );
  });

  it("draws sparklines over non-finite values as gaps, and a single point as a dot", () => {
    expect(sparklineText([0, 1, Number.NaN, 3])).toBe("▁▃ █");
    expect(sparklineText([5])).toBe("");
    expect(sparklineSvg([1, Number.NaN, 2], "t")).toMatch(/<path d="M2 20M118 2"/); // a NaN between: two pieces, no line across
    const dot = sparklineSvg([7], "t");
    expect(dot).not.toContain("<path");
    expect(dot).toContain("<circle");
    expect(sparklineSvg([Number.NaN], "t")).toBe("");
  });
});

function fakeRun(): PanelRun & { params: Map<string, string>; metrics: Map<string, MetricState>; waiting: number } {
  const run = {
    info: { runId: "r1", runName: "run", experimentId: "1", artifactUri: "" },
    params: new Map<string, string>(),
    metrics: new Map<string, MetricState>(),
    waiting: 0,
    pending: () => ({ queued: run.waiting, inFlight: 0, spooled: 0 }),
  };
  return run;
}

describe("LivePanel", () => {
  function setup() {
    const run = fakeRun();
    const shown: { bundle: MimeBundle; update: boolean; displayId: string }[] = [];
    const warnings: string[] = [];
    const panel = new LivePanel(run, {
      show: (bundle, o) => shown.push({ bundle, ...o }),
      trackingUri: "/tmp/mlruns",
      redact: (s) => s.replaceAll("hunter2", "[REDACTED]"),
      // Ticks are driven by the test.
      intervalMs: 3_600_000,
      warn: (m) => warnings.push(m),
    });
    // As ActiveRun.logMetric records while a panel shows.
    const log = (key: string, value: number, step: number) => {
      const m = run.metrics.get(key) ?? { value, step };
      run.metrics.set(key, Object.assign(m, { value, step }));
      (m.series ??= new MetricSeries()).record(value);
    };
    return { run, panel, shown, warnings, log };
  }

  it("shows a first frame, then publishes on a tick only when something changed, and ends with the final status", () => {
    const { run, panel, shown, log } = setup();
    panel.start();
    expect(shown.map((s) => s.update)).toEqual([false]);
    panel.tick();
    expect(shown).toHaveLength(1);
    log("loss", 0.5, 0);
    panel.tick();
    expect(shown).toHaveLength(2);
    expect(shown[1]!.update).toBe(true);
    expect(shown[1]!.displayId).toBe(shown[0]!.displayId);
    expect(shown[1]!.bundle["text/plain"]).toContain("loss=0.5");
    run.params.set("lr", "0.1");
    panel.tick();
    expect(shown).toHaveLength(3);
    run.waiting = 3;
    panel.tick();
    expect(shown.at(-1)!.bundle["text/plain"]).toContain("3 items not yet delivered");
    panel.tick();
    expect(shown).toHaveLength(4);
    panel.finish("FAILED", 2500);
    expect(shown.at(-1)!.bundle["text/plain"]).toMatch(/^MLflow run run \(r1\) FAILED in 2\.50 s/);
    // A second finish (the session ending the run after the cell did) changes nothing.
    panel.finish("KILLED");
    expect(shown).toHaveLength(5);
    run.waiting = 0;
    panel.settle();
    expect(shown.at(-1)!.bundle["text/plain"]).toContain("everything logged is delivered");
    expect(shown.at(-1)!.bundle["text/plain"]).toContain("FAILED");
    log("loss", 0.1, 1);
    panel.tick();
    expect(shown).toHaveLength(6);
    expect(panel.frames).toBe(6);
  });

  it("redacts every frame", () => {
    const { run, panel, shown } = setup();
    run.params.set("db", "postgres://u:hunter2@h/x");
    panel.start();
    expect(JSON.stringify(shown)).not.toContain("hunter2");
  });

  it("with the panel off, shows the summary once as a plain display", () => {
    const { panel, shown } = setup();
    panel.summary("FINISHED", 10);
    panel.tick();
    expect(shown.map((s) => [s.update, /FINISHED/.test(String(s.bundle["text/plain"]))])).toEqual([[false, true]]);
  });

  it("stops with a warning when its display fails, never throwing into the run", () => {
    const run = fakeRun();
    const warnings: string[] = [];
    let calls = 0;
    const panel = new LivePanel(run, {
      show: () => {
        calls++;
        throw new Error("no cell");
      },
      trackingUri: "/tmp/mlruns",
      redact: (s) => s,
      warn: (m) => warnings.push(m),
    });
    expect(() => panel.start()).not.toThrow();
    run.metrics.set("x", { value: 1, step: 0 });
    panel.tick();
    panel.finish("FINISHED");
    expect(calls).toBe(1);
    expect(warnings).toEqual(["The run panel of run r1 stopped: no cell"]);
  });
});
