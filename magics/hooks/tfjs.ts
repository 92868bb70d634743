// TensorFlow.js: `model.fit` (and `fitDataset`) logs its parameters (epochs, batch size, optimizer, learning rate,
// validation split, loss) and, through a callback added beside the user's own, every epoch's
// metrics with step = epoch, plus the model summary as an artifact. Patched on LayersModel, so
// Sequential and functional models are both covered. Triggered by `@tensorflow/tfjs` and by
// the packages that re-export its LayersModel (`-node`, `-node-gpu`) or define it (`-layers`).

import type { HookContext, LibraryHook } from "./index.js";

const PATCHED = Symbol.for("tslab-mlflow.tfjs.fit");

interface TfLike {
  LayersModel?: { prototype: Record<string | symbol, unknown> };
  CustomCallback?: new (args: Record<string, unknown>) => unknown;
}
interface ModelLike {
  optimizer?: { getClassName?(): string; learningRate?: unknown };
  loss?: unknown;
  summary?(lineLength?: number, positions?: number[], printFn?: (msg: string) => void): void;
}
type FitArgs = { epochs?: number; batchSize?: number; validationSplit?: number; callbacks?: unknown } & Record<string, unknown>;

function fitParams(model: ModelLike, args: FitArgs): Record<string, string | number> {
  const p: Record<string, string | number> = { epochs: args.epochs ?? 1, batch_size: args.batchSize ?? 32 };
  if (args.validationSplit !== undefined) p.validation_split = args.validationSplit;
  const opt = model.optimizer;
  if (opt?.getClassName) p.optimizer_name = opt.getClassName();
  if (typeof opt?.learningRate === "number") p.learning_rate = opt.learningRate;
  const loss = model.loss;
  if (typeof loss === "string") p.loss = loss;
  else if (typeof loss === "function" && loss.name) p.loss = loss.name;
  return p;
}

export const tfjsHook: LibraryHook = {
  name: "tfjs",
  module: "@tensorflow/tfjs",
  triggers: /^@tensorflow\/tfjs(?:-node|-node-gpu|-layers)?(?:\/.*)?$/,
  install(lib: unknown, ctx: HookContext) {
    const tf = lib as TfLike;
    const proto = tf.LayersModel?.prototype;
    if (!proto || typeof proto.fit !== "function" || !tf.CustomCallback) throw new Error("LayersModel.prototype.fit not found");
    if (proto[PATCHED]) return;
    proto[PATCHED] = true;
    const Custom = tf.CustomCallback;
    // fit(x, y, args) and fitDataset(dataset, args): the same logging, args at a different place.
    for (const [method, argsAt] of [
      ["fit", 2],
      ["fitDataset", 1],
    ] as const) {
      const original = proto[method] as ((this: ModelLike, ...a: unknown[]) => Promise<unknown>) | undefined;
      if (typeof original !== "function") continue;
      proto[method] = function patched(this: ModelLike, ...a: unknown[]) {
        const run = ctx.activeRun();
        if (!run || run.isEnded || !ctx.enabled()) return original.apply(this, a);
        const args = (a[argsAt] ?? {}) as FitArgs;
        try {
          for (const [k, v] of Object.entries(fitParams(this, args))) {
            // A second fit in the same run may change epochs etc.: keep the first, as MLflow does.
            if (!run.params.has(k)) run.logParam(k, v);
          }
          if (this.summary) {
            const lines: string[] = [];
            this.summary(undefined, undefined, (l) => lines.push(l));
            void run.upload("model_summary.txt", lines.join("\n") + "\n");
          }
        } catch (err) {
          ctx.warn(`tfjs autolog params: ${(err as Error).message}`);
        }
        const logger = new Custom({
          onEpochEnd: async (epoch: number, logs?: Record<string, unknown>) => {
            try {
              for (const [k, v] of Object.entries(logs ?? {})) if (typeof v === "number") run.logMetric(k, v, epoch);
            } catch (err) {
              ctx.warn(`tfjs autolog metrics: ${(err as Error).message}`);
            }
          },
        });
        // tfjs converts plain callback configs only when none is an instance: make all instances.
        const given = args.callbacks == null ? [] : Array.isArray(args.callbacks) ? args.callbacks : [args.callbacks];
        const callbacks = given.map((c) =>
          typeof (c as { setModel?: unknown }).setModel === "function" ? c : new Custom(c as Record<string, unknown>),
        );
        const next = [...a];
        next[argsAt] = { ...args, callbacks: [...callbacks, logger] };
        return original.apply(this, next);
      };
    }
  },
};
