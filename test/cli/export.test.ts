// `tslab-mlflow export`: the HTML page opened in headless Chromium (charts rendered by
// vega-embed, offline, fallbacks without scripts), Markdown with files, and bad input.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { makeTempDir, rmTempDir, REPO_ROOT } from "../support/paths.js";
import { runCli } from "../support/run.js";
import { launchChromium, openWatched } from "./browser.js";
import { BAR_SPEC, FALLBACK_SVG, PNG_1PX, code, markdown, notebook, writeNotebook } from "./notebooks.js";

const SHOTS = path.join(REPO_ROOT, "test-artifacts");

function executedNotebook() {
  return notebook([
    markdown("# Sales report\nSome *emphasis* and a [link](#x).\n"),
    code("%%mlflow_run demo\nconst total: number = 1 + 2;\nconsole.log(total);\ntotal * 14", {
      execution_count: 1,
      outputs: [
        { output_type: "stream", name: "stdout", text: ["3\n"] },
        { output_type: "execute_result", execution_count: 1, metadata: {}, data: { "text/plain": ["42"] } },
      ],
    }),
    code("chart", {
      execution_count: 2,
      outputs: [
        // v5 chart with its own SVG fallback, as the kernel's display sends it.
        {
          output_type: "display_data",
          metadata: {},
          data: { "application/vnd.vegalite.v5+json": BAR_SPEC, "image/svg+xml": FALLBACK_SVG, "text/plain": ["<VegaLite 5 object>"] },
        },
        // v4 chart with no static image: export must draw one.
        {
          output_type: "display_data",
          metadata: {},
          data: { "application/vnd.vegalite.v4+json": { ...BAR_SPEC, mark: "point" }, "text/plain": "<VegaLite 4 object>" },
        },
        { output_type: "display_data", metadata: {}, data: { "image/png": PNG_1PX, "text/plain": "<img>" } },
        { output_type: "display_data", metadata: {}, data: { "text/html": ['<b class="from-html">bold html</b>'], "text/plain": "x" } },
      ],
    }),
    code("throw new Error('boom')", {
      execution_count: 3,
      outputs: [
        {
          output_type: "error",
          ename: "Error",
          evalue: "boom",
          traceback: ["\u001b[31mError\u001b[0m: boom", "    at <cell>:1:7"],
        },
      ],
    }),
  ]);
}

let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = makeTempDir("export");
  writeNotebook(dir, "report.ipynb", executedNotebook());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  rmTempDir(dir);
});

/** Waits until every chart container is either rendered or failed. */
async function settledCharts(page: import("playwright-core").Page) {
  await page.waitForFunction(
    () =>
      document.querySelectorAll(".vega-output.vega-rendered, .vega-output.vega-failed").length ===
      document.querySelectorAll(".vega-output").length,
    undefined,
    { timeout: 20_000 },
  );
  return page.$$eval(".vega-output", (els) =>
    els.map((el) => ({
      rendered: el.classList.contains("vega-rendered"),
      // Marks drawn by vega-embed inside the chart's own container.
      marks: el.querySelectorAll(".vega-target svg g.mark-rect path, .vega-target svg g.mark-symbol path").length,
      fallbackVisible: (el.querySelector(".vega-fallback") as HTMLElement).offsetParent !== null,
    })),
  );
}

describe("export --to html", () => {
  it("renders markdown, code, outputs and interactive charts offline in Chromium", async () => {
    const r = await runCli(["export", path.join(dir, "report.ipynb")], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const html = path.join(dir, "report.html");
    expect(fs.existsSync(html)).toBe(true);
    // No script or stylesheet is loaded from anywhere: everything is inline.
    const text = fs.readFileSync(html, "utf8");
    expect(text).not.toMatch(/<script[^>]+src=/);
    expect(text).not.toMatch(/<link[^>]+href=/);

    const { page, consoleErrors, requests } = await openWatched(browser, pathToFileURL(html).href);
    const charts = await settledCharts(page);
    expect(charts).toHaveLength(2);
    for (const c of charts) {
      expect(c.rendered).toBe(true);
      expect(c.marks).toBeGreaterThanOrEqual(3); // three data points
      expect(c.fallbackVisible).toBe(false);
    }
    expect(await page.textContent("h1")).toBe("Sales report");
    expect(await page.$$eval("code.hljs .hljs-keyword", (els) => els.map((e) => e.textContent))).toContain("const");
    expect(await page.textContent(".magic")).toBe("%%mlflow_run demo");
    expect(await page.textContent(".output.stream.stdout")).toBe("3\n");
    expect(await page.textContent(".output.execute_result")).toBe("42");
    expect(await page.textContent(".output-row .prompt >> text=Out[1]:")).toBeTruthy();
    expect(await page.$eval(".output img", (img) => (img as HTMLImageElement).naturalWidth)).toBe(1);
    expect(await page.textContent(".from-html")).toBe("bold html");
    // ANSI red in the traceback becomes a coloured span, not escape codes.
    expect(await page.textContent(".output.error .ansi-red-fg")).toBe("Error");
    expect(await page.textContent(".output.error")).not.toContain("\u001b");

    expect(consoleErrors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "export-page.png"), fullPage: true });
    await page.context().close();
  });

  it("shows the static SVG fallbacks when scripts are off", async () => {
    const out = path.join(dir, "noscript.html");
    const r = await runCli(["export", path.join(dir, "report.ipynb"), "-o", out]);
    expect(r.status).toBe(0);
    const { page, consoleErrors } = await openWatched(browser, pathToFileURL(out).href, false);
    const fallbacks = await page.$$eval(".vega-output .vega-fallback", (els) =>
      els.map((el) => ({
        visible: (el as HTMLElement).offsetParent !== null,
        hand: el.querySelector("svg.hand-fallback") !== null,
        marks: el.querySelectorAll("svg g.mark-symbol path").length,
      })),
    );
    // The bundle's own SVG for the first chart; one drawn at export time for the second.
    expect(fallbacks).toEqual([
      { visible: true, hand: true, marks: 0 },
      { visible: true, hand: false, marks: 3 },
    ]);
    expect(await page.$$eval(".vega-target svg", (els) => els.length)).toBe(0);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "export-page-noscript.png"), fullPage: true });
    await page.context().close();
  });

  it("--scripts beside writes the chart scripts next to the page and loads them from there", async () => {
    const out = path.join(dir, "site", "page.html");
    const r = await runCli(["export", path.join(dir, "report.ipynb"), "-o", out, "--scripts", "beside"]);
    expect(r.status).toBe(0);
    const files = fs.readdirSync(path.join(dir, "site", "page_files")).sort();
    expect(files).toEqual(["vega-embed.min.js", "vega-lite.min.js", "vega.min.js"]);
    const { page, consoleErrors, requests } = await openWatched(browser, pathToFileURL(out).href);
    const charts = await settledCharts(page);
    expect(charts.every((c) => c.rendered && c.marks >= 3)).toBe(true);
    expect(
      requests
        .filter((u) => u.endsWith(".js"))
        .map((u) => path.basename(u))
        .sort(),
    ).toEqual(files);
    expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it("leaves the chart scripts out of a notebook without charts", async () => {
    const plain = writeNotebook(dir, "plain.ipynb", notebook([code("1", { outputs: [] })]));
    const r = await runCli(["export", plain]);
    expect(r.status).toBe(0);
    const html = fs.readFileSync(path.join(dir, "plain.html"), "utf8");
    expect(html).not.toContain("vegaEmbed");
    expect(html.length).toBeLessThan(40_000);
  });

  it("refuses to fetch a chart's remote data and keeps the fallback", async () => {
    const remote = { ...BAR_SPEC, data: { url: "https://example.invalid/data.json" } };
    const nbPath = writeNotebook(
      dir,
      "remote.ipynb",
      notebook([
        code("chart", {
          outputs: [
            {
              output_type: "display_data",
              metadata: {},
              data: { "application/vnd.vegalite.v5+json": remote, "image/svg+xml": FALLBACK_SVG },
            },
          ],
        }),
      ]),
    );
    const r = await runCli(["export", nbPath]);
    expect(r.status).toBe(0);
    const { page, consoleErrors, requests } = await openWatched(browser, pathToFileURL(path.join(dir, "remote.html")).href);
    await settledCharts(page);
    expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
    expect(await page.$eval(".vega-output .vega-fallback", (el) => (el as HTMLElement).offsetParent !== null)).toBe(true);
    expect(consoleErrors.join("\n")).toContain("does not fetch https://example.invalid/data.json");
    await page.context().close();
  });
});

describe("export --to md", () => {
  it("writes Markdown with images and chart SVGs in NAME_files/", async () => {
    const r = await runCli(["export", path.join(dir, "report.ipynb"), "--to", "md"]);
    expect(r.status).toBe(0);
    const md = fs.readFileSync(path.join(dir, "report.md"), "utf8");
    expect(md).toContain("# Sales report");
    expect(md).toContain("```typescript\n%%mlflow_run demo\nconst total: number = 1 + 2;");
    expect(md).toContain("```\n3\n```");
    expect(md).toContain("```\nError: boom\n    at <cell>:1:7\n```");
    expect(md).not.toContain("\u001b");
    const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links).toEqual(["report_files/output_2_0.svg", "report_files/output_2_1.svg", "report_files/output_2_2.png"]);
    expect(fs.readFileSync(path.join(dir, "report_files/output_2_0.svg"), "utf8")).toBe(FALLBACK_SVG);
    expect(fs.readFileSync(path.join(dir, "report_files/output_2_1.svg"), "utf8")).toMatch(/^<svg[\s\S]*mark-symbol/);
    expect(fs.readFileSync(path.join(dir, "report_files/output_2_2.png")).toString("base64")).toBe(PNG_1PX);
    expect(md).toContain('<b class="from-html">bold html</b>');
  });
});

describe("export: bad input exits 2", () => {
  it.each([
    ["a missing notebook", ["export", "missing.ipynb"], /notebook not found: missing\.ipynb/],
    ["a file that is not JSON", ["export", "junk.ipynb"], /junk\.ipynb is not a notebook: not JSON/],
    ["an nbformat 3 notebook", ["export", "old.ipynb"], /nbformat 4 \(nbformat is 3; accepted: 4\)/],
    ["an unknown format", ["export", "report.ipynb", "--to", "pdf"], /'pdf' is invalid\. Allowed choices are html, md/],
    ["an unknown option", ["export", "report.ipynb", "--bogus"], /unknown option '--bogus'/],
    ["no notebook", ["export"], /missing required argument 'notebook'/],
  ])("%s", async (_label, args, message) => {
    fs.writeFileSync(path.join(dir, "junk.ipynb"), "{not json");
    fs.writeFileSync(path.join(dir, "old.ipynb"), JSON.stringify({ nbformat: 3, worksheets: [] }));
    const r = await runCli(args, { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
