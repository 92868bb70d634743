// The one table helper behind %mlflow_runs, %mlflow_models and %mlflow_predict's preview:
// escaping, text that fits the page, HTML that keeps every value whole.
import { describe, expect, it } from "vitest";
import type { ModelVersion, RegisteredModel, Run } from "../../tracking/index.js";
import { versionsTable } from "../../magics/magic-models.js";
import { runsTable } from "../../magics/magic-runs.js";
import { TABLE_TEXT_WIDTH, table } from "../../magics/table-output.js";

const RUN_ID = "0123456789abcdef0123456789abcdef";
const run = (runName: string, runId: string, params: Record<string, string>, metrics: Record<string, number>): Run =>
  ({
    info: { runId, runName, status: "FINISHED", experimentId: "1", startTime: 0, lifecycleStage: "active", artifactUri: "" },
    data: {
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0, timestamp: 0 })),
      tags: [],
    },
  }) as unknown as Run;

describe("table", () => {
  it("aligns a small table in text and renders the same cells in HTML", () => {
    const t = table(
      "2 things",
      ["name", "n"],
      [
        ["a", "1"],
        ["bbb", "22"],
      ],
    );
    expect(t["text/plain"]).toBe("2 things\nname  n\na     1\nbbb   22");
    expect(t["text/html"]).toBe(
      '<table><caption style="text-align:left">2 things</caption><thead><tr><th>name</th><th>n</th></tr></thead>' +
        "<tbody><tr><td>a</td><td>1</td></tr><tr><td>bbb</td><td>22</td></tr></tbody></table>",
    );
  });

  it("escapes caption, headers, tooltips and values in HTML, and keeps them as written in text", () => {
    const t = table('<b>"cap"</b>', [{ header: "a<b", title: 'x"y' }], [["<script>&</script>"]]);
    expect(t["text/html"]).toContain("&lt;b&gt;&quot;cap&quot;&lt;/b&gt;");
    expect(t["text/html"]).toContain('<th title="x&quot;y">a&lt;b</th>');
    expect(t["text/html"]).toContain("<td>&lt;script&gt;&amp;&lt;/script&gt;</td>");
    expect(t["text/html"]).not.toMatch(/<script|<b>/);
    expect(t["text/plain"].split("\n")[2]).toBe("<script>&</script>");
  });

  it("fits the text to the page: wide columns are cut with …, columns marked whole are not; HTML keeps every value", () => {
    const long = `s3://bucket/${"very-long-path/".repeat(20)}model`;
    const metrics = (n: number) => Array.from({ length: n }, (_, i) => `metric_${i}`);
    const header = [{ header: "id", whole: true }, "source", ...metrics(6)];
    const row = [RUN_ID, long, ...metrics(6).map((_, i) => String(i / 2))];
    const t = table("caption", header, [row, row]);
    const lines = t["text/plain"].split("\n");
    for (const l of lines.slice(1)) expect(l.length).toBeLessThanOrEqual(TABLE_TEXT_WIDTH);
    // 32 + 6 × 8 + 7 gaps of 2 = 94: the source column gets the other 26 characters.
    expect(lines[2]).toBe(`${RUN_ID}  ${long.slice(0, 25)}…  0         0.5       1         1.5       2         2.5`);
    expect(t["text/html"]).toContain(`<td style="overflow-wrap:anywhere">${long}</td>`);
    // A narrower page cuts more, and the rows stay aligned.
    const narrow = table("c", header.slice(0, 4), [row.slice(0, 4), ["x", "y", "1", "22"]], { width: 64 })["text/plain"].split("\n");
    for (const l of narrow.slice(1)) expect(l.length).toBeLessThanOrEqual(64);
    expect(narrow[2]).toBe(`${RUN_ID}  ${long.slice(0, 9)}…  0         0.5`);
    expect(narrow[3]).toBe(`${"x".padEnd(32)}  ${"y".padEnd(10)}  ${"1".padEnd(8)}  22`);
  });

  it("keeps a value with tabs or newlines on its line", () => {
    const t = table("c", ["a", "b"], [["x\ny\tz", "1"]]);
    expect(t["text/plain"].split("\n")).toEqual(["c", "a      b", "x y z  1"]);
  });

  it("refuses a row whose cell count is not the column count, naming both", () => {
    expect(() => table("c", ["a", "b"], [["1"]])).toThrow("table row 0 has 1 cells for 2 columns");
  });
});

describe("the magics' tables", () => {
  it("%mlflow_runs: params and metrics as columns with their kind as tooltip, the whole run id in text and its start in HTML", () => {
    const t = runsTable([run("first", RUN_ID, { lr: "0.1" }, { acc: 0.9 })], "1 run in experiment e");
    expect(t["text/plain"].split("\n")).toEqual([
      "1 run in experiment e",
      "run    run id                            status    lr   acc",
      `first  ${RUN_ID}  FINISHED  0.1  0.9`,
    ]);
    expect(t["text/html"]).toContain('<th title="param">lr</th><th title="metric">acc</th>');
    expect(t["text/html"]).toContain(`<td><code title="${RUN_ID}">01234567</code></td>`);
  });

  it("%mlflow_models NAME: versions with aliases, the source run and its metrics", () => {
    const model = { name: "m<1>", aliases: [{ alias: "Champion", version: "2" }] } as unknown as RegisteredModel;
    const versions = [
      { version: "2", status: "READY", runId: RUN_ID, source: "models:/m-1" },
      { version: "1", status: "READY", source: "runs:/x/model" },
    ] as unknown as ModelVersion[];
    const t = versionsTable(model, versions, new Map([[RUN_ID, run("train", RUN_ID, {}, { acc: 0.5 })]]));
    const lines = t["text/plain"].split("\n");
    expect(lines[0]).toBe("m<1>: 2 versions");
    expect(lines[2]).toMatch(new RegExp(`^2\\s+Champion\\s+READY\\s+train \\(${RUN_ID}\\)\\s+0\\.5\\s+models:/m-1$`));
    expect(t["text/html"]).toContain("m&lt;1&gt;: 2 versions");
  });
});
