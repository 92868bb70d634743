// The watchdog of one logging process: started by its Journal (detached, in its own process
// group, so a signal to the kernel's group spares it) with the read end of a pipe as stdin.
// EOF on stdin is the event that the process is gone (killed, crashed or closed): then the
// journal, if it is still there, is turned into spool files (its open runs KILLED, the KILLED
// statuses first) and the spool is delivered to the store. Bounded: after WATCHDOG_LIFETIME_MS
// it stops; what is left waits in the spool for the next start or `tslab-mlflow sync`.
//
// argv: <journal file> <spool dir>; the store's URI is in TSLAB_MLFLOW_WATCHDOG_URI (a command
// line is public to `ps`, a URI may hold credentials), the rest of the environment inherited.

import { existsSync } from "node:fs";
import { openStore } from "../open-store.js";
import { recoverJournals } from "./journal-recovery.js";
import { Logger } from "./logger.js";
import { Spool } from "./spool.js";

export const WATCHDOG_LIFETIME_MS = 600_000;

async function afterEof(journal: string, spoolDir: string, uri: string): Promise<void> {
  if (!existsSync(journal)) return; // closed cleanly: nothing to do
  const spool = new Spool(spoolDir, uri);
  // Few, short retries: a store that is down now is left to the next start or `sync`, rather
  // than kept waiting on for minutes by a process nobody sees.
  const store = openStore(uri, process.env, { maxRetries: 2, backoffMs: 1_000 });
  const logger = new Logger(store, { spoolDir, exitHooks: false });
  try {
    // KILLED statuses are delivered as soon as they are written, the backlog after them.
    let first: Promise<void> | undefined;
    await recoverJournals(spool, journal, () => (first = logger.deliverSpool().catch(() => undefined)));
    await first;
    await logger.deliverSpool();
  } finally {
    await logger.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

const [journal, spoolDir] = process.argv.slice(2);
const uri = process.env.TSLAB_MLFLOW_WATCHDOG_URI;
if (!journal || !spoolDir || !uri) {
  process.stderr.write("usage: TSLAB_MLFLOW_WATCHDOG_URI=<tracking URI> watchdog <journal file> <spool dir>\n");
  process.exit(2);
}
process.stdin.on("data", () => undefined);
process.stdin.on("error", () => undefined);
process.stdin.once("close", () => {
  setTimeout(() => process.exit(0), WATCHDOG_LIFETIME_MS).unref();
  afterEof(journal, spoolDir, uri).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.stdin.resume();
