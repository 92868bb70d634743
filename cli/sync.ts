// `tslab-mlflow sync [--tracking-uri URI]`: delivers what waits in the spool for a tracking
// server now. Kernels and scripts that could not reach the server left their metrics,
// params, tags, runs' final statuses (tracking/spool.ts) and artifact uploads
// (tracking/artifact-spool.ts) there; the next kernel start
// would deliver them, this does it at once (after an offline CI job, say) and says what is
// left. Exit codes: 0 nothing waits any more; 1 something still waits (the server did not
// take it, or turned it away); 2 bad input.

import { readdir } from "node:fs/promises";
import { type Command } from "commander";
import { InputError, reportInputErrors } from "./input-error.js";
import { badInputExits } from "./run-options.js";

export interface SyncResult {
  uri: string;
  spoolDir: string;
  /** Spool files (batches and status updates) found, delivered, and turned away for good. */
  found: number;
  delivered: number;
  rejected: number;
  /** Where turned-away requests are kept, with the server's reason. */
  rejectedDir: string;
  /** Entities and run status updates still waiting. */
  left: { entities: number; statusUpdates: number };
  /** Spooled artifact uploads: found, delivered, still waiting, turned away (kept in artifacts/rejected). */
  artifacts: { found: number; delivered: number; left: number; rejected: number };
  /** Why something was not delivered (the last failure), if it was not. */
  error?: string;
}

export async function syncSpool(trackingUri?: string): Promise<SyncResult> {
  const { ArtifactSpool, Logger, Spool, openStore, resolveTrackingUri, spoolDirFor } = await import("../tracking/index.js");
  let store;
  try {
    store = openStore(trackingUri);
  } catch (e) {
    throw new InputError("BAD_OPTION", `bad tracking URI ${JSON.stringify(resolveTrackingUri(trackingUri))}: ${(e as Error).message}`);
  }
  const spoolDir = spoolDirFor(store.uri);
  const spool = new Spool(spoolDir, store.uri);
  const rejectedFiles = () => readdir(spool.rejectedDir).then((names) => names.filter((n) => n.endsWith(".json")).length, () => 0);
  try {
    const found = (await spool.scan()).length;
    const rejectedBefore = await rejectedFiles();
    let error: string | undefined;
    const logger = new Logger(store, { spoolDir, exitHooks: false, onError: (f) => (error = String((f.error as Error)?.message ?? f.error)) });
    let left;
    try {
      await logger.deliverSpool();
      left = logger.pending();
    } finally {
      await logger.close();
    }
    const remaining = (await new Spool(spoolDir, store.uri).scan()).length;
    const rejected = (await rejectedFiles()) - rejectedBefore;
    const entities = left.queued + left.inFlight + left.spooled;
    const artifactSpool = new ArtifactSpool(spoolDir, store.uri);
    const uploads = await artifactSpool.list();
    const artifacts = await artifactSpool.deliver(store);
    if (artifacts.error !== undefined) error ??= String((artifacts.error as Error)?.message ?? artifacts.error);
    return {
      uri: store.uri,
      spoolDir,
      found,
      delivered: Math.max(0, found - remaining - rejected),
      rejected,
      rejectedDir: spool.rejectedDir,
      left: { entities, statusUpdates: left.statusUpdates },
      artifacts: { found: uploads.length, delivered: artifacts.delivered, left: artifacts.left, rejected: artifacts.rejected },
      error: entities > 0 || left.statusUpdates > 0 || rejected > 0 || artifacts.left > 0 || artifacts.rejected > 0 ? error : undefined,
    };
  } finally {
    await store.close();
  }
}

export function registerSyncCommand(program: Command): void {
  const cmd = program
    .command("sync")
    .description("deliver what waits in the spool for the tracking server now (exit 1 if some of it still waits)")
    .option("--tracking-uri <uri>", "the tracking server (default: MLFLOW_TRACKING_URI)")
    .allowExcessArguments(false)
    .action((opts: { trackingUri?: string }) =>
      reportInputErrors(async () => {
        const r = await syncSpool(opts.trackingUri);
        if (r.found === 0 && r.artifacts.found === 0) {
          console.log(`Nothing waits for ${r.uri} (spool ${r.spoolDir}).`);
          return;
        }
        console.log(`Delivered ${r.delivered} of ${r.found} spooled requests and ${r.artifacts.delivered} of ${r.artifacts.found} artifact uploads to ${r.uri}.`);
        const why = r.error ? ` (${r.error})` : "";
        if (r.rejected > 0 || r.artifacts.rejected > 0) {
          console.error(`turned away by the server: ${r.rejected} requests and ${r.artifacts.rejected} artifact uploads, kept with the reason in ${r.rejectedDir} and ${r.spoolDir}/artifacts/rejected${why}`);
          process.exitCode = 1;
        }
        if (r.left.entities > 0 || r.left.statusUpdates > 0 || r.artifacts.left > 0) {
          console.error(
            `still waiting in ${r.spoolDir}: ${r.left.entities} metrics/params/tags, ${r.left.statusUpdates} run status updates and ${r.artifacts.left} artifact uploads${why}`,
          );
          process.exitCode = 1;
        }
      }),
    );
  badInputExits(cmd);
}
