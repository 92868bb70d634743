// Metric files: one line per point, values in Python's float format. A run's metric lines are
// `<timestamp> <value> <step>` (2 fields in old stores, no step), or, from MLflow 3 clients,
// `<timestamp> <value> <step> <dataset_name> <dataset_digest>`. A LoggedModel's lines (under
// `<exp>/models/<id>/metrics/`) carry the run: `<timestamp> <value> <step> <run_id>[ <dataset_name> <dataset_digest>]`.
// Reading picks the latest point as MLflow does: the maximum (step, timestamp, value).

import type { Metric } from "../entities.js";
import { corrupt } from "./fsio.js";
import { formatPyFloat, parsePyFloat } from "./pyfloat.js";

/**
 * The line we write for a run's point: always the 3-field form. MLflow 2.x's reader refuses
 * any other field count (the whole run becomes unreadable), and MLflow 3.4's reader returns
 * step 0 for the 5-field form, so a point's dataset fields are not written to run files.
 */
export const metricLine = (m: Metric): string => `${m.timestamp} ${formatPyFloat(m.value)} ${m.step}\n`;

/** Which file the lines come from: a run's `metrics/` or a LoggedModel's. */
export type MetricFileKind = "run" | "model";

/** A LoggedModel's point and the run that logged it. */
export interface ModelMetricPoint {
  metric: Metric;
  runId: string;
}

const INT = /^-?\d+$/;
const FIELD_COUNTS: Record<MetricFileKind, readonly number[]> = { run: [2, 3, 5], model: [4, 6] };
const FORMS: Record<MetricFileKind, string> = {
  run: "'<timestamp> <value> <step>' or '<timestamp> <value> <step> <dataset_name> <dataset_digest>'",
  model: "'<timestamp> <value> <step> <run_id>' or '<timestamp> <value> <step> <run_id> <dataset_name> <dataset_digest>'",
};

function parseLines(text: string, key: string, file: string, kind: MetricFileKind): { metric: Metric; runId?: string }[] {
  const points: { metric: Metric; runId?: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const parts = line.split(" ");
    const bad = (why: string) => corrupt(file, `line ${i + 1} ${JSON.stringify(line)}: ${why}`);
    if (!FIELD_COUNTS[kind].includes(parts.length)) throw bad(`expected ${FORMS[kind]}, found ${parts.length} fields`);
    if (!INT.test(parts[0]!)) throw bad(`timestamp ${JSON.stringify(parts[0])} is not an integer`);
    const value = parsePyFloat(parts[1]!);
    if (value === undefined) throw bad(`value ${JSON.stringify(parts[1])} is not a number`);
    const stepText = parts.length >= 3 ? parts[2]! : "0";
    if (!INT.test(stepText)) throw bad(`step ${JSON.stringify(stepText)} is not an integer`);
    const metric: Metric = { key, value, timestamp: Number(parts[0]), step: Number(stepText) };
    // The dataset fields are the last two of the longer form of either kind.
    if (parts.length === 5 || parts.length === 6) {
      metric.datasetName = parts[parts.length - 2]!;
      metric.datasetDigest = parts[parts.length - 1]!;
    }
    points.push(kind === "model" ? { metric, runId: parts[3]! } : { metric });
  }
  return points;
}

/** The points of a run's metric file, in logging order. */
export function parseMetricFile(text: string, key: string, file: string): Metric[] {
  return parseLines(text, key, file, "run").map((p) => p.metric);
}

/** The points of a LoggedModel's metric file, each with the model id and the run that logged it. */
export function parseModelMetricFile(text: string, key: string, file: string, modelId: string): ModelMetricPoint[] {
  return parseLines(text, key, file, "model").map((p) => ({ metric: { ...p.metric, modelId }, runId: p.runId! }));
}

// Python compares (step, timestamp, value) tuples; NaN is never greater, like in Python.
function greater(a: Metric, b: Metric): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value !== b.value && a.value > b.value;
}

export function latestPoint(points: Metric[]): Metric | undefined {
  let best: Metric | undefined;
  for (const p of points) if (!best || greater(p, best)) best = p;
  return best;
}
