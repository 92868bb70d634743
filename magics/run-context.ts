// The outer run handed over on stdin. `tslab-mlflow run` starts the kernel before the MLflow
// run exists (the kernel's compiler is the slow part of a run, so it boots while the run is
// created), so it cannot put MLFLOW_RUN_ID in the kernel's environment. Instead it sets
// TSLAB_MLFLOW_RUN_CONTEXT=stdin and writes a JSON object with the run's variables to the
// kernel's stdin once the run exists, then closes it. EOF with nothing written: no outer run.

import { text as readText } from "node:stream/consumers";

/** The variables the context may set, and nothing else. */
export const RUN_CONTEXT_KEYS = ["MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID"] as const;

/** The environment variable that asks for the context, and its one accepted value. */
export const RUN_CONTEXT_VARIABLE = "TSLAB_MLFLOW_RUN_CONTEXT";

/**
 * With TSLAB_MLFLOW_RUN_CONTEXT=stdin, reads stdin to EOF and assigns the context's variables
 * into `env` (the kernel's process.env, so user code sees MLFLOW_RUN_ID as before). A bad
 * context or a bad entry of it is logged, naming the value, and ignored: the kernel keeps going.
 */
export async function applyRunContext(
  env: Record<string, string | undefined>,
  log: (line: string) => void,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<void> {
  const mode = env[RUN_CONTEXT_VARIABLE];
  if (mode === undefined || mode === "") return;
  // Read once: a process this kernel starts (a cell's own kernel, say) must not wait for it.
  delete env[RUN_CONTEXT_VARIABLE];
  if (mode !== "stdin") {
    log(`${RUN_CONTEXT_VARIABLE}=${JSON.stringify(mode)} is not understood (accepted: "stdin"); no run context read.`);
    return;
  }
  if (stdin.isTTY) {
    log(`${RUN_CONTEXT_VARIABLE}=stdin but stdin is a terminal; no run context read.`);
    return;
  }
  let text: string;
  try {
    text = await readText(stdin);
  } catch (e) {
    log(`The run context could not be read from stdin: ${(e as Error).message}; no outer run.`);
    return;
  }
  Object.assign(env, parseRunContext(text, log));
}

/** The valid entries of a context text; every bad part is logged and left out. */
export function parseRunContext(text: string, log: (line: string) => void): Record<string, string> {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    log(
      `Bad run context on stdin ${JSON.stringify(clip(text))}: not JSON; expected an object with ${RUN_CONTEXT_KEYS.join(", ")}. No outer run.`,
    );
    return {};
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    log(
      `Bad run context on stdin ${JSON.stringify(clip(text))}: expected a JSON object with ${RUN_CONTEXT_KEYS.join(", ")}. No outer run.`,
    );
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(RUN_CONTEXT_KEYS as readonly string[]).includes(key)) {
      log(`Bad run context key ${JSON.stringify(key)}: accepted keys are ${RUN_CONTEXT_KEYS.join(", ")}; ignored.`);
    } else if (typeof value !== "string" || value.trim() === "") {
      log(`Bad run context value ${key}=${clip(JSON.stringify(value) ?? String(value))}: expected a non-empty string; ignored.`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);
