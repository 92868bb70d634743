// The shared compiler service's spare converters (one made ahead per folder, for the next
// kernel there): made once a session has been quiet a moment after an answer, not while a
// notebook's cells arrive back to back, and not later than a while after a session opened.
import { afterEach, beforeEach, expect, it, vi, type MockInstance } from "vitest";
import { spareConverters } from "../../kernel/compiler/shared-service.js";
import { tempDir } from "./helpers.js";

// What a service writes to its log (its stderr) is checked here, not printed among the tests'.
let log: MockInstance<typeof process.stderr.write>;
beforeEach(() => {
  log = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => {
  vi.useRealTimers();
  log.mockRestore();
});

it("makes a folder's spare once its session is quiet after an answer, never between answers back to back", () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const spares = spareConverters();
  const dir = tempDir();
  spares.prepare(dir, 1_000); // a session opened
  vi.advanceTimersByTime(900);
  for (let cell = 0; cell < 5; cell++) {
    spares.prepare(dir, 100); // a cell answered; the next arrives 60 ms later
    vi.advanceTimersByTime(60);
  }
  // 1.2 s after the session opened, still inside the run of cells: no spare yet.
  expect(spares.take(dir)).toBeUndefined();
  spares.prepare(dir, 100); // the last cell answered
  vi.advanceTimersByTime(99);
  expect(spares.take(dir)).toBeUndefined();
  vi.advanceTimersByTime(1);
  const spare = spares.take(dir);
  expect(spare).toBeDefined();
  expect(log).toHaveBeenCalledWith(`spare converter ready for ${dir}\n`);
  expect(spare!.convert("", "const n: number = 1;\nn").diagnostics).toEqual([]);
  spare!.close();
  // Taken: the next kernel there has none until the next quiet moment.
  expect(spares.take(dir)).toBeUndefined();
});

it("makes it a while after a session opened when the session asks nothing", () => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const spares = spareConverters();
  const dir = tempDir();
  spares.prepare(dir, 1_000);
  vi.advanceTimersByTime(999);
  expect(spares.take(dir)).toBeUndefined();
  vi.advanceTimersByTime(1);
  const spare = spares.take(dir);
  expect(spare).toBeDefined();
  spare!.close();
});
