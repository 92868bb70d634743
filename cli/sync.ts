// `tslab-mlflow sync`: two jobs under one name.
//
// `sync [--tracking-uri URI]` delivers what waits in the spool for a tracking server now.
// Kernels and scripts that could not reach the server left their metrics, params, tags, runs'
// final statuses (tracking/spool.ts) and artifact uploads (tracking/artifact-spool.ts) there;
// the next kernel start would deliver them, this does it at once (after an offline CI job,
// say) and says what is left. Exit codes: 0 nothing waits any more; 1 something still waits
// (the server did not take it, or turned it away); 2 bad input.
//
// `sync [SOURCE] --to URI` copies runs from a store (default ./mlruns) to another, a team
// server say (tracking/sync does the copying): a bar on a terminal, one line per run
// otherwise. Exit codes: 0 every run went; 1 some failed (each named with its reason); 2 bad input.

import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import cliProgress from "cli-progress";
import { type Command } from "commander";
import type { RunSyncResult, SyncReport, TrackingStore } from "../tracking/index.js";
import { InputError, reportInputErrors } from "./input-error.js";
import { badInputExits, collectList } from "./run-options.js";

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
  /** Runs that killed kernels left open (found in their journals): their KILLED status was among the requests. */
  killed: string[];
  /** Everything parked so far (refused for good or given up on, this time or before), with the newest reason. */
  parked: { requests: number; uploads: number; newest?: string };
}

export async function syncSpool(trackingUri?: string): Promise<SyncResult> {
  const { ArtifactSpool, Logger, Spool, openStore, recoverJournals, resolveTrackingUri, spoolDirFor } = await import(
    "../tracking/index.js"
  );
  let store;
  try {
    store = openStore(trackingUri);
  } catch (e) {
    throw new InputError("BAD_OPTION", `bad tracking URI ${JSON.stringify(resolveTrackingUri(trackingUri))}: ${(e as Error).message}`);
  }
  const spoolDir = spoolDirFor(store.uri);
  const spool = new Spool(spoolDir, store.uri);
  const rejectedFiles = () =>
    readdir(spool.rejectedDir).then(
      (names) => names.filter((n) => n.endsWith(".json")).length,
      () => 0,
    );
  try {
    // Journals of killed kernels first: their open runs become KILLED updates, their unsent points spool files.
    let recovered: Awaited<ReturnType<typeof recoverJournals>> | undefined;
    let recoveryError: string | undefined;
    try {
      recovered = await recoverJournals(spool);
    } catch (e) {
      recoveryError = (e as Error).message;
      recovered = (e as { report?: typeof recovered }).report;
    }
    const found = (await spool.scan()).length;
    const rejectedBefore = await rejectedFiles();
    let error: string | undefined = recoveryError;
    const logger = new Logger(store, {
      spoolDir,
      exitHooks: false,
      onError: (f) => (error = String((f.error as Error)?.message ?? f.error)),
    });
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
    const parkedRequests = await spool.parked();
    const parkedUploads = await artifactSpool.parked();
    const newest = [...parkedRequests, ...parkedUploads].sort((a, b) => a.name.localeCompare(b.name)).at(-1)?.reason;
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
      error:
        entities > 0 || left.statusUpdates > 0 || rejected > 0 || artifacts.left > 0 || artifacts.rejected > 0 || recoveryError
          ? error
          : undefined,
      killed: recovered?.killed ?? [],
      parked: { requests: parkedRequests.length, uploads: parkedUploads.length, ...(newest ? { newest } : {}) },
    };
  } finally {
    await store.close();
  }
}

/** `--since`: a date (midnight UTC) or an ISO 8601 date-time. */
export function parseSince(raw: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
  const ms = iso.test(raw.trim()) ? Date.parse(raw.trim()) : NaN;
  if (!Number.isFinite(ms))
    throw new InputError(
      "BAD_OPTION",
      `--since ${JSON.stringify(raw)} is not a date: expected YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time such as 2024-05-01T12:00:00Z.`,
    );
  return ms;
}

function parseConcurrency(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 16)
    throw new InputError(
      "BAD_OPTION",
      `--concurrency ${JSON.stringify(raw)} is not accepted: expected a whole number of runs copied at a time, 1 to 16.`,
    );
  return n;
}

interface CopyFlags {
  to: string;
  experiment?: string[];
  runId?: string[];
  since?: string;
  dryRun?: boolean;
  concurrency?: string;
}

async function openOrRefuse(role: string, uri: string): Promise<TrackingStore> {
  const { openStore, trackingUriKind, fileStoreRoot } = await import("../tracking/index.js");
  let kind;
  try {
    kind = trackingUriKind(uri);
  } catch (e) {
    throw new InputError("BAD_OPTION", `bad ${role} ${JSON.stringify(uri)}: ${(e as Error).message}`);
  }
  if (role === "source" && kind === "file" && !existsSync(fileStoreRoot(uri)))
    throw new InputError(
      "BAD_OPTION",
      `bad source ${JSON.stringify(uri)}: no such directory ${fileStoreRoot(uri)} (a source is an ./mlruns directory or a tracking URI).`,
    );
  try {
    return openStore(uri);
  } catch (e) {
    throw new InputError("BAD_OPTION", `bad ${role} ${JSON.stringify(uri)}: ${(e as Error).message}`);
  }
}

/** Progress of a copy: a bar on a terminal, one line per run otherwise (CI logs, pipes). */
interface CopyProgress {
  plan(total: number): void;
  run(n: number, r: RunSyncResult): void;
  stop(): void;
}

const count = (n: number, one: string, many = one + "s") => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
const describeRun = (r: RunSyncResult) =>
  `${r.runId} (run ${JSON.stringify(r.runName)} in ${JSON.stringify(r.experimentName)}${r.ancestor ? ", parent of a chosen run" : ""})`;

function runLine(r: RunSyncResult): string {
  const outcome = r.outcome === "failed" ? "FAILED" : r.outcome;
  if (r.outcome === "failed") return `${outcome} ${describeRun(r)}: ${r.error}`;
  if (r.outcome === "skipped") return `${outcome} ${describeRun(r)}: already copied as ${r.copyId}${r.note ? `, ${r.note}` : ""}`;
  if (r.outcome === "would copy") return `${outcome} ${describeRun(r)}`;
  if (r.outcome === "would complete") return `${outcome} ${describeRun(r)}: its copy ${r.copyId} is incomplete`;
  return `${outcome} ${describeRun(r)} -> ${r.copyId}: ${count(r.params, "param")}, ${count(r.points, "metric point")}, ${count(r.artifacts, "artifact")} sent in ${(r.ms / 1000).toFixed(1)}s`;
}

function createCopyProgress(stream: NodeJS.WriteStream): CopyProgress {
  let total = 0;
  if (!stream.isTTY)
    return {
      plan: (n) => (total = n),
      run: (n, r) => void stream.write(`[${String(n).padStart(String(total).length)}/${total}] ${runLine(r)}\n`),
      stop: () => undefined,
    };
  const bar = new cliProgress.SingleBar(
    { stream, format: "{bar} run {value}/{total} | {duration_formatted} | {last}", hideCursor: true, barsize: 24, linewrap: false, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    plan: (n) => {
      bar.start(n, 0, { last: "" });
      running = true;
    },
    run: (n, r) => bar.update(n, { last: `${r.outcome} ${r.runName || r.runId}` }),
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** Copies runs (`sync SOURCE --to URI`); returns the report after printing it. */
export async function copyRunsCommand(
  sourceArg: string | undefined,
  flags: CopyFlags,
  out: NodeJS.WriteStream = process.stdout,
): Promise<SyncReport> {
  const { syncRuns, SyncSelectionError, DEFAULT_SYNC_CONCURRENCY } = await import("../tracking/index.js");
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  const concurrency = flags.concurrency === undefined ? DEFAULT_SYNC_CONCURRENCY : parseConcurrency(flags.concurrency);
  // Not MLFLOW_TRACKING_URI: that often names the very server the runs go to.
  const source = await openOrRefuse("source", sourceArg ?? "./mlruns");
  let target: TrackingStore | undefined;
  try {
    target = await openOrRefuse("target (--to)", flags.to);
    const progress = createCopyProgress(out);
    let n = 0;
    let report: SyncReport;
    try {
      report = await syncRuns(source, target, {
        experiments: flags.experiment,
        runIds: flags.runId,
        since,
        dryRun: flags.dryRun,
        concurrency,
        onPlan: (runs) => progress.plan(runs.length),
        onRun: (r) => progress.run(++n, r),
      });
    } catch (e) {
      if (e instanceof SyncSelectionError || (e as { code?: string }).code === "INVALID_PARAMETER_VALUE")
        throw new InputError("BAD_OPTION", (e as Error).message);
      throw e;
    } finally {
      progress.stop();
    }
    printSummary(report, flags.dryRun === true, out);
    return report;
  } finally {
    await source.close();
    await target?.close();
  }
}

function printSummary(report: SyncReport, dryRun: boolean, out: NodeJS.WriteStream): void {
  const by = (o: string) => report.runs.filter((r) => r.outcome === o).length;
  const models = (o: string) => report.models.filter((m) => m.outcome === o).length;
  if (report.runs.length === 0) {
    out.write(`No runs in ${report.source} match: nothing to sync.\n`);
    return;
  }
  if (dryRun) {
    out.write(
      `Dry run, nothing written: ${count(report.runs.length, "run")} from ${report.source} to ${report.target}: ` +
        `${by("would copy")} would be copied, ${by("would complete")} completed, ${by("skipped")} are already there; ` +
        `model versions: ${models("would copy")} would be copied, ${models("skipped")} are already there.\n`,
    );
    return;
  }
  out.write(
    `Synced ${count(report.runs.length, "run")} from ${report.source} to ${report.target}: ` +
      `${by("copied")} copied, ${by("completed")} completed, ${by("skipped")} already there, ${by("failed")} failed; ` +
      `model versions: ${models("copied")} copied, ${models("skipped")} already there, ${models("failed")} failed.\n`,
  );
  for (const r of report.runs.filter((x) => x.outcome === "failed")) console.error(`failed: run ${describeRun(r)}: ${r.error}`);
  for (const m of report.models.filter((x) => x.outcome === "failed"))
    console.error(`failed: model version ${m.name}/${m.version}: ${m.error}`);
}

export function registerSyncCommand(program: Command): void {
  const cmd = program
    .command("sync")
    .description(
      "without --to: deliver what waits in the spool for the tracking server now (exit 1 if some of it still waits); " +
        "with --to: copy runs from SOURCE (default ./mlruns) to another store, e.g. a team server (exit 1 if some run failed)",
    )
    .argument("[source]", "with --to: the store runs are copied from, an mlruns directory or a tracking URI (default ./mlruns)")
    .option("--to <uri>", "copy runs to this tracking URI (an MLflow server, or another store)")
    .option("--experiment <name>", "with --to: only this experiment's runs; repeatable", collectList)
    .option("--run-id <id>", "with --to: only this run (and its parents); repeatable", collectList)
    .option("--since <date>", "with --to: only runs started at or after this date (YYYY-MM-DD, midnight UTC, or an ISO 8601 date-time)")
    .option("--dry-run", "with --to: list what would be copied, write nothing")
    .option("--concurrency <n>", "with --to: runs copied at a time (1-16)")
    .option("--tracking-uri <uri>", "without --to: the tracking server whose spool is delivered (default: MLFLOW_TRACKING_URI)")
    .allowExcessArguments(false)
    .action((sourceArg: string | undefined, opts: Partial<CopyFlags> & { trackingUri?: string }) =>
      reportInputErrors(async () => {
        if (opts.to !== undefined) {
          if (opts.trackingUri !== undefined)
            throw new InputError(
              "BAD_OPTION",
              "--tracking-uri names the server whose spool is delivered; with --to, give the source as SOURCE instead.",
            );
          const report = await copyRunsCommand(sourceArg, opts as CopyFlags);
          if (report.failed > 0) process.exitCode = 1;
          return;
        }
        const copyOnly = [
          sourceArg !== undefined && "SOURCE",
          opts.experiment && "--experiment",
          opts.runId && "--run-id",
          opts.since !== undefined && "--since",
          opts.dryRun && "--dry-run",
          opts.concurrency !== undefined && "--concurrency",
        ].filter(Boolean);
        if (copyOnly.length)
          throw new InputError(
            "BAD_OPTION",
            `${copyOnly.join(", ")} ${copyOnly.length === 1 ? "needs" : "need"} --to URI (copying runs); without --to, sync delivers the spool.`,
          );
        await deliverSpoolCommand(opts.trackingUri);
      }),
    );
  badInputExits(cmd);
}

async function deliverSpoolCommand(trackingUri: string | undefined): Promise<void> {
  const r = await syncSpool(trackingUri);
  const parked =
    r.parked.requests + r.parked.uploads > 0
      ? `Parked (never retried): ${r.parked.requests} request(s) in ${r.rejectedDir} and ${r.parked.uploads} artifact upload(s) in ${r.spoolDir}/artifacts/rejected; newest reason: ${r.parked.newest ?? "(none recorded)"}`
      : undefined;
  if (r.found === 0 && r.artifacts.found === 0) {
    console.log(`Nothing waits for ${r.uri} (spool ${r.spoolDir}).`);
    if (parked) console.log(parked);
    return;
  }
  if (parked) console.error(parked);
  console.log(
    `Delivered ${r.delivered} of ${r.found} spooled requests and ${r.artifacts.delivered} of ${r.artifacts.found} artifact uploads to ${r.uri}.`,
  );
  if (r.killed.length) console.log(`Run(s) left RUNNING by a killed kernel, ended KILLED: ${r.killed.join(", ")}.`);
  const why = r.error ? ` (${r.error})` : "";
  if (r.rejected > 0 || r.artifacts.rejected > 0) {
    console.error(
      `turned away by the server: ${r.rejected} requests and ${r.artifacts.rejected} artifact uploads, kept with the reason in ${r.rejectedDir} and ${r.spoolDir}/artifacts/rejected${why}`,
    );
    process.exitCode = 1;
  }
  if (r.left.entities > 0 || r.left.statusUpdates > 0 || r.artifacts.left > 0) {
    console.error(
      `still waiting in ${r.spoolDir}: ${r.left.entities} metrics/params/tags, ${r.left.statusUpdates} run status updates and ${r.artifacts.left} artifact uploads${why}`,
    );
    process.exitCode = 1;
  }
}
