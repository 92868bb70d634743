// What one run has logged but not yet handed to a sender, and how it is cut into
// log-batch requests within MLflow's per-request limits.

import type { Batch, Metric, Param } from "../entities.js";
import { MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH } from "../limits.js";

export class RunQueue {
  metrics: Metric[] = [];
  params: Param[] = [];
  // A tag set twice before it is sent only needs its last value.
  tags = new Map<string, string>();
  // What of the above is already in the journal (journal.ts): the first n metrics and params,
  // and the tags set since the last append.
  journaledMetrics = 0;
  journaledParams = 0;
  tagLog: [string, string][] = [];

  /** Sets a tag (the last value wins) and notes it for the journal. */
  setTag(key: string, value: string): void {
    this.tags.set(key, value);
    this.tagLog.push([key, value]);
  }

  get size(): number {
    return this.metrics.length + this.params.length + this.tags.size;
  }

  /**
   * Empties the queue into batches. Params and tags lead (a request carries at most 100 of
   * each) and metrics fill the rest up to 1000 entities, so the common metrics-only case
   * makes full 1000-metric requests.
   */
  cut(): Batch[] {
    const out: Batch[] = [];
    const { metrics, params } = this;
    const tags = [...this.tags].map(([key, value]) => ({ key, value }));
    let mi = 0,
      pi = 0,
      ti = 0;
    while (pi < params.length || ti < tags.length || mi < metrics.length) {
      const p = params.slice(pi, pi + MAX_PARAMS_PER_BATCH);
      const t = tags.slice(ti, ti + MAX_TAGS_PER_BATCH);
      pi += p.length;
      ti += t.length;
      const room = Math.min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - p.length - t.length);
      const m = metrics.slice(mi, mi + room);
      mi += m.length;
      const batch: Batch = {};
      if (m.length) batch.metrics = m;
      if (p.length) batch.params = p;
      if (t.length) batch.tags = t;
      out.push(batch);
    }
    this.metrics = [];
    this.params = [];
    this.tags = new Map();
    this.journaledMetrics = 0;
    this.journaledParams = 0;
    this.tagLog = [];
    return out;
  }
}
