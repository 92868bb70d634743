// The live run panel: one display per run, shown when the run starts and updated with
// update_display_data at most once per interval (1 s) while the run is open, and only when
// something changed (a point, a param, what waits for delivery). Its last frame, published when
// the run ends, is the run's summary. A timer drives it, never the logging calls: they only
// record into the run's metric histories (run-panel.ts), so the panel never delays the cell. A cell busy in a
// synchronous loop gets its frames when it yields; the timer is unref'd and never keeps the
// process alive. A display that fails stops the panel, never the run.

import { randomBytes } from "node:crypto";
import type { RunStatus } from "../tracking/index.js";
import type { MimeBundle } from "./outputs.js";
import { pointsRecorded, type MetricState } from "./run-panel.js";
import { panelBundle, type PendingCounts } from "./run-panel-view.js";
import type { RunIdentity } from "./active-run.js";

/** Publishes a display (update: false) or updates it by display id (update: true). */
export type PanelShow = (bundle: MimeBundle, opts: { displayId: string; update: boolean }) => void;

/** What the panel reads of its run (ActiveRun). */
export interface PanelRun {
  readonly info: RunIdentity;
  readonly parentRunId?: string;
  readonly params: ReadonlyMap<string, string>;
  readonly metrics: ReadonlyMap<string, MetricState>;
  pending(): PendingCounts;
}

export interface LivePanelOptions {
  show: PanelShow;
  trackingUri: string;
  /** Applied to every string of every frame (the session's Redactor). */
  redact(text: string): string;
  /** Between frames (ms). Default 1000. */
  intervalMs?: number;
  /** Told every frame published (the session refreshes notebook snapshots with the last one). */
  onFrame?(displayId: string, bundle: MimeBundle): void;
  /** Told when a display fails (the panel then stops). */
  warn?(message: string): void;
}

export const PANEL_INTERVAL_MS = 1000;

export class LivePanel {
  readonly displayId = randomBytes(8).toString("hex");
  private state: "new" | "live" | "ended" | "stopped" = "new";
  private timer: NodeJS.Timeout | undefined;
  private status: RunStatus = "RUNNING";
  private readonly startedAt = performance.now();
  private elapsedAtEnd: number | undefined;
  /** What the last frame showed, to publish only on change. */
  private shownKey = "";
  /** Frames published, the first display included. */
  frames = 0;

  constructor(
    private readonly run: PanelRun,
    private readonly opts: LivePanelOptions,
  ) {}

  /** Shows the first frame and starts the timer. */
  start(): void {
    if (this.state !== "new") return;
    this.state = "live";
    if (!this.publish(false)) return;
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? PANEL_INTERVAL_MS);
    this.timer.unref();
  }

  /** Publishes a frame if anything shown changed since the last one. */
  tick(): void {
    if (this.state === "live" || this.state === "ended") this.publish(true, true);
  }

  /**
   * The run ended with `status`: stops the timer and publishes the final frame (the summary).
   * Only the first call counts: the status a cell decided stays when the session ends the run.
   */
  finish(status: RunStatus, elapsedMs?: number): void {
    if (this.state !== "live") return;
    clearInterval(this.timer);
    this.state = "ended";
    this.status = status;
    this.elapsedAtEnd = elapsedMs ?? performance.now() - this.startedAt;
    this.publish(true);
  }

  /** With the panel off: the final frame alone, shown once as a plain display (never updated). */
  summary(status: RunStatus, elapsedMs: number): void {
    if (this.state !== "new") return;
    this.state = "stopped";
    this.status = status;
    this.elapsedAtEnd = elapsedMs;
    this.publish(false);
  }

  /** After the run's end waited for delivery: one more frame if what waits changed. */
  settle(): void {
    if (this.state === "ended") this.publish(true, true);
    this.stop();
  }

  /** No more frames (shutdown, or a display that failed). */
  stop(): void {
    clearInterval(this.timer);
    this.state = "stopped";
  }

  private frameKey(pending: PendingCounts | undefined): string {
    const p = pending ? pending.queued + pending.inFlight + pending.spooled : -1;
    return `${pointsRecorded(this.run.metrics)}|${this.run.metrics.size}|${this.run.params.size}|${this.status}|${p}`;
  }

  private pending(): PendingCounts | undefined {
    try {
      return this.run.pending();
    } catch {
      return undefined; // the logger is closed (shutdown): nothing to say about delivery
    }
  }

  /** Renders and shows a frame; false when showing failed (the panel is then stopped). */
  private publish(update: boolean, onlyIfChanged = false): boolean {
    const pending = this.pending();
    const key = this.frameKey(pending);
    if (onlyIfChanged && key === this.shownKey) return true;
    try {
      const { info } = this.run;
      const frame = panelBundle({
        displayId: this.displayId,
        runName: info.runName,
        runId: info.runId,
        experimentId: info.experimentId,
        parentRunId: this.run.parentRunId,
        status: this.status,
        elapsedMs: this.elapsedAtEnd ?? performance.now() - this.startedAt,
        params: this.run.params,
        metrics: this.run.metrics,
        pending,
        trackingUri: this.opts.trackingUri,
      });
      const bundle: MimeBundle = {};
      for (const [mime, v] of Object.entries(frame)) bundle[mime] = typeof v === "string" ? this.opts.redact(v) : v;
      this.opts.show(bundle, { displayId: this.displayId, update });
      this.shownKey = key;
      this.frames++;
      this.opts.onFrame?.(this.displayId, bundle);
      return true;
    } catch (err) {
      this.stop();
      this.opts.warn?.(`The run panel of run ${this.run.info.runId} stopped: ${(err as Error).message}`);
      return false;
    }
  }
}
