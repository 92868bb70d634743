// The first converter's recursive directory watches (deferred-watches.ts): set up a second
// after its program, off the first cell's path, and a package installed in that second is
// still found.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { withDeferredRecursiveWatches } from "../../kernel/compiler/deferred-watches.js";
import { withCombinedTimers } from "../../kernel/compiler/watch-timers.js";
import { type Converter, loadConverter, ts } from "../support/tslab-converter.js";
import { installGreetPackage, tempDir } from "./helpers.js";

const cwd = process.cwd();
const converters: Converter[] = [];
afterEach(() => vi.restoreAllMocks());
afterAll(() => {
  for (const c of converters) c.close();
  process.chdir(cwd);
});

describe("deferred recursive watches", () => {
  it("sets them up a second after the first program, and finds a package installed meanwhile", async () => {
    const dir = tempDir();
    process.chdir(dir);
    fs.mkdirSync(path.join(dir, "node_modules"));
    const recursive: string[] = [];
    let setUp!: () => void;
    const notebookFolderWatched = new Promise<void>((resolve) => (setUp = resolve));
    const watchDirectory = ts.sys.watchDirectory!;
    vi.spyOn(ts.sys, "watchDirectory").mockImplementation((directory, callback, isRecursive, options) => {
      if (isRecursive) {
        recursive.push(directory);
        if (directory.startsWith(dir)) setUp();
      }
      return watchDirectory.call(ts.sys, directory, callback, isRecursive, options);
    });
    const layered = withCombinedTimers(withDeferredRecursiveWatches(ts));
    const converter = loadConverter(layered).createConverter({ isJS: false, isBrowser: false });
    converters.push(converter);
    const convert = (src: string) => converter.convert("", src).diagnostics.map((d) => d.messageText);

    expect(convert('import { greet } from "late-package";\ngreet("x")')).toEqual([
      expect.stringMatching(/Cannot find module 'late-package'/),
    ]);
    // The failed lookup is watched, but not yet: the walk below node_modules waits.
    expect(recursive).toEqual([]);
    installGreetPackage(dir, "late-package");
    await notebookFolderWatched;
    // Its folder reported as changed when the watch was set up: the lookup is tried again.
    expect(convert('import { greet } from "late-package";\ngreet("x")')).toEqual([]);
  }, 60_000);

  it("sets up a later converter's at once (spares are made off any cell's path)", () => {
    const dir = tempDir();
    process.chdir(dir);
    fs.mkdirSync(path.join(dir, "node_modules"));
    const recursive: string[] = [];
    const watchDirectory = ts.sys.watchDirectory!;
    vi.spyOn(ts.sys, "watchDirectory").mockImplementation((directory, callback, isRecursive, options) => {
      if (isRecursive) recursive.push(directory);
      return watchDirectory.call(ts.sys, directory, callback, isRecursive, options);
    });
    const module = loadConverter(withCombinedTimers(withDeferredRecursiveWatches(ts)));
    const first = module.createConverter({ isJS: false, isBrowser: false });
    converters.push(first);
    expect(recursive).toEqual([]);
    const second = module.createConverter({ isJS: false, isBrowser: false });
    converters.push(second);
    // The @types folders its program found, watched for packages added to them.
    expect(recursive.length).toBeGreaterThan(0);
  }, 60_000);
});
