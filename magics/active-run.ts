// One open run as the notebook sees it: validated, non-blocking logging (the sink sends in the
// background), artifact uploads tracked so the run's end waits for them, and a local mirror of
// params and last metric values (with their history while a live panel shows the run). Logging
// failures become warnings; bad input (a non-numeric metric, a changed param) throws at the
// call, naming the value.

import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  invalidParameter,
  settlesWithin,
  validateArtifactPath,
  type RunStatus,
  type Tag,
  type TrackingStore,
  type ArtifactSpool,
} from "../tracking/index.js";
import type { RunSink } from "./tracking-port.js";
import type { Redactor } from "./redact.js";
import type { LivePanel } from "./run-panel-live.js";
import { MetricSeries, type MetricState } from "./run-panel.js";

export interface RunIdentity {
  runId: string;
  experimentId: string;
  runName: string;
  artifactUri: string;
}

export interface ActiveRunDeps {
  store: TrackingStore;
  sink: RunSink;
  /** Uploads artifacts, spooling what the store does not take now (absent: upload directly). */
  artifacts?: ArtifactSpool;
  redactor: Redactor;
  /** Where warnings go (the current cell's stderr, or the kernel log). */
  warn(message: string): void;
  /** Renders a Vega-Lite spec to SVG for `logChart`. */
  renderSvg?(spec: unknown): Promise<string>;
  /** Longest wait at the run's end for artifact uploads that get no answer (ms). Default 5 s. */
  endWaitMs?: number;
}

type ParamValue = string | number | boolean;

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));

export class ActiveRun {
  readonly params = new Map<string, string>();
  /** Last value and step of each metric logged through this object (and its history while a panel shows it). */
  readonly metrics = new Map<string, MetricState>();
  readonly tags = new Map<string, string>();
  /** The run's live panel (run-panel-live.ts), when one is shown: then metric histories are sampled for it. */
  panel: LivePanel | undefined;
  private uploads: Promise<void>[] = [];
  private ended = false;
  /** Points dropped because the logger's backlog was at its bound (said once, then counted at the end). */
  private dropped = 0;

  constructor(
    readonly info: RunIdentity,
    private readonly deps: ActiveRunDeps,
    /** False for a run opened elsewhere (MLFLOW_RUN_ID): we log into it but never end it. */
    readonly owned: boolean,
    readonly parentRunId?: string,
  ) {}

  get runId(): string {
    return this.info.runId;
  }
  get isEnded(): boolean {
    return this.ended;
  }

  private checkOpen(): void {
    if (this.ended) throw invalidParameter(`Run ${this.runId} has ended; start a new run to log more.`);
  }

  logParam(key: string, value: ParamValue): void {
    this.checkOpen();
    if (!["string", "number", "boolean"].includes(typeof value))
      throw invalidParameter(`Invalid value ${show(value)} for param ${show(key)}: a param value must be a string, number or boolean.`);
    const text = this.deps.redactor.value(key, String(value));
    // The sink validates and enforces immutability; mirror only what it accepted.
    this.deps.sink.logParam(key, text);
    this.params.set(key, text);
  }

  logParams(record: Record<string, ParamValue>): void {
    for (const [k, v] of Object.entries(record)) this.logParam(k, v);
  }

  logMetric(key: string, value: number, step = 0, timestamp = Date.now()): void {
    this.checkOpen();
    if (this.deps.sink.logMetric(key, value, step, timestamp) === false && this.dropped++ === 0)
      this.deps.warn(
        `Run ${this.runId} logs faster than ${this.deps.store.uri} takes it: the backlog of undelivered points is at its bound, ` +
          `so points are dropped until it drains (the count is given when the run ends).`,
      );
    // One lookup per point, updated in place: this is the cell's hot path (100k points in a loop).
    let m = this.metrics.get(key);
    if (m === undefined) {
      m = { value, step };
      this.metrics.set(key, m);
    } else if (step >= m.step) {
      m.value = value;
      m.step = step;
    }
    if (this.panel !== undefined) (m.series ??= new MetricSeries()).record(value);
  }

  logMetrics(record: Record<string, number>, step?: number): void {
    const t = Date.now();
    for (const [k, v] of Object.entries(record)) this.logMetric(k, v, step, t);
  }

  setTag(key: string, value: string | number | boolean): void {
    this.checkOpen();
    const text = this.deps.redactor.value(key, String(value));
    this.deps.sink.setTag(key, text);
    this.tags.set(key, text);
  }

  setTags(record: Record<string, string | number | boolean>): void {
    for (const [k, v] of Object.entries(record)) this.setTag(k, v);
  }

  /** Tags written by the magics themselves (already checked and redacted). */
  setSystemTags(tags: Tag[]): void {
    for (const t of tags) {
      this.tags.set(t.key, t.value);
      this.deps.sink.setTag(t.key, t.value);
    }
  }

  /** Uploads in the background; the run's end waits for it. Failures become warnings. */
  upload(artifactPath: string, data: Uint8Array | string): Promise<void> {
    this.checkOpen();
    validateArtifactPath(artifactPath);
    const body = typeof data === "string" ? this.deps.redactor.text(data) : data;
    const { store, artifacts } = this.deps;
    const uploading = artifacts
      ? artifacts.upload(store, this.runId, artifactPath, body)
      : store.logArtifact(this.runId, artifactPath, body);
    const p = uploading.then(
      (how) => {
        if (how === "spooled")
          this.deps.warn(
            `Artifact ${artifactPath} of run ${this.runId} waits in the spool: ${store.uri} did not take it now. It is uploaded by the next kernel start or \`tslab-mlflow sync\`.`,
          );
      },
      (err: unknown) => this.deps.warn(`Could not save artifact ${artifactPath} of run ${this.runId}: ${(err as Error).message}`),
    );
    this.uploads.push(p);
    return p;
  }

  logText(text: string, artifactFile: string): Promise<void> {
    if (typeof text !== "string") throw invalidParameter(`logText expects a string, got ${typeof text}.`);
    return this.upload(artifactFile, text);
  }

  logDict(value: unknown, artifactFile: string): Promise<void> {
    return this.upload(artifactFile, JSON.stringify(value, null, 2) + "\n");
  }

  /** Copies a local file (or a directory's files) into the run's artifacts. */
  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    this.checkOpen();
    const name = path.basename(localPath);
    const dest = artifactPath ? `${artifactPath.replace(/\/+$/, "")}/${name}` : name;
    let data: Buffer;
    try {
      data = await readFile(localPath);
    } catch (err) {
      throw invalidParameter(
        `logArtifact cannot read ${show(localPath)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      );
    }
    return this.upload(dest, data);
  }

  /** An image as bytes or a base64 string (a data: URL is accepted too). */
  logImage(image: Uint8Array | string, artifactFile: string): Promise<void> {
    const bytes = typeof image === "string" ? Buffer.from(image.replace(/^data:[^,]*,/, ""), "base64") : image;
    if (bytes.length === 0) throw invalidParameter(`logImage got no image data for ${show(artifactFile)}.`);
    return this.upload(artifactFile, bytes);
  }

  /** A Vega-Lite spec as `<name>.vl.json` plus its SVG rendering beside it. */
  async logChart(spec: unknown, artifactFile = "charts/chart.vl.json"): Promise<void> {
    if (typeof spec !== "object" || spec === null) throw invalidParameter(`logChart expects a Vega-Lite spec object, got ${show(spec)}.`);
    const file = artifactFile.endsWith(".vl.json") ? artifactFile : artifactFile.replace(/\.json$/, "") + ".vl.json";
    const done = [this.upload(file, JSON.stringify(spec, null, 2) + "\n")];
    if (this.deps.renderSvg) {
      try {
        done.push(this.upload(file.replace(/\.vl\.json$/, ".svg"), await this.deps.renderSvg(spec)));
      } catch (err) {
        this.deps.warn(`Could not render ${file} to SVG: ${(err as Error).message}`);
      }
    }
    await Promise.all(done);
  }

  /** What of the run still waits for delivery: queued, in flight, in the spool. */
  pending(): { queued: number; inFlight: number; spooled: number } {
    return this.deps.sink.pending();
  }

  /** Waits for uploads and logged data without ending the run. */
  async flush(): Promise<void> {
    const uploads = this.uploads;
    this.uploads = [];
    await Promise.all([...uploads, this.deps.sink.flush()]);
  }

  /**
   * Ends the run with `status`. Always reaches the status update, whatever failed before it,
   * and never waits long: the sink sends the status after the run's logged data, or spools it
   * behind that data when the server does not answer in time (a warning says what waits).
   * Problems become warnings instead of throwing.
   */
  async end(status: RunStatus): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const { sink } = this.deps;
    if (!this.owned) {
      // Not ours to end (a run the caller opened elsewhere): only what was logged must land.
      try {
        await this.flush();
      } catch (err) {
        this.deps.warn(`Logging for run ${this.runId} did not complete (${(err as Error).message}); undelivered data stays in the spool.`);
      }
      return;
    }
    if (this.dropped)
      this.deps.warn(`${this.dropped} metric point(s) of run ${this.runId} were dropped: logged while the backlog was at its bound.`);
    const endTime = Date.now();
    const uploads = this.uploads;
    this.uploads = [];
    const limit = this.deps.endWaitMs ?? 5_000;
    const [uploaded, outcome] = await Promise.all([
      uploads.length ? settlesWithin(Promise.all(uploads), limit) : true,
      sink.terminate(status, endTime).catch((err: unknown) => {
        this.deps.warn(`Could not mark run ${this.runId} ${status}: ${(err as Error).message}`);
        return undefined;
      }),
    ]);
    if (outcome === "spooled") {
      const p = sink.pending();
      const items = p.queued + p.inFlight + p.spooled;
      this.deps.warn(
        `${this.deps.store.uri} did not answer in time: run ${this.runId} is marked ${status} there once it does. ` +
          `Its status${items ? ` and ${items} logged item(s)` : ""} wait in the durable spool and are delivered in order by the next flush, the next run's end or the next kernel start.`,
      );
    }
    if (!uploaded)
      this.deps.warn(
        `Artifact uploads of run ${this.runId} got no answer from ${this.deps.store.uri} in time; they go on in the background, and wait in the spool if they do not get through.`,
      );
  }
}
