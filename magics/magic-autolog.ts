// `%mlflow_autolog on|off [--what params,metrics,...]`: choose what %%mlflow_run records by itself,
// and whether runs show a live panel (`--what panel`).

import { AUTOLOG_PARTS, parseParts } from "./autolog.js";
import { MagicError, type Magic, type OptionSchema } from "./registry.js";
import type { MagicContext } from "./context.js";

const options = {
  what: { type: "string", multiple: true, value: AUTOLOG_PARTS.join(","), description: "parts to switch (default: all)" },
} as const satisfies OptionSchema;

export const mlflowAutolog: Magic<MagicContext, typeof options> = {
  name: "mlflow_autolog",
  kind: "line",
  summary: "Turn autologging on or off, entirely or for some parts.",
  usage: "on|off [--what PARTS]",
  maxPositionals: 1,
  options,
  async run(inv, ctx) {
    const mode = inv.positionals[0];
    if (mode !== undefined && mode !== "on" && mode !== "off")
      throw new MagicError("BAD_ARGUMENT", `%mlflow_autolog takes on or off, not ${JSON.stringify(mode)}.`);
    const what = inv.values.what;
    const parts = what ? parseParts(what) : undefined;
    if (mode) ctx.session.autolog.set(mode === "on", parts);
    ctx.cell.display({ "text/plain": `Autologging:\n${ctx.session.autolog.describe()}` });
  },
};
