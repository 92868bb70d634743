// Progress of `tslab-mlflow run`: a bar on a terminal (a pseudo-terminal from util-linux's
// `script`), one plain line per cell otherwise.
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_MAIN, rmTempDir } from "../support/paths.js";
import { run } from "../support/run.js";
import { code, notebook, writeNotebook } from "./notebooks.js";
import { runNotebookCli, workspace } from "./run-helpers.js";

const ws = workspace("run-progress");
afterAll(() => rmTempDir(ws.dir));
writeNotebook(ws.dir, "two.ipynb", notebook([code('console.log("one")'), code("// a comment line\n2 + 2")]));

describe("run progress", () => {
  it("logs one plain line per cell when stderr is not a terminal", async () => {
    const r = await runNotebookCli(ws, ["two.ipynb", "--no-tracking"]);
    expect(r.status).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => /^\[\d\/2\]/.test(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[1\/2\] cell 0 ok in \d+\.\d\ds: console\.log\("one"\)$/);
    expect(lines[1]).toMatch(/^\[2\/2\] cell 1 ok in \d+\.\d\ds: \/\/ a comment line$/);
    expect(r.stderr).not.toContain("\u001b[");
  }, 240_000);

  it("draws a progress bar on a terminal", async () => {
    const cmd = `${process.execPath} ${CLI_MAIN} run two.ipynb --no-tracking -o tty.out.ipynb`;
    const r = await run("script", ["-qec", cmd, "/dev/null"], { cwd: ws.dir, env: ws.env, timeout: 240_000 });
    expect(r.status).toBe(0);
    // cli-progress redraws the line in place; the bar's shade characters and our format show.
    expect(r.stdout).toMatch(/[█░]+ cell 2\/2 \| \d+s \| /);
    expect(r.stdout).not.toMatch(/\[1\/2\] cell 0/);
    expect(fs.existsSync(path.join(ws.dir, "tty.out.ipynb"))).toBe(true);
  }, 240_000);
});
