// `tslab-mlflow run` and `jupyter nbconvert --to notebook --execute` (Debian's nbclient, with
// our kernelspec installed in a private Jupyter dir) produce the same notebook: same outputs,
// execution counts and layout on disk, apart from the timing metadata and our run record.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedKernelSandbox, KERNEL_NAME, type JupyterSandbox } from "../support/jupyter.js";
import { nbconvertExecute, tslabMlflowRun } from "../support/notebook-runs.js";
import { makeTempDir, rmTempDir, SYSTEM_PYTHON } from "../support/paths.js";
import { run } from "../support/run.js";
import { code, markdown, notebook, writeNotebook } from "./notebooks.js";

let sandbox: JupyterSandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await installedKernelSandbox();
  dir = makeTempDir("run-equiv");
}, 60_000);
afterAll(() => {
  sandbox?.cleanup();
  rmTempDir(dir);
});

/** Drops what legitimately differs: per-cell timings and our own run record. */
function comparable(text: string): unknown {
  const nb = JSON.parse(text);
  for (const cell of nb.cells) delete cell.metadata?.execution;
  delete nb.metadata.tslab_mlflow;
  return nb;
}

describe("run vs nbconvert --execute", () => {
  it("gives the same executed notebook", { timeout: 300_000 }, async () => {
    writeNotebook(
      dir,
      "equiv.ipynb",
      notebook([
        markdown("# Same outputs\nthrough both clients"),
        code('console.log("hello");\nconsole.error("a warning");\nconsole.log("multi\\nline\\ntext");'),
        code("const xs = [1, 2, 3];\nxs.map((x) => x * 2)"),
        code('"héllo ✓ unicode"'),
        code('display(html`<b>bold</b>`);\ndisplay(markdown`*em*`);\nconsole.log("after displays");'),
        code("", {}),
        code('throw new TypeError("expected failure")', { tags: ["raises-exception"] }),
        code("const obj = { a: 1, nested: { b: [1, 2] } };\nobj"),
        code('await new Promise((r) => setTimeout(r, 50));\n"awaited"'),
        // Display ids updated from a later cell, and clear_output(wait): nbclient's bookkeeping.
        code('const h = display("first version", { displayId: "status" });\nconsole.log("shown");'),
        code('h.update("updated from a later cell");\nconsole.log("updated");'),
        code('console.log("to be cleared");\nclearOutput(true);\nconsole.log("after the clear");'),
        code('display.vegalite({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a", type: "quantitative" } } });'),
      ]),
    );
    const ours = await tslabMlflowRun("equiv.ipynb", {
      cwd: dir,
      env: sandbox.env,
      args: ["--no-tracking"],
      output: "ours.ipynb",
      timeout: 240_000,
    });
    expect(ours.status, ours.stderr).toBe(0);
    const theirs = await nbconvertExecute("equiv.ipynb", KERNEL_NAME, {
      cwd: dir,
      env: sandbox.env,
      output: "theirs.ipynb",
      timeout: 240_000,
    });
    expect(theirs.status, theirs.stderr).toBe(0);

    const a = fs.readFileSync(path.join(dir, "ours.ipynb"), "utf8");
    const b = fs.readFileSync(path.join(dir, "theirs.ipynb"), "utf8");
    expect(comparable(a)).toEqual(comparable(b));
    // The outputs really are there (so equality is not two empty notebooks).
    const nb = JSON.parse(a);
    expect(new Set(nb.cells[1].outputs.map((o: any) => o.name))).toEqual(new Set(["stdout", "stderr"]));
    expect(nb.cells[2].outputs[0].output_type).toBe("execute_result");
    expect(nb.cells[6].outputs.at(-1).output_type).toBe("error");
    expect(nb.cells[9].outputs[0].data["text/plain"]).toEqual(["'updated from a later cell'"]);
    expect(nb.cells[11].outputs).toEqual([{ name: "stdout", output_type: "stream", text: ["after the clear\n"] }]);
    // Both keep nbclient's four timing marks on every executed cell.
    for (const text of [a, b]) {
      const executed = JSON.parse(text).cells.filter((c: any) => c.cell_type === "code" && c.execution_count !== null);
      for (const c of executed)
        expect(Object.keys(c.metadata.execution).sort()).toEqual([
          "iopub.execute_input",
          "iopub.status.busy",
          "iopub.status.idle",
          "shell.execute_reply",
        ]);
    }
    // Our file is byte for byte what nbformat itself writes for the same notebook
    // (keys sorted, multi-line strings split, indent 1), so diffs between the two stay clean.
    const rewrite = await run(
      SYSTEM_PYTHON,
      [
        "-c",
        "import nbformat, sys; nbformat.write(nbformat.read(sys.argv[1], as_version=4), sys.argv[2])",
        "ours.ipynb",
        "rewritten.ipynb",
      ],
      { cwd: dir },
    );
    expect(rewrite.status, rewrite.stderr).toBe(0);
    expect(a).toBe(fs.readFileSync(path.join(dir, "rewritten.ipynb"), "utf8"));
  });
});
