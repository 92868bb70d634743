// The kernel extension that brings magics and MLflow into the kernel: it routes `%`/`%%` cells
// to the registry, injects the `mlflow` and `charts` globals, records every cell's outputs
// (for run artifacts and notebook snapshots) and ends open runs at shutdown.

import { outputFromIopub, type Cell, type KernelExtension, type KernelHost } from "../kernel/extensions.js";
import { chartsGlobal, loadCharts, renderSvg } from "./charts-lazy.js";
import { createMlflowApi, CHARTS_DECLARATION, MLFLOW_DECLARATION } from "./api.js";
import type { MagicContext } from "./context.js";
import { HookRegistry } from "./hooks/index.js";
import { lsmagic, help } from "./magic-help.js";
import { mlflowAutolog } from "./magic-autolog.js";
import { mlflowCompare } from "./magic-compare.js";
import { mlflowExperiment } from "./magic-experiment.js";
import { mlflowRun } from "./magic-run.js";
import { mlflowRuns } from "./magic-runs.js";
import { mlflowStatus } from "./magic-status.js";
import { mlflowRegister } from "./magic-register.js";
import { mlflowAlias } from "./magic-alias.js";
import { mlflowModels } from "./magic-models.js";
import { mlflowPredict } from "./magic-predict.js";
import type { CellOutput } from "./outputs.js";
import { hasMagic, parseCell, type MagicCall } from "./parse.js";
import { MagicRegistry, type AnyMagic, type Invocation } from "./registry.js";
import { MlflowSession } from "./session.js";
import { Redactor } from "./redact.js";
import { openTracking } from "./open-tracking.js";
import { completeMagic, inspectMagic } from "./magic-introspection.js";
import { BEGIN_DECLARATION, BEGIN_GLOBAL, beginGlobal } from "./run-begin.js";
import { applyRunContext } from "./run-context.js";
import type { Tracking } from "./tracking-port.js";

export const MAGICS: AnyMagic<MagicContext>[] = [
  mlflowRun,
  mlflowExperiment,
  mlflowStatus,
  mlflowRuns,
  mlflowCompare,
  mlflowAutolog,
  mlflowRegister,
  mlflowAlias,
  mlflowModels,
  mlflowPredict,
  lsmagic,
  help,
];

export interface MlflowExtensionOptions {
  env?: Record<string, string | undefined>;
  /** A ready tracking connection (tests, embedding); default: MLFLOW_TRACKING_URI or ./mlruns. */
  tracking?: Tracking;
}

/** A magic's refusal or a tracking error as a tidy error output: the message, no JS stack. */
function errorContent(err: unknown) {
  const e = err as Error & { code?: string };
  const known = ["MagicError", "MlflowError", "ChartError"].includes(e?.name);
  if (!known) return err;
  const evalue = e.message;
  return { ename: e.name, evalue, traceback: [`${e.name}${e.code ? ` [${e.code}]` : ""}: ${evalue}`] };
}

export function mlflowExtension(options: MlflowExtensionOptions = {}): KernelExtension {
  const env = options.env ?? process.env;
  const registry = new MagicRegistry<MagicContext>().register(...MAGICS);
  let host: KernelHost;
  let session: MlflowSession | undefined;
  let startError: unknown;
  let outputs: CellOutput[] = [];

  const ready = (): MlflowSession => {
    if (!session) throw startError ?? new Error("The MLflow extension is not active.");
    return session;
  };

  /**
   * The cell as magics see it: what they display, stream or report as errors passes the
   * session's Redactor (status tables, summaries, error messages quoting a value or a URI).
   * The user's own code, run through `cell.run`, publishes as it would without magics.
   */
  function redactingCell(cell: Cell): Cell {
    const r = session?.redactor;
    if (!r) return cell;
    const text = (s: string) => r.text(s);
    const bundle = (b: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(b).map(([k, v]) => [
          k,
          (typeof v === "string" && !k.startsWith("image/")) || k === "image/svg+xml" ? text(v as string) : v,
        ]),
      );
    return Object.create(cell, {
      display: { value: (b: Parameters<Cell["display"]>[0], o?: Parameters<Cell["display"]>[1]) => cell.display(bundle(b) as typeof b, o) },
      stream: { value: (name: "stdout" | "stderr", t: string) => cell.stream(name, text(t)) },
      error: {
        value: (err: unknown) => {
          const c = errorContent(err) as { ename?: string; evalue?: string; traceback?: string[] };
          if (c && typeof c === "object" && typeof c.evalue === "string" && Array.isArray(c.traceback)) {
            cell.error({ ename: c.ename ?? "Error", evalue: text(c.evalue), traceback: c.traceback.map(text) });
          } else if (err instanceof Error) {
            cell.error(Object.assign(new Error(text(err.message)), { name: err.name, stack: text(err.stack ?? "") }));
          } else cell.error(err);
        },
      },
      // Methods of the kernel's cell object need it as `this`.
      run: { value: cell.run.bind(cell) },
      input: { value: cell.input.bind(cell) },
    }) as Cell;
  }

  async function runMagic(call: MagicCall, body: string | undefined, cell: Cell): Promise<void> {
    if (call.help) {
      cell.display({ "text/plain": registry.help(call.name) });
      return;
    }
    const magic = registry.resolve(call);
    const inv: Invocation = registry.parse(magic, call, body);
    const ctx: MagicContext = { cell, host, session: ready(), registry, outputs: () => outputs, renderSvg };
    await magic.run(inv, ctx);
  }

  return {
    name: "mlflow",

    async activate(h) {
      host = h;
      try {
        // The outer run of `tslab-mlflow run` may arrive on stdin after the kernel started.
        await applyRunContext(env, (m) => h.log(m));
        const tracking = options.tracking ?? (await openTracking(env, (m) => (session ? session.warn(m) : h.log(m))));
        session = new MlflowSession(tracking, { env, renderSvg, log: (m) => h.log(m) });
        await session.attachOuterRun();
      } catch (err) {
        // A bad MLFLOW_TRACKING_URI must not stop the kernel: magics report it when used.
        startError = err;
        h.log(new Redactor(env).text(`MLflow tracking unavailable: ${(err as Error).message}`));
      }
      const s = session;
      if (s) {
        // Library hooks install when a cell first loads their library, never before: a notebook
        // that never imports TensorFlow.js does not pay for loading it.
        const hooks = new HookRegistry(
          { activeRun: () => s.activeRun(), enabled: () => s.autolog.enabled("metrics"), warn: (m) => s.warn(m) },
          h.cwd,
        );
        h.onRequire((id, exports) => hooks.loaded(id, exports));
      }
      const api = s
        ? createMlflowApi(s)
        : new Proxy(
            {},
            {
              get: () => {
                throw startError;
              },
            },
          );
      h.defineGlobal("mlflow", api, MLFLOW_DECLARATION);
      h.defineGlobal("charts", chartsGlobal, CHARTS_DECLARATION);
      h.defineGlobal(BEGIN_GLOBAL, beginGlobal, BEGIN_DECLARATION);
      // Warm up charts/ while the kernel is idle, never under a running cell: loading Vega
      // costs ~0.5 s of CPU, which would slow the type-checking of cells run back to back
      // (`tslab-mlflow run`, "Run All") on a small machine.
      let warming: NodeJS.Timeout | undefined;
      const warmChartsWhenIdle = () => {
        clearTimeout(warming);
        warming = setTimeout(() => void loadCharts().catch(() => undefined), 1500).unref();
      };
      warmChartsWhenIdle();
      h.onCellStart(() => {
        clearTimeout(warming);
        outputs = [];
      });
      // What artifacts and snapshots are made of: each output as its iopub message becomes one.
      h.onOutput((_o, _cell, message) => {
        const nbo = message && outputFromIopub(message.msg_type, message.content);
        if (nbo) outputs.push(nbo);
      });
      h.onCellEnd((cell) => {
        warmChartsWhenIdle();
        if (s) s.warnTo = undefined;
        if (cell.silent || !cell.storeHistory) return;
        s?.cells.push({ source: cell.code, executionCount: cell.executionCount, cellId: cell.cellId, outputs });
      });
      h.onShutdown(async () => {
        await s?.close();
      });
    },

    async execute(kernelCell) {
      // Warnings (e.g. a delivery failure) go to this cell's stderr until it ends.
      if (session) session.warnTo = (text) => kernelCell.stream("stderr", text);
      if (!hasMagic(kernelCell.code)) return false;
      const cell = redactingCell(kernelCell);
      try {
        // One validation of every magic line, before anything runs or is sent.
        const parsed = parseCell(cell.code);
        // Resolve and parse every magic first: a bad one stops the cell before anything runs.
        for (const call of [...parsed.lineMagics, ...(parsed.cellMagic ? [parsed.cellMagic] : [])]) {
          if (call.help) registry.help(call.name);
          else {
            const magic = registry.resolve(call);
            magic.check?.(registry.parse(magic, call, call.kind === "cell" ? parsed.code : undefined));
          }
        }
        for (const call of parsed.lineMagics) await runMagic(call, undefined, cell);
        if (parsed.cellMagic) await runMagic(parsed.cellMagic, parsed.code, cell);
        else if (parsed.code.trim()) await cell.run(parsed.code);
      } catch (err) {
        cell.error(errorContent(err));
      }
      return true;
    },

    complete(code, cursorPos) {
      return completeMagic(registry, code, cursorPos);
    },

    inspect(code, cursorPos) {
      return inspectMagic(registry, code, cursorPos);
    },
  };
}
