// A few transfers at a time for a model's files (the uploads and downloads of an MLflow 3
// LoggedModel, which the artifact proxy serves one request per file): enough to hide the
// round trips without flooding the server. The same width as MlflowClient.logArtifacts.

export const MODEL_TRANSFERS_IN_FLIGHT = 4;

/** Runs `fn` on every item, at most `limit` at once; rejects with the first failure once all started ones settle. */
export async function inFlight<T>(items: readonly T[], fn: (item: T) => Promise<void>, limit = MODEL_TRANSFERS_IN_FLIGHT): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
