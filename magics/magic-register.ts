// `%mlflow_register MODEL_URI NAME [--alias A]... [--tag k=v]... [--description T]`: registers a
// logged model (`runs:/…`, `models:/<model_id>` on MLflow 3, or an artifact URI) as a new version
// of NAME, creating the registered model when missing, and points the given aliases at it.

import type { MagicContext } from "./context.js";
import { parseKeyValues } from "./context.js";
import { MagicError, type Magic, type OptionSchema } from "./registry.js";

const options = {
  alias: { type: "string", multiple: true, value: "A", description: "point this alias (e.g. Champion) at the new version" },
  tag: { type: "string", multiple: true, value: "k=v", description: "a tag on the new version" },
  description: { type: "string", value: "T", description: "the version's description" },
} as const satisfies OptionSchema;

export const mlflowRegister: Magic<MagicContext, typeof options> = {
  name: "mlflow_register",
  kind: "line",
  summary: "Register a logged model as a new version of a registered model.",
  usage: "MODEL_URI NAME [--alias A]... [--tag k=v]... [--description T]",
  options,
  maxPositionals: 2,
  async run(inv, ctx) {
    const [uri, name] = inv.positionals;
    if (!uri || !name)
      throw new MagicError(
        "BAD_ARGUMENT",
        "%mlflow_register needs a model URI and a registered model name, e.g. %mlflow_register runs:/<run_id>/model my-model --alias Champion.",
      );
    const tags = parseKeyValues(inv.values.tag, "--tag");
    const aliases = inv.values.alias ?? [];
    for (const a of aliases) {
      // MLflow's alias rule, checked before anything is registered: a refused alias must not leave a version behind.
      if (!/^[\w-]+$/.test(a) || /^(v\d+|latest)$/i.test(a))
        throw new MagicError(
          "BAD_ARGUMENT",
          `Bad --alias ${JSON.stringify(a)}: an alias is letters, digits, '_' and '-', and neither "latest" nor "v<number>" (e.g. Champion).`,
        );
    }
    const client = ctx.session.tracking.client;
    const mv = await client.registerModel(uri, name, { description: inv.values.description, tags });
    for (const a of aliases) await client.setRegisteredModelAlias(name, a, mv.version);
    const text = `Registered ${name} version ${mv.version} from ${uri}${aliases.length ? ` (aliases: ${aliases.join(", ")})` : ""}.`;
    ctx.cell.display({ "text/plain": text });
  },
};
