// `%lsmagic` and `%help NAME`, generated from the registry's table.

import type { Magic } from "./registry.js";
import type { MagicContext } from "./context.js";

export const lsmagic: Magic<MagicContext> = {
  name: "lsmagic",
  kind: "line",
  summary: "List every magic with a one-line summary.",
  usage: "",
  options: {},
  async run(_inv, ctx) {
    ctx.cell.display({ "text/plain": ctx.registry.lsmagic() });
  },
};

export const help: Magic<MagicContext> = {
  name: "help",
  kind: "line",
  summary: "Show a magic's usage and options (also `%name?`).",
  usage: "NAME",
  options: {},
  maxPositionals: 1,
  async run(inv, ctx) {
    const name = inv.positionals[0];
    ctx.cell.display({ "text/plain": name ? ctx.registry.help(name) : ctx.registry.lsmagic() });
  },
};
