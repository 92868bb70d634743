// The whole publishing path on the example notebook: `run notebooks/quickstart.ipynb -p
// epochs 5` (nested `%%mlflow_run` runs under the notebook's run, parameters reaching them),
// then `export` of the executed notebook, opened in headless Chromium with its charts drawn.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, rmTempDir } from "../support/paths.js";
import { runCli } from "../support/run.js";
import { launchChromium, openWatched } from "./browser.js";
import { readJson } from "./notebooks.js";
import { readRun, runIdOf, runNotebookCli, sourceOf, workspace } from "./run-helpers.js";

const ws = workspace("run-quickstart");
afterAll(() => rmTempDir(ws.dir));

describe("quickstart: run with parameters, then export", () => {
  it("tracks the notebook run with its nested runs and publishes a page with live charts", { timeout: 300_000 }, async () => {
    fs.copyFileSync(path.join(REPO_ROOT, "notebooks", "quickstart.ipynb"), path.join(ws.dir, "quickstart.ipynb"));
    const r = await runNotebookCli(ws, ["quickstart.ipynb", "-p", "epochs", "5"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('tracking into experiment "quickstart"');

    const out = path.join(ws.dir, "quickstart.out.ipynb");
    const nb = readJson(out);
    const params = nb.cells.findIndex((c: any) => c.metadata.tags?.includes("parameters"));
    expect(nb.cells[params + 1].metadata.tags).toEqual(["injected-parameters"]);
    expect(sourceOf(nb.cells[params + 1])).toContain("const epochs = 5;");

    const { run, params: runParams, client } = await readRun(ws, runIdOf(out));
    expect(run.info.status).toBe("FINISHED");
    expect(runParams.epochs).toBe("5");
    expect((await client.getExperiment(run.info.experimentId)).name).toBe("quickstart");
    const children = await client.searchRuns({
      experimentIds: [run.info.experimentId],
      filter: `tags.mlflow.parentRunId = '${run.info.runId}'`,
    });
    expect(children.items.map((c) => c.info.runName).sort()).toEqual(["lr-0.01", "lr-0.1", "lr-1"]);
    for (const child of children.items) {
      expect(child.info.status).toBe("FINISHED");
      // The injected value, not the parameters cell's default, reached the nested runs.
      expect(child.data.params.find((p) => p.key === "epochs")?.value).toBe("5");
    }
    await client.close();

    const html = path.join(ws.dir, "quickstart.html");
    const e = await runCli(["export", out, "-o", html]);
    expect(e.status, e.stderr).toBe(0);
    const browser = await launchChromium();
    try {
      const { page, consoleErrors, requests } = await openWatched(browser, pathToFileURL(html).href);
      await page.waitForFunction(
        () =>
          document.querySelectorAll(".vega-output.vega-rendered, .vega-output.vega-failed").length ===
          document.querySelectorAll(".vega-output").length,
        undefined,
        { timeout: 30_000 },
      );
      const charts = await page.$$eval(".vega-output", (els) =>
        els.map((el) => ({ rendered: el.classList.contains("vega-rendered"), marks: el.querySelectorAll(".vega-target svg path").length })),
      );
      expect(charts.length).toBeGreaterThanOrEqual(2);
      for (const c of charts) {
        expect(c.rendered).toBe(true);
        expect(c.marks).toBeGreaterThan(0);
      }
      expect(consoleErrors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
      await page.screenshot({ path: path.join(REPO_ROOT, "test-artifacts", "quickstart-export.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
