// The logger's offline side: whether the store counts as reachable, when to probe it again,
// and delivery of the spool's files back to the store: oldest first, one file probing the
// store while offline, several at a time once it answers. Each claimed file goes through
// the Logger's own send loop, so a batch from the spool is acknowledged, released or
// quarantined exactly like a fresh one.

import type { DeliveryFailure } from "./logger-jobs.js";
import type { Spool, SpoolEntry } from "./spool.js";

/** What spool delivery needs from the Logger. */
export interface SpoolSender {
  /** Sends a claimed file's request; resolves once it is acknowledged, released or quarantined. */
  sendEntry(entry: SpoolEntry): Promise<void>;
  report(failure: DeliveryFailure): void;
}

export class SpoolDelivery {
  /** True after a request failed, until a delivery succeeds again. */
  offline = false;
  private nextProbe = 0;
  private delivering?: Promise<void>;
  private again = false;

  constructor(
    private readonly spool: Spool,
    private readonly maxInFlight: number,
    private readonly probeIntervalMs: number,
    private readonly sender: SpoolSender,
  ) {}

  /** A request failed or did not answer in time: new batches go to the spool, which is probed now and then. */
  goOffline(): void {
    if (!this.offline) this.nextProbe = Date.now() + this.probeIntervalMs;
    this.offline = true;
  }

  /** The delivery round under way, if any. */
  get current(): Promise<void> | undefined {
    return this.delivering;
  }

  /** Called by the Logger's timer. */
  tick(): void {
    // Offline: probe now and then. Online with spooled batches (a request that was in flight
    // when we went offline succeeded): deliver them without waiting for a flush.
    if ((this.offline || this.spool.size > 0) && !this.delivering && Date.now() >= this.nextProbe) {
      this.nextProbe = Date.now() + this.probeIntervalMs;
      void this.deliver().catch(() => {});
    }
  }

  /** Delivers the spool's files, oldest first, while the store accepts them. */
  deliver(): Promise<void> {
    if (this.delivering) {
      // The round under way listed the spool before the caller's files (a status update just
      // spooled, a detached batch just acknowledged): one more round once it ends.
      this.again = true;
      return this.delivering;
    }
    this.delivering = (async () => {
      do {
        this.again = false;
        await this.deliverNow();
      } while (this.again && !this.offline);
    })().finally(() => (this.delivering = undefined));
    return this.delivering;
  }

  private async deliverNow(): Promise<void> {
    const names = await this.spool.scan();
    if (this.offline && names.length === 0) this.offline = false;
    // Offline, one batch probes the store (the first one this process manages to claim);
    // once one gets through, the rest go several at a time.
    while (names.length && this.offline) if (await this.sendFile(names.shift()!)) break;
    while (names.length && !this.offline) {
      // Several at a time, but a file that keeps order (a status update, a batch with tags)
      // only starts a group: everything older is settled by then.
      const group = [names.shift()!];
      while (names.length && group.length < this.maxInFlight && !this.spool.isOrdered(names[0])) group.push(names.shift()!);
      await Promise.all(group.map((n) => this.sendFile(n)));
    }
  }

  /**
   * Claims and sends one spool file; false when there was nothing to send (claimed elsewhere,
   * unreadable, or an ordered file whose run still has older files waiting: it stays for later).
   */
  private async sendFile(name: string): Promise<boolean> {
    const runId = this.spool.runOf(name);
    if (this.spool.isOrdered(name) && runId !== undefined && (await this.spool.holdsOlder(runId, name))) return false;
    let entry: SpoolEntry | undefined;
    try {
      entry = await this.spool.claim(name);
    } catch (error) {
      this.sender.report({ runId: "", count: 0, error, disposition: "rejected" });
      return false;
    }
    if (!entry) return false;
    await this.sender.sendEntry(entry);
    return true;
  }
}
