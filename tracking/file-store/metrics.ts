// Metric files: one `<timestamp> <value> <step>` line per point, values in Python's float
// format. Reading picks the latest point as MLflow does: the maximum (step, timestamp, value).

import type { Metric } from "../entities.js";
import { corrupt } from "./fsio.js";
import { formatPyFloat, parsePyFloat } from "./pyfloat.js";

export const metricLine = (m: Metric): string => `${m.timestamp} ${formatPyFloat(m.value)} ${m.step}\n`;

const INT = /^-?\d+$/;

export function parseMetricFile(text: string, key: string, file: string): Metric[] {
  const points: Metric[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    // MLflow writes 3 fields; old stores have 2 (no step), model metrics a 4th (run id).
    const parts = line.split(" ");
    const bad = (why: string) => corrupt(file, `line ${i + 1} ${JSON.stringify(line)}: ${why}`);
    if (parts.length < 2 || parts.length > 4) throw bad(`expected '<timestamp> <value> <step>', found ${parts.length} fields`);
    if (!INT.test(parts[0]!)) throw bad(`timestamp ${JSON.stringify(parts[0])} is not an integer`);
    const value = parsePyFloat(parts[1]!);
    if (value === undefined) throw bad(`value ${JSON.stringify(parts[1])} is not a number`);
    const stepText = parts.length >= 3 ? parts[2]! : "0";
    if (!INT.test(stepText)) throw bad(`step ${JSON.stringify(stepText)} is not an integer`);
    points.push({ key, value, timestamp: Number(parts[0]), step: Number(stepText) });
  }
  return points;
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
