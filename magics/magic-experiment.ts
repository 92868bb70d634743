// `%mlflow_experiment NAME`: make NAME (or an id) the session's experiment, creating it if missing.
// Under an outer run (`tslab-mlflow run`, an MLflow project's run) the outer run's experiment
// wins: one execution is one experiment, so NAME is not created and a note says so.

import { validateExperimentName } from "../tracking/index.js";
import type { Magic } from "./registry.js";
import { MagicError } from "./registry.js";
import type { MagicContext } from "./context.js";

export const mlflowExperiment: Magic<MagicContext> = {
  name: "mlflow_experiment",
  kind: "line",
  summary: "Set the session's experiment (created when missing).",
  usage: "NAME",
  options: {},
  maxPositionals: 1,
  check(inv) {
    const name = inv.positionals[0];
    if (name === undefined)
      throw new MagicError("BAD_ARGUMENT", "%mlflow_experiment needs an experiment name, e.g. %mlflow_experiment my-sweep.");
    validateExperimentName(name);
  },
  async run(inv, ctx) {
    mlflowExperiment.check!(inv);
    const name = inv.positionals[0]!;
    const { session } = ctx;
    await session.attachOuterRun();
    const outer = session.outerRun();
    if (outer) {
      const own = await session.tracking.store.getExperiment(outer.info.experimentId);
      if (name !== own.name && name !== own.experimentId) {
        ctx.cell.display({
          "text/plain":
            `Note: this session logs into run ${outer.runId}, opened outside the kernel (tslab-mlflow run or MLFLOW_RUN_ID), ` +
            `in experiment ${own.name} (id ${own.experimentId}); its runs stay there, so %mlflow_experiment ${name} changes nothing. ` +
            `Give tslab-mlflow run --experiment ${name} to run the notebook in ${name}.`,
        });
        session.setExperiment(own);
        return;
      }
    }
    const exp = await session.resolveExperiment(name);
    session.setExperiment(exp);
    ctx.cell.display({ "text/plain": `Experiment ${exp.name} (id ${exp.experimentId}) in ${session.tracking.uri}` });
  },
};
