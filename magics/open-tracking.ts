// Opens tracking/ for the kernel: the store chosen by MLFLOW_TRACKING_URI (default ./mlruns),
// one Logger (background batches, durable spool) for every run of the session, and the client
// users get as `mlflow.client`. Delivery failures surface as warnings through `warn`. No wait
// is long (TSLAB_MLFLOW_FLUSH_TIMEOUT): what a dead server does not take waits in the spool.

import {
  ArtifactSpool,
  flushTimeoutFromEnv,
  Logger,
  MlflowClient,
  openStore,
  settlesWithin,
  spoolDirFor,
  waitAtMost,
  type LoggerOptions,
  type TrackingStore,
} from "../tracking/index.js";
import type { Tracking } from "./tracking-port.js";

export async function openTracking(
  env: Record<string, string | undefined>,
  warn: (m: string) => void = () => undefined,
): Promise<Tracking> {
  return trackingFromStore(openStore(undefined, env), warn, {}, env);
}

/** Wraps an open store (the caller's, e.g. in tests) with the session's Logger. */
export function trackingFromStore(
  store: TrackingStore,
  warn: (m: string) => void = () => undefined,
  options: LoggerOptions = {},
  env: Record<string, string | undefined> = process.env,
): Tracking {
  const flushTimeoutMs = options.flushTimeoutMs ?? flushTimeoutFromEnv(env);
  const logger = Logger.create(store, {
    flushTimeoutMs,
    ...options,
    onError: (f) => {
      const [what, fate] = f.status
        ? [
            `The ${f.status} status of run ${f.runId}`,
            { spooled: "waits in the spool", rejected: "was refused by the store", held: "is held in memory" },
          ]
        : [
            `${f.count} logged item(s) of run ${f.runId || "?"}`,
            { spooled: "wait in the spool", rejected: "were refused by the store", held: "are held in memory" },
          ];
      warn(`${what} ${fate[f.disposition]}: ${(f.error as Error)?.message ?? String(f.error)}`);
    },
  });
  // Artifacts an earlier process could not upload go first, in the background, like its batches.
  const artifacts = new ArtifactSpool(options.spoolDir ?? spoolDirFor(store.uri), store.uri);
  const delivering = artifacts.deliver(store).then(
    (d) => {
      if (d.rejected > 0)
        warn(
          `${d.rejected} spooled artifact upload(s) were refused by the store and kept in ${artifacts.rejectedDir}: ${(d.error as Error)?.message ?? String(d.error)}`,
        );
    },
    () => undefined,
  );

  // One close for every caller (shutdown can come from more than one place). A second call
  // that returned early would close the store under the first one's flush, and what that
  // flush still had to send would fail against a closed store instead of being delivered.
  let closing: Promise<void> | undefined;
  const closeOnce = async (): Promise<void> => {
    const deadline = Date.now() + flushTimeoutMs;
    try {
      await logger.close();
    } finally {
      // The delivery of spooled artifacts started at open is still using the store: it gets
      // what is left of the wait (what it does not upload stays in the spool for next time).
      await settlesWithin(delivering, Math.max(0, deadline - Date.now()));
      // Closing the store waits for requests still in its retries; they are durable in the
      // spool (claimed files the next process takes back), so shutdown does not wait for them.
      await waitAtMost(store.close(), flushTimeoutMs);
    }
  };
  return {
    uri: store.uri,
    store,
    client: new MlflowClient(store, env),
    sink: (runId) => logger.run(runId),
    artifacts,
    pending: async () => {
      const p = logger.pending();
      return p.queued + p.inFlight + p.spooled + p.statusUpdates;
    },
    close: () => (closing ??= closeOnce()),
  };
}
