// `%%mlflow_run`: the cell becomes an MLflow run. The run is created, the body runs through
// the kernel's executor, and the run ends FINISHED, FAILED (error saved as an artifact) or
// KILLED (interrupted) — in a `finally`, so it is never left RUNNING, whatever logging does.
// Logging failures are warnings; the user's own exception is shown exactly as without the magic.
// The run's live panel (run-panel-live.ts) is the cell's first output; its last frame is the
// run's summary (with the panel off, that summary alone is shown when the run ends).

import type { RunResult } from "../kernel/extensions.js";
import type { RunStatus } from "../tracking/index.js";
import type { ActiveRun } from "./active-run.js";
import { cellParams, paramString } from "./cell-params.js";
import { parseKeyValues, type MagicContext } from "./context.js";
import { errorText, notebookSnapshot, outputArtifacts, type CellOutput } from "./outputs.js";
import { notebookParameters } from "./papermill.js";
import { MagicError, type Invocation, type Magic, type OptionSchema } from "./registry.js";
import { runWithBegin } from "./run-begin.js";
import { checkParams, checkStartRun } from "./run-options-check.js";
import type { StartRunOptions } from "./session.js";
import { LivePanel, type PanelShow } from "./run-panel-live.js";
import { panelMarker } from "./run-panel-view.js";
import { notebookDir, notebookPath } from "./system-tags.js";

const options = {
  experiment: { type: "string", value: "E", description: "experiment name or id (created when missing)" },
  nested: { type: "boolean", description: "child of the run open around this cell (required to exist)" },
  param: { type: "string", multiple: true, value: "k=v", description: "log a param" },
  tag: { type: "string", multiple: true, value: "k=v", description: "set a tag" },
  description: { type: "string", value: "TEXT", description: "the run's description (mlflow.note.content)" },
  "no-outputs": { type: "boolean", description: "do not save the cell's outputs as artifacts" },
  resume: { type: "string", value: "RUN_ID", description: "continue an existing run instead of starting one" },
} as const satisfies OptionSchema;

export const mlflowRun: Magic<MagicContext, typeof options> = {
  name: "mlflow_run",
  kind: "cell",
  summary: "Run the cell as an MLflow run: FINISHED, FAILED or KILLED, with params, metrics, outputs and source logged.",
  usage: "[NAME] [--experiment E] [--nested] [--param k=v]... [--tag k=v]... [--description TEXT] [--no-outputs] [--resume RUN_ID]",
  maxPositionals: 1,
  options,

  check(inv) {
    checkedLine(inv);
  },

  async run(inv, ctx) {
    const { cell, session } = ctx;
    const v = inv.values;
    const body = inv.body ?? "";
    // Everything that can be refused is checked before a run exists, for every store alike.
    const { params, options: given } = checkedLine(inv);
    const options: StartRunOptions = {
      ...given,
      notebookPath: cell.notebookPath,
      cellId: cell.cellId,
      executionCount: cell.executionCount,
      cellScoped: true,
    };
    await session.attachOuterRun();
    if (options.nested && !session.activeRun()) {
      throw new MagicError(
        "BAD_OPTION",
        "--nested needs an open run to nest under, and none is open (no %%mlflow_run around it, no mlflow.startRun(), no MLFLOW_RUN_ID).",
      );
    }

    const started = performance.now();
    // Git state goes in with the run's creation: one write instead of two (sampled in the background after the first run).
    const gitTags = session.autolog.enabled("git")
      ? await session.git.tags(notebookDir({ notebookPath: cell.notebookPath, env: session.env }, ctx.host.cwd)).catch((err: unknown) => {
          session.warn(`git tags: ${(err as Error).message}`);
          return [];
        })
      : [];

    // The run is created by the first statement of the code the kernel runs, so only after the
    // cell compiled: a type or syntax error creates no run (see run-begin.ts).
    let creating: Promise<ActiveRun> | undefined;
    const display: PanelShow = (bundle, o) => cell.display(bundle, o);
    const begin = () =>
      (creating ??= session.startRun({ ...options, gitTags, display }).then((run) => {
        guard(session, "params", () => logParams(ctx, run, params, body));
        return run;
      }));
    const firstOutput = ctx.outputs().length;
    const result = await runWithBegin(cell, body, begin, session.redactor);
    if (!creating) return; // did not compile: the kernel showed why, and no run exists
    let run: ActiveRun;
    try {
      run = await creating;
    } catch (err) {
      // The cell already showed the error, unless it was interrupted while the run was made.
      if (cell.signal.aborted) session.warn(`The run was not created: ${(err as Error).message}`);
      return;
    }
    const status: RunStatus = cell.signal.aborted ? "KILLED" : result.status === "ok" ? "FINISHED" : "FAILED";
    // The summary is the panel's last frame (or, with the panel off, one frame shown now).
    const panel = run.panel ?? new LivePanel(run, session.panelOptions(display));
    try {
      // Shown before the artifacts are taken: publishing it also publishes the stream text the
      // kernel still batches (a console.log as the cell's last statement), which must be in them.
      if (run.panel) panel.finish(status, performance.now() - started);
      else panel.summary(status, performance.now() - started);
    } finally {
      await guardAsync(session, "run artifacts", async () => {
        await saveArtifacts(ctx, run, body, result, firstOutput, panelMarker(panel.displayId), v["no-outputs"] === true);
      });
      await session.endRun(status, run);
    }
  },
};

/** The magic line's params and run options, every value checked (run-options-check.ts). */
function checkedLine(inv: Invocation<typeof options>): { params: { key: string; value: string }[]; options: StartRunOptions } {
  const v = inv.values;
  const params = parseKeyValues(v.param, "--param");
  checkParams(params);
  const options: StartRunOptions = {
    runName: inv.positionals[0],
    experiment: v.experiment,
    nested: v.nested === true,
    tags: parseKeyValues(v.tag, "--tag"),
    description: v.description,
    resume: v.resume,
  };
  checkStartRun(options);
  return { params, options };
}

/** --param values win over literal consts, which win over papermill parameters. */
function logParams(ctx: MagicContext, run: ActiveRun, given: { key: string; value: string }[], body: string): void {
  const { session, cell } = ctx;
  const all = new Map<string, string>();
  if (session.autolog.enabled("params")) {
    for (const [k, val] of notebookParameters(notebookPath({ notebookPath: cell.notebookPath, env: session.env }), ctx.host.cwd))
      all.set(k, paramString(val));
    for (const p of cellParams(body)) all.set(p.name, paramString(p.value));
  }
  for (const p of given) all.set(p.key, p.value);
  for (const [k, val] of all) {
    try {
      run.logParam(k, val);
    } catch (err) {
      session.warn(`param ${k} not logged: ${(err as Error).message}`);
    }
  }
}

async function saveArtifacts(
  ctx: MagicContext,
  run: ActiveRun,
  body: string,
  result: RunResult | undefined,
  firstOutput: number,
  /** Marks the outputs of the run's own panel (not the cell's). */
  panelMark: string,
  noOutputs: boolean,
): Promise<void> {
  const { session } = ctx;
  const redact = (s: string) => session.redactor.text(s);
  // Uploads are tracked by the run: its end waits for them alongside the logged data.
  if (result?.status === "error") void run.upload("error.txt", errorText(result.error));
  if (session.autolog.enabled("source")) void run.upload("source.ts", body);
  if (session.autolog.enabled("outputs") && !noOutputs) {
    // The cell's own outputs: from its start, without the run's panel (which is not the cell's).
    const isPanel = (o: CellOutput) => o.output_type === "display_data" && String(o.data["text/html"] ?? "").includes(panelMark);
    const outputs = ctx
      .outputs()
      .slice(firstOutput)
      .filter((o) => !isPanel(o));
    const files = await outputArtifacts(outputs, { redact, renderSvg: ctx.renderSvg, warn: (m) => session.warn(m) });
    for (const f of files) if (f.path !== "error.txt") void run.upload(f.path, f.data);
  }
  if (session.autolog.enabled("notebook")) {
    // Panels as they show by now, not as first displayed.
    session.refreshPanelOutputs([...session.cells.flatMap((c) => c.outputs), ...ctx.outputs()]);
    const current = {
      source: ctx.cell.code,
      executionCount: ctx.cell.executionCount,
      cellId: ctx.cell.cellId,
      outputs: [...ctx.outputs()],
    };
    void run.upload("notebook.ipynb", notebookSnapshot([...session.cells, current], redact));
  }
}

function guard(session: MagicContext["session"], what: string, f: () => void): void {
  try {
    f();
  } catch (err) {
    session.warn(`${what}: ${(err as Error).message}`);
  }
}

async function guardAsync(session: MagicContext["session"], what: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (err) {
    session.warn(`${what}: ${(err as Error).message}`);
  }
}
