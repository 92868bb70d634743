// What autologging records, and whether runs show a live panel, switched with
// `%mlflow_autolog on|off [--what ...]`. One `as const` list gives the accepted parts, their type
// and the error message for a bad one.

import { MagicError } from "./registry.js";

export const AUTOLOG_PARTS = ["params", "metrics", "outputs", "source", "notebook", "git", "panel"] as const;
export type AutologPart = (typeof AUTOLOG_PARTS)[number];

export const AUTOLOG_DESCRIPTIONS: Record<AutologPart, string> = {
  params: "--param values, literal top-level consts, papermill parameters",
  metrics: "library hooks (TensorFlow.js model.fit params and per-epoch metrics)",
  outputs: "display data, rich results, stdout/stderr as artifacts",
  source: "the cell's source as an artifact",
  notebook: "a .ipynb snapshot of the session's executed cells",
  git: "git commit and dirty flag tags",
  panel: "a live panel of each run (status, metrics with sparklines, params, pending delivery); off: only the summary at the end",
};

export class AutologSettings {
  private readonly on = new Set<AutologPart>(AUTOLOG_PARTS);

  enabled(part: AutologPart): boolean {
    return this.on.has(part);
  }

  set(enable: boolean, parts: readonly AutologPart[] = AUTOLOG_PARTS): void {
    for (const p of parts) enable ? this.on.add(p) : this.on.delete(p);
  }

  describe(): string {
    return AUTOLOG_PARTS.map((p) => `${this.on.has(p) ? "on " : "off"}  ${p.padEnd(8)}  ${AUTOLOG_DESCRIPTIONS[p]}`).join("\n");
  }
}

/** Parses `params,metrics` into parts, naming a bad one and listing the accepted. */
export function parseParts(list: readonly string[]): AutologPart[] {
  const parts = list
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of parts) {
    if (!(AUTOLOG_PARTS as readonly string[]).includes(p))
      throw new MagicError("BAD_ARGUMENT", `Unknown autolog part ${JSON.stringify(p)}. Accepted: ${AUTOLOG_PARTS.join(", ")}.`);
  }
  return parts as AutologPart[];
}
