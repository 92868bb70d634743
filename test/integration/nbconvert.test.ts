// `jupyter nbconvert --to notebook --execute` (Debian's nbconvert + nbclient) on every
// notebook in notebooks/, through our installed kernelspec, checking the outputs that
// come back; plus a notebook with a failing cell under --allow-errors.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedKernelSandbox, KERNEL_NAME, type JupyterSandbox } from "../support/jupyter.js";
import { storedRuns } from "../support/mlruns.js";
import { nbconvertExecute } from "../support/notebook-runs.js";
import { makeTempDir, REPO_ROOT, rmTempDir } from "../support/paths.js";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  execution_count?: number | null;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}
interface Notebook {
  cells: Cell[];
  metadata: Record<string, any>;
}

const NOTEBOOKS_DIR = path.join(REPO_ROOT, "notebooks");
// The example notebooks, not what `npm run example` or `tslab-mlflow run` wrote beside them.
const notebooks = fs.existsSync(NOTEBOOKS_DIR)
  ? fs
      .readdirSync(NOTEBOOKS_DIR)
      .filter((f) => f.endsWith(".ipynb") && !f.endsWith(".out.ipynb"))
      .sort()
  : [];

const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));

let sandbox: JupyterSandbox;
let work: string;

/** Executes `file` in place with nbconvert; returns the executed notebook. */
const execute = (file: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  nbconvertExecute<Notebook>(file, KERNEL_NAME, { args: extraArgs, env: { ...sandbox.env, ...env } });

beforeAll(async () => {
  sandbox = await installedKernelSandbox();
  // Inside the repo (gitignored), so copies resolve node_modules as notebooks/ does.
  work = makeTempDir("nbconvert");
}, 60_000);
afterAll(() => {
  sandbox?.cleanup();
  rmTempDir(work);
});

describe("nbconvert --execute on every notebook in notebooks/", () => {
  it("finds the notebooks", () => {
    expect(notebooks).toContain("hello.ipynb");
  });

  for (const name of notebooks) {
    it(name, { timeout: 320_000 }, async () => {
      // A private copy of the folder (notebooks may read files beside them) and a private MLflow store.
      const dir = fs.mkdtempSync(path.join(work, "nb-"));
      fs.cpSync(NOTEBOOKS_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".out.ipynb") && !src.includes("mlruns") });
      const mlruns = path.join(dir, "mlruns");
      const source = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS_DIR, name), "utf8")) as Notebook;

      const r = await execute(path.join(dir, name), [], { MLFLOW_TRACKING_URI: `file://${mlruns}` });
      expect(r.status, r.stderr).toBe(0);
      const nb = r.nb!;
      expect(nb.metadata.kernelspec?.name ?? KERNEL_NAME).toBe(KERNEL_NAME);
      expect(nb.metadata.language_info?.name).toBe("typescript");

      const code = nb.cells.filter((c) => c.cell_type === "code");
      const sourceCode = source.cells.filter((c) => c.cell_type === "code");
      expect(code.length).toBe(sourceCode.length);
      let count = 0;
      code.forEach((cell, i) => {
        const outputs = cell.outputs ?? [];
        // Every cell ran, in order; only cells tagged raises-exception (which nbclient lets
        // fail) have an error, and those must have one.
        expect(cell.execution_count, `cell ${i}`).toBe(++count);
        const errors = outputs.filter((o) => o.output_type === "error");
        const mayRaise = ((cell.metadata?.tags as string[] | undefined) ?? []).includes("raises-exception");
        if (mayRaise) expect(errors.length, `cell ${i} is tagged raises-exception`).toBeGreaterThan(0);
        else expect(errors, `cell ${i}: ${JSON.stringify(outputs)}`).toEqual([]);
        for (const o of outputs) {
          if (o.output_type === "execute_result") {
            expect(o.execution_count).toBe(cell.execution_count);
            expect(typeof text(o.data?.["text/plain"])).toBe("string");
          }
          if (o.output_type === "display_data" || o.output_type === "execute_result") {
            expect(Object.keys(o.data ?? {}), `cell ${i}`).toContain("text/plain");
          }
        }
        // Where the committed notebook keeps outputs, the same kinds come back in the same order.
        const committed = sourceCode[i].outputs ?? [];
        if (committed.length > 0) {
          const kinds = (os: Output[]) => os.map((o) => (o.output_type === "stream" ? `stream:${o.name}` : o.output_type));
          expect(kinds(outputs), `cell ${i}`).toEqual(kinds(committed));
        }
      });

      // Every %%mlflow_run cell left a run in the private store, and none is still RUNNING.
      const runCells = code.filter((c) => /^\s*%%mlflow_run\b/.test(text(c.source))).length;
      const runs = storedRuns(mlruns);
      expect(runs.length).toBeGreaterThanOrEqual(runCells);
      expect(runs.filter((run) => run.status === "RUNNING")).toEqual([]);

      if (name === "hello.ipynb") {
        const kinds = new Set(code.flatMap((c) => (c.outputs ?? []).map((o) => o.output_type)));
        expect([...kinds].sort()).toEqual(["display_data", "execute_result", "stream"]);
      }
    });
  }
});

describe("nbconvert on our own cells", () => {
  it("brings back stream, execute_result and display_data with their content", { timeout: 320_000 }, async () => {
    const file = path.join(work, "outputs.ipynb");
    fs.writeFileSync(
      file,
      notebook([
        'console.log("hello from stdout"); console.error("and stderr")',
        "const n: number = 6 * 7;\nn",
        'display.html("<p>html out</p>")',
        "({ a: 1, b: [1, 2] })",
      ]),
    );
    const r = await execute(file);
    expect(r.status, r.stderr).toBe(0);
    const [c0, c1, c2, c3] = r.nb!.cells.map((c) => c.outputs ?? []);
    expect(c0.map((o) => [o.name, text(o.text)])).toEqual([
      ["stdout", "hello from stdout\n"],
      ["stderr", "and stderr\n"],
    ]);
    expect(c1).toHaveLength(1);
    expect(c1[0].output_type).toBe("execute_result");
    expect(text(c1[0].data!["text/plain"])).toBe("42");
    expect(c2.map((o) => o.output_type)).toEqual(["display_data"]);
    expect(text(c2[0].data!["text/html"])).toBe("<p>html out</p>");
    expect(c3.map((o) => o.output_type)).toEqual(["execute_result"]);
    expect(text(c3[0].data!["text/plain"])).toBe("{ a: 1, b: [ 1, 2 ] }");
  });

  it("keeps going past a failing cell with --allow-errors and records the error", { timeout: 320_000 }, async () => {
    const file = path.join(work, "failing.ipynb");
    fs.writeFileSync(
      file,
      notebook([
        "const before = 1;\nbefore",
        'throw new RangeError("deliberate failure")',
        'const typeError: number = "not a number";',
        "before + 1",
      ]),
    );

    // Without --allow-errors nbconvert stops and fails, naming the error.
    const strict = await execute(file);
    expect(strict.status).not.toBe(0);
    expect(strict.stderr).toContain("deliberate failure");

    const r = await execute(file, ["--allow-errors"]);
    expect(r.status, r.stderr).toBe(0);
    const outs = r.nb!.cells.map((c) => c.outputs ?? []);
    expect(text(outs[0][0].data!["text/plain"])).toBe("1");
    const runtime = outs[1].find((o) => o.output_type === "error")!;
    expect(runtime.ename).toBe("RangeError");
    expect(runtime.evalue).toBe("deliberate failure");
    expect(runtime.traceback!.join("\n")).toContain("deliberate failure");
    const typeErr = outs[2].find((o) => o.output_type === "error")!;
    expect(typeErr.traceback!.join("\n")).toMatch(/not assignable to type 'number'/);
    expect(typeErr.traceback!.join("\n")).toMatch(/1:7/);
    // The kernel kept its state across the failures.
    expect(text(outs[3][0].data!["text/plain"])).toBe("2");
  });
});

function notebook(cells: string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: "TypeScript (tslab-mlflow)", language: "typescript" } },
    cells: cells.map((source, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
  });
}
