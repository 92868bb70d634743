// Opens tracking/ for the kernel: the store chosen by MLFLOW_TRACKING_URI (default ./mlruns),
// one Logger (background batches, durable spool) for every run of the session, and the client
// users get as `mlflow.client`. Delivery failures surface as warnings through `warn`.

import { Logger, MlflowClient, openStore, type LoggerOptions, type TrackingStore } from "../tracking/index.js";
import type { Tracking } from "./tracking-port.js";

export async function openTracking(env: Record<string, string | undefined>, warn: (m: string) => void = () => undefined): Promise<Tracking> {
  return trackingFromStore(openStore(undefined, env), warn, {}, env);
}

/** Wraps an open store (the caller's, e.g. in tests) with the session's Logger. */
export function trackingFromStore(
  store: TrackingStore,
  warn: (m: string) => void = () => undefined,
  options: LoggerOptions = {},
  env: Record<string, string | undefined> = process.env,
): Tracking {
  const logger = Logger.create(store, {
    ...options,
    onError: (f) => warn(`${f.count} logged item(s) of run ${f.runId || "?"} ${f.disposition === "spooled" ? "wait in the spool" : f.disposition === "rejected" ? "were refused by the store" : "are held in memory"}: ${(f.error as Error)?.message ?? String(f.error)}`),
  });
  return {
    uri: store.uri,
    store,
    client: new MlflowClient(store, env),
    sink: (runId) => logger.run(runId),
    pending: async () => {
      const p = logger.pending();
      return p.queued + p.inFlight + p.spooled;
    },
    close: async () => {
      try {
        await logger.close();
      } finally {
        await store.close();
      }
    },
  };
}
