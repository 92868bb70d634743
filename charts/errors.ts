// The one error type charts/ throws. Callers (the %mlflow_compare magic, a cell) match on
// `code`; the message names the bad value and lists what would be accepted.

export const CHART_ERROR_CODES = [
  "NO_RUNS", // nothing to compare
  "METRIC_NOT_FOUND", // a requested metric is logged by none of the runs
  "PARAM_NOT_FOUND", // a requested param is logged by none of the runs
  "NO_DATA", // the runs exist but carry nothing the chosen chart can draw
  "BAD_OPTION", // an option has a value outside what is accepted
  "BAD_INPUT", // the runs argument is not a list of runs
  "BAD_SPEC", // a spec handed to the renderer is not Vega or Vega-Lite
  "RENDER_TIMEOUT", // synchronous SVG rendering did not finish in time
  "RENDER_UNAVAILABLE", // synchronous SVG rendering cannot start (its worker is not built)
] as const;
export type ChartErrorCode = (typeof CHART_ERROR_CODES)[number];

export class ChartError extends Error {
  override name = "ChartError";
  constructor(
    readonly code: ChartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `a, b, c` — or `(none)` — for "accepted values" lists in messages. */
export function listOrNone(items: readonly string[]): string {
  return items.length === 0 ? "(none)" : items.join(", ");
}
