// What an interrupted cell reports, and the error an interrupt throws into a cell's code.

import type { ErrorContent } from "../protocol/messages.js";

const INTERRUPTED = "Interrupted";

/** The error content for an interrupted cell. */
export const interruptedError = (): ErrorContent => ({
  ename: INTERRUPTED,
  evalue: "execution was interrupted",
  traceback: [`${INTERRUPTED}: execution was interrupted`],
});

/**
 * Thrown into a cell's code at the await it is waiting on when the user interrupts, so
 * its `finally` blocks run; also what the executor's interrupted wait rejects with.
 */
export class InterruptSignal extends Error {
  constructor() {
    super("execution was interrupted");
    this.name = INTERRUPTED;
  }
}
