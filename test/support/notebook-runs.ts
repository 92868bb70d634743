// Executing a notebook the two ways the tests compare: Debian's `jupyter nbconvert --to
// notebook --execute` (nbclient) through a kernelspec, and our `tslab-mlflow run`. Each returns
// what the process printed and where the executed notebook went, read back when it exists.
import fs from "node:fs";
import path from "node:path";
import { SYSTEM_PYTHON } from "./paths.js";
import { run, runCli, type RunResult } from "./run.js";

export interface NotebookRunOptions {
  /** Where the process runs (relative notebook and output paths resolve here). Default: the notebook's folder. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The executed notebook's file; default `<name>.out.ipynb` beside the notebook. */
  output?: string;
  /** More arguments, before the notebook (e.g. `--allow-errors`, `--no-tracking`). */
  args?: string[];
  /** Milliseconds before the process is killed (default 300 s). */
  timeout?: number;
}

export interface NotebookRunResult<N> extends RunResult {
  /** Absolute path of the executed notebook. */
  output: string;
  /** The executed notebook, when it was written. */
  nb?: N;
}

function where(notebook: string, opts: NotebookRunOptions) {
  const cwd = opts.cwd ?? path.dirname(path.resolve(notebook));
  const output = path.resolve(cwd, opts.output ?? `${path.basename(notebook, ".ipynb")}.out.ipynb`);
  return { cwd, output };
}

function withNotebook<N>(r: RunResult, output: string): NotebookRunResult<N> {
  const nb = fs.existsSync(output) ? (JSON.parse(fs.readFileSync(output, "utf8")) as N) : undefined;
  return { ...r, output, nb };
}

/**
 * `jupyter nbconvert --to notebook --execute` with Debian's Python and the kernel `kernelName`
 * (its kernelspec must be on the env's JUPYTER_PATH, see jupyter.ts); `cellTimeout` is
 * nbclient's per-cell limit in seconds (default 120).
 */
export async function nbconvertExecute<N = unknown>(
  notebook: string,
  kernelName: string,
  opts: NotebookRunOptions & { cellTimeout?: number } = {},
): Promise<NotebookRunResult<N>> {
  const { cwd, output } = where(notebook, opts);
  const r = await run(
    SYSTEM_PYTHON,
    [
      "-m",
      "jupyter",
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      `--ExecutePreprocessor.kernel_name=${kernelName}`,
      `--ExecutePreprocessor.timeout=${opts.cellTimeout ?? 120}`,
      // nbconvert takes --output relative to the notebook's folder: give it that.
      "--output",
      path.relative(path.dirname(path.resolve(cwd, notebook)), output),
      ...(opts.args ?? []),
      notebook,
    ],
    { cwd, env: opts.env, timeout: opts.timeout ?? 300_000 },
  );
  return withNotebook<N>(r, output);
}

/** `tslab-mlflow run NOTEBOOK -o OUTPUT [args]` with the compiled CLI (build first). */
export async function tslabMlflowRun<N = unknown>(notebook: string, opts: NotebookRunOptions = {}): Promise<NotebookRunResult<N>> {
  const { cwd, output } = where(notebook, opts);
  const r = await runCli(["run", notebook, ...(opts.args ?? []), "-o", output], { cwd, env: opts.env, timeout: opts.timeout ?? 300_000 });
  return withNotebook<N>(r, output);
}
