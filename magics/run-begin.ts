// Runs a `%%mlflow_run` body so that its run is created only once the body compiled. The
// kernel's seam runs code (compile, then execute) in one step and has no "compile only", so
// the code handed to it starts with one statement that creates the run: a type or syntax
// error stops the kernel before that statement, and no run exists for code that never ran.
// The statement sits on the magic's own line and the body keeps its lines, so tracebacks
// and type errors name the lines the user sees.

import type { Cell, RunResult } from "../kernel/extensions.js";
import type { Redactor } from "./redact.js";

/** The global the statement calls (defined by the extension, so cells type-check against it). */
export const BEGIN_GLOBAL = "__tslab_mlflow_run_begin";
export const BEGIN_DECLARATION = `declare const ${BEGIN_GLOBAL}: () => Promise<void>;`;
const STATEMENT = `await ${BEGIN_GLOBAL}();`;

/** What the statement does in the cell running now (nothing outside a %%mlflow_run cell). */
let current: (() => Promise<void>) | undefined;

/** The value of BEGIN_GLOBAL: starts the current cell's run. */
export function beginGlobal(): Promise<void> {
  return current ? current() : Promise.resolve();
}

/** A failure to create the run, as the cell shows it: the message, without our stack. */
class RunNotCreated extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
    this.stack = `${name}: ${message}`;
  }
}

/** The number of line breaks in `s`. */
const lineBreaks = (s: string) => s.split("\n").length - 1;

/**
 * Runs `body` (the tail of `cell.code`) after `begin`, which is called only if the body
 * compiled. `begin`'s failure becomes the cell's error, its message redacted.
 */
export async function runWithBegin(cell: Cell, body: string, begin: () => Promise<unknown>, redactor: Redactor): Promise<RunResult> {
  const prefix = cell.code.endsWith(body) ? cell.code.slice(0, cell.code.length - body.length) : "\n";
  const code = STATEMENT + "\n".repeat(Math.max(1, lineBreaks(prefix))) + body;
  current = async () => {
    current = undefined; // once
    try {
      await begin();
    } catch (err) {
      const e = err as Error;
      throw new RunNotCreated(e?.name || "Error", redactor.text(`The MLflow run was not created: ${e?.message ?? String(err)}`));
    }
  };
  try {
    return await cell.run(code);
  } finally {
    current = undefined;
  }
}
