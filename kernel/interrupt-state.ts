// Interrupts as the control worker and the main thread share them.
//
// An interrupt_request makes the control worker raise SIGINT. vm's breakOnSigint stops a
// cell's synchronous code only for a signal that arrives while that code runs; one that lands
// just before (as the cell's type-check ends) goes to the process's SIGINT listener, which
// runs only after the code has finished: the interrupt would be lost. So the worker raises
// SIGINT again every 100 ms (10 times at most) while the same cell is still running and the
// main thread has not taken the interrupt. Shared memory: the worker reads it while the main
// thread is busy.

const REQUESTED = 0;
const HANDLED = 1;
const CELL = 2;
const RETRY_MS = 100;
const RETRIES = 10;

export class InterruptState {
  private readonly view: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)) {
    this.view = new Int32Array(buffer);
  }

  // ---- main thread -------------------------------------------------------

  /** A cell (numbered by the caller, > 0) starts running. */
  cellStarted(cell: number): void {
    Atomics.store(this.view, CELL, cell);
  }

  cellEnded(): void {
    Atomics.store(this.view, CELL, 0);
  }

  /** The process's SIGINT listener ran: every interrupt requested so far was taken. */
  handled(): void {
    Atomics.store(this.view, HANDLED, Atomics.load(this.view, REQUESTED));
  }

  // ---- control worker ----------------------------------------------------

  /** Raises SIGINT for a new interrupt_request, and again while it has not taken effect. */
  raise(signal: () => void = () => process.kill(process.pid, "SIGINT")): void {
    const id = Atomics.add(this.view, REQUESTED, 1) + 1;
    const cell = Atomics.load(this.view, CELL);
    const pending = () => cell !== 0 && Atomics.load(this.view, CELL) === cell && Atomics.load(this.view, HANDLED) < id;
    let tries = 0;
    const attempt = () => {
      signal();
      if (++tries <= RETRIES) setTimeout(() => pending() && attempt(), RETRY_MS).unref();
    };
    attempt();
  }
}
