// The parts of the logger that need none of its state: the report of a batch that could not
// be delivered, the one "settle within N ms" wait, which failures are for good, run status
// update checks and the flush timeout setting. (Jobs and their states are in jobs.ts.)

import { RUN_STATUSES, isRunStatus, type RunStatus } from "../entities.js";
import { MlflowError } from "../errors.js";
import type { FinalState, JobState } from "./jobs.js";
import type { SpooledUpdate } from "./spool.js";

/** Default of `flushTimeoutMs`, overridden by `TSLAB_MLFLOW_FLUSH_TIMEOUT` (seconds). */
export const DEFAULT_FLUSH_TIMEOUT_MS = 5_000;

/** `TSLAB_MLFLOW_FLUSH_TIMEOUT` in ms; a clear error for a value that is not a positive number of seconds. */
export function flushTimeoutFromEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): number {
  const raw = env.TSLAB_MLFLOW_FLUSH_TIMEOUT;
  if (raw === undefined || raw.trim() === "") return DEFAULT_FLUSH_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Invalid TSLAB_MLFLOW_FLUSH_TIMEOUT ${JSON.stringify(raw)}: a number of seconds greater than 0 is accepted (default ${DEFAULT_FLUSH_TIMEOUT_MS / 1000}).`,
      400,
    );
  return Math.round(seconds * 1000);
}

export interface DeliveryFailure {
  runId: string;
  /** Entities in the batch. */
  count: number;
  /** Set when the request was the run's status update. */
  status?: RunStatus;
  error: unknown;
  /**
   * `rejected`: the server refused the batch for good (4xx); kept in `file` under the
   * spool's `rejected/` directory and never retried. `spooled`: the store stays unreachable;
   * the batch waits in the spool. `held`: not even the spool could take it; it stays in
   * memory, the next flush retries and rejects with the error meanwhile.
   */
  disposition: Extract<JobState, "rejected" | "spooled" | "held">;
  file?: string;
}

/** How a status update ended up: answered by the store, or durable in the spool for later. */
export type UpdateOutcome = Extract<FinalState, "acknowledged" | "spooled">;

/** A 4xx answer about the batch itself: retrying the same request cannot succeed. */
export function isPermanentFailure(error: unknown): boolean {
  if (!(error instanceof MlflowError)) return false;
  const s = error.httpStatus;
  // Auth, timeouts and rate limits can clear up; those batches wait in the spool.
  if (s !== undefined) return s >= 400 && s < 500 && ![401, 403, 408, 429].includes(s);
  return ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS", "BAD_REQUEST"].includes(error.code);
}

/** Resolves when `p` settles or after `ms`, whichever comes first; rethrows if `p` rejected in time. */
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  if (await settlesWithin(p, ms)) await p;
}

/** Resolves true when `p` settles (either way) within `ms`, false after `ms`; `p` goes on. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = p.then(
    () => true,
    () => true,
  );
  // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once): no limit then.
  if (!(ms < 2_147_483_647)) return settled;
  let timer: NodeJS.Timeout | undefined;
  const won = await Promise.race([settled, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return won;
}

export const describe = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export function checkUpdate(runId: string, update: SpooledUpdate): void {
  if (typeof runId !== "string" || runId.length === 0)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `Invalid run id ${JSON.stringify(runId)}: a non-empty string is required.`, 400);
  if (!update || !isRunStatus(update.status))
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Invalid run status ${JSON.stringify(update?.status)} for run ${runId}: accepted are ${RUN_STATUSES.join(", ")}.`,
      400,
    );
  if (update.endTime !== undefined && !Number.isInteger(update.endTime))
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Invalid end time ${JSON.stringify(update.endTime)} for run ${runId}: an integer (epoch milliseconds) is required.`,
      400,
    );
  if (update.runName !== undefined && typeof update.runName !== "string")
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Invalid run name ${JSON.stringify(update.runName)} for run ${runId}: a string is required.`,
      400,
    );
}
