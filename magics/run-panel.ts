// What the live run panel knows of a run's metrics, recorded as the run logs them (ActiveRun's
// mirror of each metric carries it): the number of points, the last point logged, and a
// bounded, evenly strided sample of the history for the sparkline. Recording is on the cell's
// own path for every point, so it is O(1) amortised, allocates nothing per point and never
// renders or does I/O; the panel reads it at most about once a second (run-panel-live.ts).

/** Most points kept per metric for its sparkline. Even, so halving keeps the stride exact. */
export const HISTORY_LIMIT = 200;

/**
 * One metric's sample. Points are kept at every `stride`-th call (in logging order); when the
 * sample fills up, every other point is dropped and the stride doubles, so the sample always
 * spans the whole history evenly in at most HISTORY_LIMIT points.
 */
export class MetricSeries {
  /** Points logged. */
  count = 0;
  /** The last point logged (the sparkline ends here even when it was not sampled). */
  tail = Number.NaN;
  /** The sampled values, oldest first. */
  readonly values: number[] = [];
  private stride = 1;
  /** Calls to let pass before the next sampled one. */
  private skip = 0;

  record(value: number): void {
    this.count++;
    this.tail = value;
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    this.skip = this.stride - 1;
    this.values.push(value);
    if (this.values.length >= HISTORY_LIMIT) this.halve();
  }

  /** The sample with the last point appended when the sample does not end on it. */
  line(): number[] {
    return this.skip === this.stride - 1 ? [...this.values] : [...this.values, this.tail];
  }

  private halve(): void {
    // Samples sit at calls 0, s, 2s, … (L-1)s; keeping the even ones leaves 0, 2s, … (L-2)s,
    // whose next point at stride 2s is call Ls: exactly where `skip` already points.
    const v = this.values;
    let w = 0;
    for (let r = 0; r < v.length; r += 2) v[w++] = v[r]!;
    v.length = w;
    this.stride *= 2;
  }
}

/** What a run mirrors of one metric: its last value and step (the highest step wins, as in
 * MLflow), and, while the run has a live panel, the sample of its history. */
export interface MetricState {
  value: number;
  step: number;
  series?: MetricSeries;
}

/** Points recorded into the series of `metrics` so far: the panel republishes when it moves. */
export function pointsRecorded(metrics: ReadonlyMap<string, MetricState>): number {
  let n = 0;
  for (const m of metrics.values()) n += m.series?.count ?? 0;
  return n;
}
