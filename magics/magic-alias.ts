// `%mlflow_alias NAME ALIAS VERSION` points an alias (Champion, Challenger, …) at a version of
// a registered model; `%mlflow_alias NAME ALIAS --delete` removes it.

import type { MagicContext } from "./context.js";
import { MagicError, type Magic, type OptionSchema } from "./registry.js";

const options = {
  delete: { type: "boolean", description: "delete the alias instead of setting it" },
} as const satisfies OptionSchema;

export const mlflowAlias: Magic<MagicContext, typeof options> = {
  name: "mlflow_alias",
  kind: "line",
  summary: "Point an alias of a registered model at a version, or delete it.",
  usage: "NAME ALIAS VERSION | NAME ALIAS --delete",
  options,
  maxPositionals: 3,
  async run(inv, ctx) {
    const [name, alias, version] = inv.positionals;
    const del = inv.values.delete === true;
    if (!name || !alias || (!del && !version))
      throw new MagicError(
        "BAD_ARGUMENT",
        "%mlflow_alias needs a model name, an alias and a version (e.g. %mlflow_alias my-model Champion 3), or --delete instead of the version.",
      );
    if (del && version)
      throw new MagicError(
        "BAD_ARGUMENT",
        `%mlflow_alias --delete takes no version (got ${JSON.stringify(version)}): %mlflow_alias ${name} ${alias} --delete.`,
      );
    if (version !== undefined && !/^\d+$/.test(version))
      throw new MagicError("BAD_ARGUMENT", `Bad version ${JSON.stringify(version)}: a model version is a whole number, e.g. 3.`);
    const client = ctx.session.tracking.client;
    if (del) {
      await client.deleteRegisteredModelAlias(name, alias);
      ctx.cell.display({ "text/plain": `Deleted alias ${alias} of ${name}.` });
      return;
    }
    await client.setRegisteredModelAlias(name, alias, version!);
    ctx.cell.display({ "text/plain": `${name}@${alias} -> version ${version}.` });
  },
};
