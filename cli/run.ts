// `tslab-mlflow run NOTEBOOK`: executes a notebook headlessly with our kernel (as nbclient
// and papermill do), with papermill-style parameters, as one MLflow run whose `%%mlflow_run`
// cells become nested runs, and writes the executed notebook.
//
// Contract with the kernel and magics: the kernel is spawned as soon as the input is checked
// (its compiler is the slow part of a run), with TSLAB_MLFLOW_RUN_CONTEXT=stdin and
// JPY_SESSION_NAME=<output notebook>, the file being executed: it holds the injected
// parameters cell, which the magics read as params, and is saved before the first cell runs.
// While the kernel boots, tracking loads and the run is created here; then a JSON object
// {MLFLOW_RUN_ID, MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID} goes to the kernel's stdin, which
// is closed. The magics wait for it before opening tracking and put it in the kernel's
// process.env: MLFLOW_RUN_ID is MLflow's variable for the active run, which the magics treat as
// the parent of `%%mlflow_run` cells and never end; the URI and experiment are resolved here
// (so a different --cwd cannot send nested runs elsewhere). If the run cannot be created, the
// kernel gets `{}` and is shut down before any cell runs. With --no-tracking: no context.
//
// Under MLflow's project runner (`mlflow run`, whose entry point's command is this one) the
// run already exists: MLFLOW_RUN_ID in our environment names it, and it is adopted instead of
// created (it must be RUNNING on MLFLOW_TRACKING_URI). Params, tags it lacks and artifacts go
// into it and the cells' runs nest under it, but its end is its owner's: the runner sets
// FINISHED or FAILED from our exit code (see run-tracking.ts).
//
// Exit codes: 0 every cell ran; 1 a cell failed, timed out or the kernel died; 2 bad input
// (nothing started); 130 stopped by Ctrl-C.

import { stat } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { InputError, reportInputErrors } from "./input-error.js";
import { PairedOptionsCommand, badInputExits, collectList, collectPair } from "./run-options.js";

export interface RunCommandOptions {
  parameter?: { name: string; value: string; hasValue: boolean }[];
  parameterRaw?: { name: string; value: string; hasValue: boolean }[];
  parametersFile?: string[];
  parametersYaml?: string[];
  output?: string;
  cwd?: string;
  timeout?: number;
  allowErrors?: boolean;
  experiment?: string;
  kernelLog?: string;
  tracking: boolean;
}

/** --timeout: a positive number of seconds (commander reports the bad value, exit 2). */
function parseTimeoutOption(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number of seconds.");
  return n;
}

export function registerRunCommand(program: Command): void {
  const cmd = new PairedOptionsCommand("run", ["-p", "--parameter", "-r", "--parameter-raw"])
    .description("execute a notebook headlessly with parameters, as one MLflow run")
    .argument("<notebook>", "the .ipynb file to execute")
    .option(
      "-p, --parameter <name value>",
      "a parameter, typed as papermill does (numbers, true/false, null, else a string); repeatable",
      collectPair,
    )
    .option("-r, --parameter-raw <name value>", "a parameter kept as a string; repeatable", collectPair)
    .option("-f, --parameters-file <file>", "YAML mapping of parameters (lists and mappings allowed); repeatable", collectList)
    .option("-y, --parameters-yaml <yaml>", "YAML mapping of parameters given inline; repeatable", collectList)
    .option("-o, --output <file>", "where to write the executed notebook (default: NAME.out.ipynb beside the input)")
    .option("--cwd <dir>", "working directory of the kernel (default: the notebook's directory)")
    .addOption(new Option("--timeout <seconds>", "per-cell limit: interrupt the cell and stop (run KILLED)").argParser(parseTimeoutOption))
    .option("--allow-errors", "keep going after a failing cell (the run still ends FAILED)")
    .option(
      "--experiment <name>",
      "MLflow experiment name or id (default: the notebook's own %mlflow_experiment, else MLFLOW_EXPERIMENT_ID / MLFLOW_EXPERIMENT_NAME, else Default; under MLFLOW_RUN_ID, that run's)",
    )
    .option("--kernel-log <file>", "append the kernel process's own output to this file")
    .option("--no-tracking", "execute without creating an MLflow run")
    .allowExcessArguments(false)
    .action((notebook: string, opts: RunCommandOptions) =>
      reportInputErrors(async () => {
        process.exitCode = await runNotebookCommand(notebook, opts);
      }),
    );
  badInputExits(cmd);
  program.addCommand(cmd);
}

/** Validates everything that can be checked without side effects, then runs. */
async function runNotebookCommand(notebook: string, opts: RunCommandOptions): Promise<number> {
  const pairs = [
    ...(opts.parameter ?? []).map((p) => ({ ...p, raw: false, flag: "-p" })),
    ...(opts.parameterRaw ?? []).map((p) => ({ ...p, raw: true, flag: "-r" })),
  ];
  for (const p of pairs) {
    if (!p.hasValue) throw new InputError("BAD_PARAMETER", `${p.flag} ${p.name} has no value: use ${p.flag} NAME VALUE`);
  }
  if (opts.cwd !== undefined) {
    const s = await stat(opts.cwd).catch(() => undefined);
    if (!s?.isDirectory()) throw new InputError("BAD_OPTION", `bad --cwd ${JSON.stringify(opts.cwd)}: not a directory`);
  }
  if (opts.output !== undefined) {
    const dir = path.dirname(path.resolve(opts.output));
    const s = await stat(dir).catch(() => undefined);
    if (!s?.isDirectory())
      throw new InputError("BAD_OPTION", `bad --output ${JSON.stringify(opts.output)}: directory ${dir} does not exist`);
  }
  // The machinery (kernel client, tracking, TypeScript parser) loads only when a run happens.
  const { runNotebook } = await import("./run-notebook.js");
  return runNotebook({
    input: notebook,
    output: opts.output,
    pairs: pairs.map(({ name, value, raw }) => ({ name, value, raw })),
    files: opts.parametersFile,
    yaml: opts.parametersYaml,
    cwd: opts.cwd,
    timeoutSeconds: opts.timeout,
    allowErrors: opts.allowErrors ?? false,
    experiment: opts.experiment,
    kernelLog: opts.kernelLog,
    tracking: opts.tracking,
  });
}
