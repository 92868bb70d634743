// Runs shaped as tracking/ returns them, and a small reader of the SVG vega renders, so
// tests can count the marks a chart drew.

import type { Metric, Run } from "../../tracking/entities.js";
import type { ComparedRun } from "../../charts/index.js";

export interface RunSpec {
  id: string;
  name?: string;
  start?: number;
  metrics?: Record<string, number>;
  params?: Record<string, string>;
  /** Full histories: metric -> values at steps 0, 1, 2, ... */
  history?: Record<string, number[]>;
}

export function run(s: RunSpec): Run {
  return {
    info: {
      runId: s.id,
      experimentId: "1",
      runName: s.name ?? "",
      userId: "tester",
      status: "FINISHED",
      startTime: s.start ?? 1_700_000_000_000,
      endTime: (s.start ?? 1_700_000_000_000) + 1000,
      artifactUri: `file:///tmp/mlruns/1/${s.id}/artifacts`,
      lifecycleStage: "active",
    },
    data: {
      metrics: Object.entries(s.metrics ?? {}).map(([key, value]) => ({ key, value, timestamp: 1_700_000_000_500, step: 0 })),
      params: Object.entries(s.params ?? {}).map(([key, value]) => ({ key, value })),
      tags: s.name ? [{ key: "mlflow.runName", value: s.name }] : [],
    },
  };
}

/** A run with full metric histories; its `data.metrics` hold the last point of each, as MLflow's do. */
export function compared(s: RunSpec): ComparedRun {
  const history: Record<string, Metric[]> = {};
  for (const [key, values] of Object.entries(s.history ?? {})) {
    history[key] = values.map((value, step) => ({ key, value, step, timestamp: 1_700_000_000_000 + step }));
  }
  const r = run(s);
  const lasts = Object.values(history)
    .filter((h) => h.length > 0)
    .map((h) => h[h.length - 1]);
  r.data.metrics = [...r.data.metrics.filter((m) => !(m.key in history)), ...lasts];
  return { run: r, history };
}

/** Deterministic shuffle (mulberry32), so a failing order can be reproduced. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface MarkGroup {
  /** vega mark type: rect, line, symbol, rule, text, ... */
  type: string;
  /** The mark's name (vega-lite's `marks`, `layer_1_marks`, ...). */
  name: string;
  /** Items drawn: the elements inside the mark's group. */
  items: string[];
}

/** The data marks (role-mark) in a vega SVG, with the elements each drew. */
export function markGroups(svg: string): MarkGroup[] {
  const groups: MarkGroup[] = [];
  const open = /<g class="mark-(\w+) role-mark ?([^"]*)"[^>]*>/g;
  for (let m; (m = open.exec(svg)); ) {
    const end = svg.indexOf("</g>", open.lastIndex);
    const body = svg.slice(open.lastIndex, end);
    groups.push({ type: m[1], name: m[2], items: body.match(/<(path|line|text|rect|circle)\b[^>]*?(\/>|>[^<]*<\/\1>)/g) ?? [] });
  }
  return groups;
}

/** How many items of a mark type were drawn, over all groups (a line chart has a group per line). */
export function countItems(svg: string, type: string, name?: string): number {
  return markGroups(svg)
    .filter((g) => g.type === type && (name === undefined || g.name === name))
    .reduce((n, g) => n + g.items.length, 0);
}

/** The `aria-label`s vega wrote for marks: they spell out every encoded field, tooltips included. */
export function ariaLabels(svg: string): string[] {
  return [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]);
}

/** Parallel coordinates: the run segments drawn (every rule except the axes, vega-lite's layer_0). */
export function segments(svg: string): number {
  return countItems(svg, "rule") - countItems(svg, "rule", "layer_0_marks");
}
