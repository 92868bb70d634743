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
  spoolDirFor,
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
  void artifacts.deliver(store).then(
    (d) =>
      d.rejected > 0 &&
      warn(
        `${d.rejected} spooled artifact upload(s) were refused by the store and kept in ${artifacts.rejectedDir}: ${(d.error as Error)?.message ?? String(d.error)}`,
      ),
    () => undefined,
  );
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
    close: async () => {
      try {
        await logger.close();
      } finally {
        // Closing waits for requests still in the store's retries; they are durable in the
        // spool (claimed files the next process takes back), so shutdown does not wait for them.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([store.close(), new Promise((r) => (timer = setTimeout(r, flushTimeoutMs)))]);
        clearTimeout(timer);
      }
    },
  };
}
