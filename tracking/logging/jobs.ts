// The logger's state machine. Every request the logger makes (a log-batch, or a run's status
// update) is a Job, and a job is in exactly one named state at a time:
//
//   ready ──> sending ──> acknowledged                 the store took it
//     │          ├──────> rejected                     refused for good (4xx), kept under rejected/
//     │          ├──────> spooled                      its claimed spool file was given back
//     │          └──────> spooling ──> spooled         a fresh request failed: written to the spool
//     └───────────────────> spooling ──> held          not even the spool could take it
//   held ──> ready                                     the next flush tries again
//   ready, held ──> spooled                            the process `exit` hook wrote it synchronously
//
// `sending` covers a request the store has not answered; when it is also durable (it came
// from the spool, or a flush that waited too long wrote it as a claimed file) `entry` is set.
// acknowledged, spooled and rejected are final: the job leaves the table, and the spool (or
// the store) is then the only place its batch is. All moves go through `JobTable.move`,
// which refuses any move the diagram does not have.

import type { Batch } from "../entities.js";
import { MlflowError } from "../errors.js";
import { type SpoolEntry, type SpooledUpdate, batchSize } from "./spool.js";

/** States a job is in while it is in the table. */
export const LIVE_STATES = ["ready", "sending", "spooling", "held"] as const;
/** States a job leaves the table in. */
export const FINAL_STATES = ["acknowledged", "spooled", "rejected"] as const;
export const JOB_STATES = [...LIVE_STATES, ...FINAL_STATES] as const;
export type LiveState = (typeof LIVE_STATES)[number];
export type FinalState = (typeof FINAL_STATES)[number];
export type JobState = (typeof JOB_STATES)[number];

// A final state has no way out (the record's type says so: a move from one cannot be written).
const TRANSITIONS: Readonly<Record<LiveState, readonly JobState[]> & Record<FinalState, readonly []>> = {
  ready: ["sending", "spooling", "spooled"],
  sending: ["acknowledged", "rejected", "spooled", "spooling"],
  spooling: ["spooled", "held"],
  held: ["ready", "spooled"],
  acknowledged: [],
  spooled: [],
  rejected: [],
};

const movesFrom = (s: JobState): readonly JobState[] => TRANSITIONS[s];
const isFinal = (s: JobState): s is FinalState => (FINAL_STATES as readonly JobState[]).includes(s);

/** True when a flush has nothing more to wait for from this job: it is final, or held in memory. */
export const atRest = (s: JobState): boolean => s === "held" || isFinal(s);

export interface Job {
  readonly runId: string;
  readonly batch: Batch;
  /** Set for a status update (runs/update) instead of a log-batch request. */
  readonly update?: SpooledUpdate;
  /** Entities in the batch. */
  readonly count: number;
  readonly hasTags: boolean;
  /** The one state; changed only by JobTable.move. */
  readonly state: JobState;
  /** Set while the request's spool file is claimed by us (it came from the spool, or was detached). */
  entry?: SpoolEntry;
  /** Being written to the spool while its request is still out (Logger.detach). */
  detaching?: Promise<void>;
  /** Why it is held or was rejected. */
  error?: unknown;
  /** Its place in the journal (`<cut>\t<run>\t<k>`, journal.ts), for a request cut from journaled queues. */
  mark?: string;
  /** Resolves when the job comes to rest (see atRest); a held job going back to ready gets a new one. */
  readonly done: Promise<void>;
}

interface MutableJob extends Omit<Job, "state" | "done"> {
  state: JobState;
  done: Promise<void>;
  rest: () => void;
}

function arm(job: MutableJob): void {
  job.done = new Promise<void>((resolve) => (job.rest = resolve));
}

/** The jobs not yet final, in the order they were made (the order requests go out in). */
export class JobTable {
  private readonly live = new Set<MutableJob>();

  /** `onFinal` is told of every job reaching a final state (the logger's journal watermark). */
  constructor(private readonly onFinal?: (job: Job, state: FinalState) => void) {}
  private readonly counts = Object.fromEntries(LIVE_STATES.map((s) => [s, 0])) as Record<LiveState, number>;

  /** A new job: `ready` for a batch cut from the queues, `sending` when its request starts at once. */
  add(runId: string, batch: Batch, start: "ready" | "sending", entry?: SpoolEntry, update?: SpooledUpdate): Job {
    const job = { runId, batch, update, count: batchSize(batch), hasTags: !!batch.tags?.length, state: start, entry } as MutableJob;
    arm(job);
    this.live.add(job);
    this.counts[start]++;
    return job;
  }

  /** Moves a job to its next state; throws on a move the state machine does not have. */
  move(job: Job, to: JobState): void {
    const j = job as MutableJob;
    const from = j.state;
    if (!movesFrom(from).includes(to) || !this.live.has(j)) {
      const allowed = movesFrom(from).join(", ") || "none, it is final";
      throw new MlflowError("INTERNAL_ERROR", `A batch of run ${j.runId} cannot go from ${from} to ${to} (from ${from}: ${allowed}).`);
    }
    this.counts[from as LiveState]--;
    j.state = to;
    if (isFinal(to)) this.live.delete(j);
    else this.counts[to as LiveState]++;
    if (from === "held") arm(j);
    if (isFinal(to)) this.onFinal?.(j, to);
    if (atRest(to)) j.rest();
  }

  count(state: LiveState): number {
    return this.counts[state];
  }

  /** Live jobs in the given state, oldest first (a copy: moving them while iterating is safe). */
  inState(state: LiveState): Job[] {
    if (this.counts[state] === 0) return [];
    const out: Job[] = [];
    for (const j of this.live) if (j.state === state) out.push(j);
    return out;
  }

  /** Every live job, oldest first. */
  all(): Job[] {
    return [...this.live];
  }

  get size(): number {
    return this.live.size;
  }
}
