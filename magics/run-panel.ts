// What the live run panel knows of a run's metrics, recorded as the run logs them: per metric
// the number of points, the last point logged, and a bounded, evenly strided sample of its
// history for the sparkline. Recording is called for every point on the cell's own path, so it
// is O(1) amortised, allocates nothing per point and never renders or does I/O; the panel reads
// the model at most about once a second (run-panel-live.ts).

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

/** Every metric's series, and a counter that changes whenever a point is recorded. */
export class RunPanelModel {
  readonly series = new Map<string, MetricSeries>();
  /** Bumped by every recorded point: the panel republishes only when it moved. */
  version = 0;

  metric(key: string, value: number): void {
    let s = this.series.get(key);
    if (s === undefined) {
      s = new MetricSeries();
      this.series.set(key, s);
    }
    s.record(value);
    this.version++;
  }
}
