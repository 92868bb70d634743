// `%mlflow_experiment NAME`: make NAME (or an id) the session's experiment, creating it if missing.

import type { Magic } from "./registry.js";
import { MagicError } from "./registry.js";
import type { MagicContext } from "./context.js";

export const mlflowExperiment: Magic<MagicContext> = {
  name: "mlflow_experiment", kind: "line", summary: "Set the session's experiment (created when missing).",
  usage: "NAME", options: {}, maxPositionals: 1,
  async run(inv, ctx) {
    const name = inv.positionals[0];
    if (!name) throw new MagicError("BAD_ARGUMENT", "%mlflow_experiment needs an experiment name, e.g. %mlflow_experiment my-sweep.");
    const exp = await ctx.session.resolveExperiment(name);
    ctx.session.setExperiment(exp);
    ctx.cell.display({ "text/plain": `Experiment ${exp.name} (id ${exp.experimentId}) in ${ctx.session.tracking.uri}` });
  },
};
