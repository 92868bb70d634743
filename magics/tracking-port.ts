// The one place magics/ meets tracking/'s logging: opening the store named by
// MLFLOW_TRACKING_URI (default ./mlruns) with one background Logger in front of it.
// Everything else in magics/ talks to the small interfaces below.

import type { ArtifactSpool, Batch, MlflowClient, RunStatus, TrackingStore } from "../tracking/index.js";

/** One run's log calls: validated at the call, sent in the background (tracking's RunLogger). */
export interface RunSink {
  /** False when the point was dropped: the logger's backlog is at its bound (RunLogger.logMetric). */
  logMetric(key: string, value: number, step?: number, timestamp?: number): boolean | void;
  logParam(key: string, value: string): void;
  setTag(key: string, value: string): void;
  logBatch(batch: Batch): void;
  /** Waits until everything logged so far is in the store or the durable spool. */
  flush(): Promise<void>;
  /** Sets the run's end status after its logged data; `spooled` when it waits in the spool (RunLogger.terminate). */
  terminate(status: RunStatus, endTime?: number): Promise<"acknowledged" | "spooled">;
  /** What of the run still waits (RunLogger.pending). */
  pending(): { queued: number; inFlight: number; spooled: number };
  /** The run is open and this kernel owns it: if the kernel dies, it is ended KILLED (RunLogger.opened). */
  opened?(): void;
}

export interface Tracking {
  readonly uri: string;
  readonly store: TrackingStore;
  /** The full client handed to users as `mlflow.client`. */
  readonly client: MlflowClient;
  sink(runId: string): RunSink;
  /** Uploads artifacts, spooling what the store does not take now (absent: upload directly). */
  readonly artifacts?: ArtifactSpool;
  /** Entities logged but not yet delivered (queued, in flight or spooled). */
  pending(): Promise<number>;
  close(): Promise<void>;
}
