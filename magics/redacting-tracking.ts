// The choke point between the magics and the tracking store: a Tracking whose every write
// (run creation and names, params, metrics, tags, datasets, artifact uploads, registry
// writes, and what `mlflow.client` sends) passes the session's Redactor first. Redaction
// happens before anything is queued or spooled, so spool files on disk (delivered later by
// another process) hold no secret either. Reads pass unchanged.

import { MlflowClient, type ArtifactSpool, type Batch, type TrackingStore } from "../tracking/index.js";
import type { Redactor } from "./redact.js";
import type { RunSink, Tracking } from "./tracking-port.js";

/** Store methods that send something the user wrote; their arguments are redacted deeply. */
const WRITES = new Set<string>([
  "createExperiment",
  "setExperimentTag",
  "createRun",
  "updateRun",
  "logBatch",
  "logMetric",
  "logParam",
  "setTag",
  "deleteTag",
  "logInputs",
  "logArtifact",
  "createRegisteredModel",
  "setRegisteredModelTag",
  "updateRegisteredModel",
  "createModelVersion",
  "setModelVersionTag",
  "setRegisteredModelAlias",
  "deleteRegisteredModelAlias",
  "logLoggedModelParams",
  "setLoggedModelTags",
  "createLoggedModel",
  "finalizeLoggedModel",
]);

const REDACTING = Symbol("redacting");

/** The store with every write's arguments redacted (artifact paths keep a valid shape). */
export function redactingStore(store: TrackingStore, r: Redactor): TrackingStore {
  if ((store as unknown as Record<symbol, unknown>)[REDACTING]) return store;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === REDACTING) return true;
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function") return v;
      if (typeof prop !== "string" || !WRITES.has(prop)) return v.bind(target);
      if (prop === "logArtifact") {
        return (runId: string, artifactPath: string, data: Uint8Array | string) =>
          target.logArtifact(runId, r.key(artifactPath), r.bytes(data));
      }
      return (...args: unknown[]) =>
        (v as (...a: unknown[]) => unknown).apply(
          target,
          args.map((a) => r.deep(a)),
        );
    },
  });
}

function redactingSink(sink: RunSink, r: Redactor): RunSink {
  // A Proxy, so whatever else the sink offers (flush, terminate, pending) passes as it is.
  const writes: Partial<RunSink> = {
    logMetric: (key, value, step, timestamp) => sink.logMetric(r.key(key), value, step, timestamp),
    logParam: (key, value) => sink.logParam(r.key(key), r.value(key, value)),
    setTag: (key, value) => sink.setTag(r.key(key), r.value(key, value)),
    logBatch: (batch: Batch) => sink.logBatch(r.deep(batch)),
  };
  return new Proxy(sink, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && prop in writes) return writes[prop as keyof RunSink];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function redactingSpool(spool: ArtifactSpool, r: Redactor): ArtifactSpool {
  return new Proxy(spool, {
    get(target, prop, receiver) {
      if (prop === "upload") {
        return (store: TrackingStore, runId: string, artifactPath: string, data: Uint8Array | string) =>
          target.upload(store, runId, r.key(artifactPath), r.bytes(data));
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/**
 * The tracking connection as the magics use it: writes redacted, the URI shown without
 * credentials, and `mlflow.client` built on the redacting store.
 */
export function redactingTracking(t: Tracking, r: Redactor, env: Record<string, string | undefined>): Tracking {
  const store = redactingStore(t.store, r);
  const client = new MlflowClient(store, env);
  return {
    uri: r.uri(t.uri),
    store,
    client,
    sink: (runId) => redactingSink(t.sink(runId), r),
    ...(t.artifacts ? { artifacts: redactingSpool(t.artifacts, r) } : {}),
    pending: () => t.pending(),
    close: () => t.close(),
  };
}
