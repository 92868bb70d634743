// The body of `tslab-mlflow run`: parameters in, MLflow run around, kernel started and
// driven cell by cell, executed notebook saved after every cell and at the end, and a
// report of what happened (see run.ts for the contract with the kernel and magics).
//
// Order, for speed: the kernel is spawned as soon as the input is checked (its compiler is
// the slow part of every run); tracking/ loads and the run is created while it boots, and
// the run reaches the kernel on its stdin. So tracking/ (and what only the execution needs)
// is imported dynamically, after the spawn; statically only its light entry (the URI check).

import { access, constants, stat, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { INotebookContent } from "@jupyterlab/nbformat";
import { KernelClient } from "../jupyter-client/index.js";
import { compilerForKernel } from "../kernel/compiler/index.js";
import type { RunStatus } from "../tracking/index.js";
import { MlflowError, resolveTrackingUri, trackingUriKind } from "../tracking/light.js";
import { stripAnsi } from "./html/ansi.js";
import { executeNotebook, isExecutable, type CellFailure, type ExecuteNotebookResult } from "./execute.js";
import { InputError } from "./input-error.js";
import { Redactor, looksSecret, REDACTED } from "../magics/redact.js";
import { firstLine, isCodeCell, readNotebook, redactNotebook, serializeNotebook, writeNotebook } from "./notebook.js";
import { collectParameters, injectParameters, type Parameters } from "./parameters.js";
import type { NotebookRun } from "./run-tracking.js";

export interface RunNotebookOptions {
  input: string;
  output?: string;
  pairs?: { name: string; value: string; raw: boolean }[];
  files?: string[];
  yaml?: string[];
  cwd?: string;
  timeoutSeconds?: number;
  allowErrors: boolean;
  experiment?: string;
  kernelLog?: string;
  tracking: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Ctrl-C came before the kernel was ready: no cell ran, nothing to interrupt, the run is KILLED. */
class Interrupted extends Error {}

const CLI_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_INTERRUPTED = 130;

/** What the kernel reads on its stdin (TSLAB_MLFLOW_RUN_CONTEXT=stdin, see magics/run-context.ts). */
type RunContext = { MLFLOW_RUN_ID?: string; MLFLOW_TRACKING_URI?: string; MLFLOW_EXPERIMENT_ID?: string };

/** The kernel being started: the client once ready (undefined if it failed, see `error`). */
interface StartingKernel {
  client: Promise<KernelClient | undefined>;
  error?: string;
}

/** Where the executed notebook goes by default: NAME.out.ipynb beside the input. */
export function defaultOutputPath(input: string): string {
  return path.join(path.dirname(input), `${path.basename(input, ".ipynb")}.out.ipynb`);
}

export async function runNotebook(o: RunNotebookOptions): Promise<number> {
  // First Ctrl-C: interrupt the running cell and stop. Second: kill the kernel.
  const abort = new AbortController();
  let client: KernelClient | undefined;
  const onSigint = () => {
    if (!abort.signal.aborted) {
      console.error("\nInterrupting the running cell (Ctrl-C again kills the kernel)...");
      abort.abort();
    } else if (client?.pid) {
      process.kill(client.pid, "SIGKILL");
    }
  };
  process.on("SIGINT", onSigint);
  try {
    return await execute(o, abort, (c) => (client = c));
  } finally {
    process.off("SIGINT", onSigint);
  }
}

async function execute(o: RunNotebookOptions, abort: AbortController, setClient: (c: KernelClient) => void): Promise<number> {
  const env = o.env ?? process.env;
  const started = new Date();
  const input = path.resolve(o.input);
  const nb = await readNotebook(o.input);
  const params = await collectParameters({ files: o.files, yaml: o.yaml, pairs: o.pairs });
  const output = path.resolve(o.output ?? defaultOutputPath(input));
  const cwd = path.resolve(o.cwd ?? path.dirname(input));
  await checkCwd(cwd, o.cwd);
  // What leaves this machine (params, the uploaded notebook and page) and what is printed
  // passes one Redactor: secrets from the environment and URI credentials never show.
  const redactor = new Redactor(env);
  if (o.kernelLog !== undefined) {
    const dir = path.dirname(path.resolve(o.kernelLog));
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
      throw new InputError("BAD_OPTION", `bad --kernel-log ${JSON.stringify(o.kernelLog)}: directory ${dir} does not exist`);
    }
    if ((await stat(o.kernelLog).catch(() => undefined))?.isDirectory()) {
      throw new InputError("BAD_OPTION", `bad --kernel-log ${JSON.stringify(o.kernelLog)}: is a directory, expected a file`);
    }
  }
  if (o.tracking) checkTrackingUri(env);

  // A run starts from a clean slate: stale outputs below a failing cell would mislead.
  for (const cell of nb.cells) {
    if (!isCodeCell(cell)) continue;
    cell.outputs = [];
    cell.execution_count = null;
    delete (cell.metadata as Record<string, unknown>).execution;
  }
  const meta: Record<string, unknown> = {
    parameters: params,
    input_path: input,
    output_path: output,
    start_time: started.toISOString(),
  };
  (nb.metadata as Record<string, unknown>).tslab_mlflow = meta;
  const save = () => saveNotebook(output, nb);

  // The kernel boots while tracking loads and the run is created; it gets the run on stdin.
  const kernelEnv: NodeJS.ProcessEnv = { ...env, JPY_SESSION_NAME: output };
  let giveContext: (c: RunContext) => void = () => undefined;
  let context: Promise<string> | undefined;
  if (o.tracking) {
    kernelEnv.TSLAB_MLFLOW_RUN_CONTEXT = "stdin";
    // The context is the kernel's only source for these: never a stale value from our caller.
    delete kernelEnv.MLFLOW_RUN_ID;
    delete kernelEnv.MLFLOW_TRACKING_URI;
    delete kernelEnv.MLFLOW_EXPERIMENT_ID;
    context = new Promise((resolve) => (giveContext = (c) => resolve(JSON.stringify(c))));
  }
  const kernel = abort.signal.aborted ? undefined : startKernel(o, cwd, kernelEnv, context);
  const tracking = o.tracking ? import("./run-tracking.js") : undefined;
  const creating = tracking?.then((t) => startNotebookRun(t, o, nb, input, redactParams(params, redactor), env));
  // Reading the parameters cell loads the TypeScript parser, which overlaps the boot too, but
  // only once tracking/ is loaded: the run must not wait for the parser.
  const injecting = (tracking ?? Promise.resolve()).catch(() => undefined).then(() => injectInto(nb, params));
  // Both are awaited below; meanwhile a failure must not count as an unhandled rejection.
  creating?.catch(() => undefined);
  injecting.catch(() => undefined);

  let run: NotebookRun | undefined;
  if (creating) {
    try {
      run = await creating;
    } catch (e) {
      giveContext({});
      console.error(redactor.text(`error: could not start the MLflow run: ${(e as Error).message}`));
      await stopKernel(await kernel?.client);
      return EXIT_FAILED;
    }
    giveContext({ MLFLOW_RUN_ID: run.runId, MLFLOW_TRACKING_URI: run.trackingUri, MLFLOW_EXPERIMENT_ID: run.experimentId });
    Object.assign(meta, { run_id: run.runId, experiment_id: run.experimentId, tracking_uri: redactor.uri(run.trackingUri) });
  }
  try {
    return await executeAndReport(o, nb, { output, meta, run, injecting, save, redactor }, kernel, abort, setClient);
  } catch (e) {
    // Something unforeseen (a full disk, a bug): the run must not stay RUNNING.
    await run?.finish("FAILED", []).catch(() => {});
    throw e;
  }
}

/** Creates the RUNNING run with its params (tracking/ is loaded after the spawn: see the header). */
async function startNotebookRun(
  { NotebookRun, notebookExperiment }: typeof import("./run-tracking.js"),
  o: RunNotebookOptions,
  nb: INotebookContent,
  input: string,
  params: Parameters,
  env: NodeJS.ProcessEnv,
): Promise<NotebookRun> {
  // A notebook that names its experiment (`%mlflow_experiment NAME`) gets its run there too,
  // so its `%%mlflow_run` children and `%mlflow_compare` all see one experiment.
  // With --experiment, that experiment wins: the notebook's %mlflow_experiment then changes
  // nothing (the kernel keeps every run of this execution in the outer run's experiment).
  let experiment = o.experiment;
  const named = notebookExperiment(nb);
  if (experiment === undefined && named !== undefined) {
    experiment = named;
    console.error(`note: tracking into experiment "${named}", named by the notebook's %mlflow_experiment (--experiment overrides)`);
  } else if (experiment !== undefined && named !== undefined && named !== experiment) {
    console.error(
      `note: --experiment "${experiment}" wins over the notebook's %mlflow_experiment ${named}: every run of this execution goes to "${experiment}"`,
    );
  }
  return NotebookRun.start({
    experiment,
    notebookPath: input,
    runName: path.basename(input, ".ipynb"),
    params,
    env,
  });
}

function startKernel(o: RunNotebookOptions, cwd: string, env: NodeJS.ProcessEnv, input: Promise<string> | undefined): StartingKernel {
  const starting: StartingKernel = { client: Promise.resolve(undefined) };
  let compilerHandedOver = false;
  starting.client = KernelClient.start({
    cwd,
    env,
    input,
    argv: kernelArgv(o.kernelLog),
    interruptMode: "message",
    // The kernel's compiler starts now, beside the kernel, instead of once the kernel runs.
    // Only the first kernel: a restarted one starts its own.
    inherit: () => (compilerHandedOver ? undefined : ((compilerHandedOver = true), compilerForKernel(cwd, env))),
  }).catch((e: Error) => {
    starting.error = e.message;
    return undefined;
  });
  return starting;
}

async function stopKernel(client: KernelClient | undefined): Promise<void> {
  if (!client) return;
  await client.shutdown({ timeout: 3000 }).catch(() => {});
  await client.close().catch(() => {});
}

interface Prepared {
  output: string;
  meta: Record<string, unknown>;
  run: NotebookRun | undefined;
  /** The parameters being written into `nb`: whether they went into a new first cell. */
  injecting: Promise<boolean>;
  save(): Promise<void>;
  redactor: Redactor;
}

async function executeAndReport(
  o: RunNotebookOptions,
  nb: INotebookContent,
  { output, meta, run, injecting, save, redactor }: Prepared,
  kernel: StartingKernel | undefined,
  abort: AbortController,
  setClient: (c: KernelClient) => void,
): Promise<number> {
  let client: KernelClient | undefined;
  let result: ExecuteNotebookResult | undefined;
  let stopping: Promise<void> = Promise.resolve();
  try {
    try {
      if (await injecting) {
        console.error(`note: ${o.input} has no cell tagged "parameters"; the parameters were injected in a new first cell`);
      }
      // Before any cell runs: the kernel reads the injected values from this file.
      await save();
    } finally {
      client = await kernel?.client;
    }
    if (!kernel || abort.signal.aborted) throw new Interrupted();
    if (client) {
      setClient(client);
      const { createProgress } = await import("./progress.js");
      // The run's HTML page is rendered after the last cell: load its renderer while the cells run.
      if (run) void import("./html/page.js").catch(() => {});
      result = await executeNotebook(nb, client, {
        allowErrors: o.allowErrors,
        timeoutSeconds: o.timeoutSeconds,
        signal: abort.signal,
        progress: createProgress(process.stderr),
        afterCell: throttled(save, 1000),
      });
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    result = {
      executed: 0,
      allowedErrors: [],
      stopped: {
        index: -1,
        reason: "interrupted",
        ename: "KeyboardInterrupt",
        evalue: "interrupted before the kernel was ready",
        traceback: [],
      },
    };
  } finally {
    // The kernel shuts down while the notebook is saved and the run finished: after the last
    // cell it adds nothing to either (what it logged itself it flushes before it exits).
    stopping = stopKernel(client);
  }

  const startError = kernel?.error;
  const status = runStatus(result, startError);
  const ended = new Date();
  Object.assign(meta, {
    end_time: ended.toISOString(),
    duration: (ended.getTime() - Date.parse(meta.start_time as string)) / 1000,
    status,
  });
  await save();

  let exit = status === "FINISHED" ? EXIT_OK : result?.stopped?.reason === "interrupted" ? EXIT_INTERRUPTED : EXIT_FAILED;
  const finishing = run ? runArtifacts(nb, output, redactor).then((artifacts) => run.finish(status, artifacts)) : undefined;
  finishing?.catch(() => undefined);
  // The kernel's log is complete once it has exited.
  await stopping;
  if (startError !== undefined) {
    console.error(redactor.text(`error: the kernel did not start: ${startError.trim()}${await kernelLogTail(o.kernelLog)}`));
  }
  if (result) report(nb, result, o.input, output, await kernelLogTail(o.kernelLog), redactor);

  if (run) {
    try {
      const { waiting } = (await finishing)!;
      console.log(redactor.text(run.describe(status)));
      if (waiting.length) {
        console.error(
          redactor.text(
            `warning: ${run.trackingUri} did not take ${waiting.join(", ")} in time: they wait in the spool, and \`tslab-mlflow sync\` (or the next kernel start) delivers them`,
          ),
        );
      }
      const names = redactor.redactedNames();
      if (names.length)
        console.error(`note: the values of ${names.join(", ")} were replaced by ${REDACTED} in what was uploaded to MLflow and printed`);
    } catch (e) {
      console.error(redactor.text(`error: MLflow: ${(e as Error).message}`));
      exit = exit === EXIT_OK ? EXIT_FAILED : exit;
    }
  }
  return exit;
}

function runStatus(result: ExecuteNotebookResult | undefined, startError: string | undefined): RunStatus {
  if (!result || startError !== undefined) return "FAILED";
  const stop = result.stopped?.reason;
  if (stop === "timeout" || stop === "interrupted") return "KILLED";
  if (stop) return "FAILED";
  return result.allowedErrors.some((f) => !f.expected) ? "FAILED" : "FINISHED";
}

/** Writes the parameters in; true when the notebook had no `parameters` cell (a new first cell). */
async function injectInto(nb: INotebookContent, params: Parameters): Promise<boolean> {
  if (!Object.keys(params).length) return false;
  return (await injectParameters(nb, params)).atTop;
}

/** A bad tracking URI is bad input: refuse it before anything starts. */
function checkTrackingUri(env: NodeJS.ProcessEnv): void {
  try {
    trackingUriKind(resolveTrackingUri(undefined, env));
  } catch (e) {
    if (e instanceof MlflowError) throw new InputError("BAD_OPTION", `bad MLFLOW_TRACKING_URI: ${e.message}`);
    throw e;
  }
}

/** Our kernel; with --kernel-log, through a shell that only redirects its output and execs it. */
function kernelArgv(kernelLog: string | undefined): string[] {
  const kernel = [process.execPath, CLI_MAIN, "kernel", "--connection-file", "{connection_file}"];
  if (kernelLog === undefined) return kernel;
  return ["/bin/sh", "-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1', "tslab-mlflow-kernel", path.resolve(kernelLog), ...kernel];
}

async function kernelLogTail(kernelLog: string | undefined): Promise<string> {
  if (kernelLog === undefined) return "";
  const text = await readFile(kernelLog, "utf8").catch(() => "");
  const tail = text.trim().split("\n").slice(-10).join("\n");
  return tail ? `\nLast lines of ${kernelLog}:\n${tail}` : "";
}

/**
 * The executed notebook, and the same as a standalone page: MLflow's UI previews `.html`
 * artifacts, and the page's static chart images show even where its scripts may not run.
 */
async function runArtifacts(nb: INotebookContent, output: string, redactor: Redactor): Promise<{ name: string; text: string }[]> {
  // Both are made from one redacted copy: the local notebook keeps what the cells printed.
  const shared = redactNotebook(nb, redactor);
  const artifacts = [{ name: path.basename(output), text: serializeNotebook(shared) }];
  try {
    const { renderPage } = await import("./html/page.js");
    const page = await renderPage(shared, { title: path.basename(output, ".ipynb"), scripts: "inline" });
    artifacts.push({ name: `${path.basename(output, ".ipynb")}.html`, text: page.html });
  } catch (e) {
    console.error(redactor.text(`warning: the HTML page of the notebook was not logged: ${(e as Error).message}`));
  }
  return artifacts;
}

/** Progress saves at most once a second: rewriting a big notebook after every small cell adds up. */
function throttled(save: () => Promise<void>, ms: number): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < ms) return;
    await save();
    last = performance.now();
  };
}

/** Written beside the target and renamed, so a reader never sees half a notebook. */
async function saveNotebook(file: string, nb: INotebookContent): Promise<void> {
  await writeNotebook(file, nb);
}

function report(
  nb: INotebookContent,
  result: ExecuteNotebookResult,
  input: string,
  output: string,
  logTail: string,
  redactor: Redactor,
): void {
  // Tracebacks and cell lines may quote a secret: what this command prints passes the Redactor.
  const say = (text: string) => console.error(redactor.text(text));
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  const total = nb.cells.filter(isExecutable).length;
  const failures: CellFailure[] = [...result.allowedErrors.filter((f) => !f.expected), ...(result.stopped ? [result.stopped] : [])];
  for (const f of failures) {
    const cell = nb.cells[f.index];
    if (!cell) {
      say(`\n${f.evalue}`);
      continue;
    }
    const what =
      f.reason === "timeout"
        ? "timed out"
        : f.reason === "interrupted"
          ? "was interrupted"
          : f.reason === "kernel died"
            ? "killed the kernel"
            : "failed";
    say(`\nCell ${f.index} ${what}: ${firstLine(cell)}`);
    const traceback = f.traceback.length ? f.traceback.join("\n") : `${f.ename}: ${f.evalue}`;
    const text = process.stderr.isTTY ? traceback : stripAnsi(traceback);
    say(text.includes(f.evalue) || !f.evalue ? text : `${f.ename}: ${f.evalue}\n${text}`);
    if (f.reason === "kernel died" && logTail) say(logTail);
  }
  const stopped =
    result.stopped && result.stopped.index >= 0
      ? `; stopped at cell ${result.stopped.index}, ${total - result.executed} cell(s) not executed`
      : "";
  console.error(`\nExecuted ${result.executed} of ${total} code cells of ${rel(input)}${stopped}. Wrote ${rel(output)}`);
}

/** The kernel runs in `cwd`: a directory it cannot enter or read is bad input, refused before anything starts. */
async function checkCwd(cwd: string, given: string | undefined): Promise<void> {
  const what = given !== undefined ? `--cwd ${JSON.stringify(given)}` : `the notebook's directory ${cwd}`;
  const s = await stat(cwd).catch(() => undefined);
  if (!s?.isDirectory()) throw new InputError("BAD_OPTION", `bad ${what}: not a directory`);
  try {
    await access(cwd, constants.R_OK | constants.X_OK);
  } catch (e) {
    throw new InputError(
      "BAD_OPTION",
      `bad ${what}: not usable as the kernel's working directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a directory you can read and enter`,
    );
  }
}

/** Params as logged to MLflow: a secret-named parameter's value hidden, secrets inside values replaced. */
function redactParams(params: Parameters, r: Redactor): Parameters {
  const out: Parameters = {};
  for (const [k, v] of Object.entries(params)) {
    const value = looksSecret(k) && v !== null && v !== "" ? REDACTED : r.deep(v);
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
