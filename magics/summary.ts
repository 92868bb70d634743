// Small pieces every run display shares (the run panel, %mlflow_runs, %mlflow_models,
// %mlflow_status): HTML escaping, number formatting, status colours, and the link to a run in
// MLflow's UI when the tracking server has one (http/https).

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The run's page in MLflow's UI, when the tracking URI is a server. */
export function runUrl(trackingUri: string, experimentId: string, runId: string): string | undefined {
  if (!/^https?:\/\//i.test(trackingUri)) return undefined;
  // A link never carries credentials (the browser asks for them when the server wants them).
  const base = trackingUri.replace(/^(https?:\/\/)[^/@]*@/i, "$1").replace(/\/+$/, "");
  return `${base}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
}

export const fmtValue = (v: number): string =>
  Number.isInteger(v) ? String(v) : Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v);

export const STATUS_COLOUR: Readonly<Record<string, string>> = {
  FINISHED: "#1a7f37",
  FAILED: "#cf222e",
  KILLED: "#9a6700",
  RUNNING: "#0969da",
};
export const statusColour = (status: string): string => STATUS_COLOUR[status] ?? "#888";
