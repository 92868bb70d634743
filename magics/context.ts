// What every magic's `run` receives: the live cell (from the kernel's extension seam), the
// session's MLflow state, the registry (for help), and the outputs the cell has produced.

import type { Cell, KernelHost } from "../kernel/extensions.js";
import type { CellOutput } from "./outputs.js";
import { MagicError, type MagicRegistry } from "./registry.js";
import type { MlflowSession } from "./session.js";

export interface MagicContext {
  cell: Cell;
  host: KernelHost;
  session: MlflowSession;
  registry: MagicRegistry<MagicContext>;
  /** Outputs of the current cell so far, in nbformat's shape. */
  outputs(): readonly CellOutput[];
  /** Renders a Vega-Lite spec to SVG (charts/). */
  renderSvg(spec: unknown): Promise<string>;
}

/** Splits repeated `k=v` option values, naming a malformed one. */
export function parseKeyValues(values: unknown, option: string): { key: string; value: string }[] {
  const list = Array.isArray(values) ? (values as string[]) : values === undefined ? [] : [String(values)];
  return list.map((kv) => {
    const at = kv.indexOf("=");
    if (at <= 0) {
      throw new MagicError("BAD_ARGUMENT", `Bad ${option} ${JSON.stringify(kv)}: expected KEY=VALUE, e.g. ${option} lr=0.01.`);
    }
    return { key: kv.slice(0, at), value: kv.slice(at + 1) };
  });
}
