// The control worker's re-raised interrupts (kernel/interrupt-state.ts): SIGINT is raised
// again while the same cell runs and the main thread has not taken it, and never otherwise.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InterruptState } from "../../kernel/interrupt-state.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("interrupt state", () => {
  it("raises again every 100 ms while the running cell has not taken the interrupt, then stops when it does", () => {
    const main = new InterruptState();
    const worker = new InterruptState(main.buffer); // the worker's view of the same memory
    let signals = 0;
    main.cellStarted(1);
    worker.raise(() => signals++);
    expect(signals).toBe(1);
    vi.advanceTimersByTime(250);
    expect(signals).toBe(3);
    main.handled();
    vi.advanceTimersByTime(1000);
    expect(signals).toBe(3);
  });

  it("stops when the cell ends, and gives up after 10 retries", () => {
    const state = new InterruptState();
    let signals = 0;
    state.cellStarted(7);
    state.raise(() => signals++);
    vi.advanceTimersByTime(100);
    state.cellEnded();
    vi.advanceTimersByTime(1000);
    expect(signals).toBe(2);

    state.cellStarted(8);
    signals = 0;
    state.raise(() => signals++);
    vi.advanceTimersByTime(5000);
    expect(signals).toBe(11);
  });

  it("raises once when no cell runs, or when the next cell has started", () => {
    const state = new InterruptState();
    let signals = 0;
    state.raise(() => signals++);
    vi.advanceTimersByTime(1000);
    expect(signals).toBe(1);

    state.cellStarted(3);
    signals = 0;
    state.raise(() => signals++);
    state.cellEnded();
    state.cellStarted(4);
    vi.advanceTimersByTime(1000);
    expect(signals).toBe(1);
  });

  it("an interrupt taken before a later request does not count for it", () => {
    const state = new InterruptState();
    let signals = 0;
    state.cellStarted(1);
    state.raise(() => signals++);
    state.handled();
    state.raise(() => signals++);
    vi.advanceTimersByTime(100);
    expect(signals).toBe(3);
  });
});
