// The declaration files a compiler process shares between converters (declaration-cache.ts):
// served without a stat per file while a watch on their folder vouches for them, and read
// again once a file changes.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { withDeclarationCache } from "../../kernel/compiler/declaration-cache.js";
import { type Converter, loadConverter, ts } from "../support/tslab-converter.js";
import { tempDir } from "./helpers.js";

const cwd = process.cwd();
const converters: Converter[] = [];
afterEach(() => vi.restoreAllMocks());
afterAll(() => {
  for (const c of converters) c.close();
  process.chdir(cwd);
});

/** Resolves at the next event a watch of `dir` reports (the cache's own watch of it reports the same one). */
function nextEventIn(dir: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = fs.watch(dir, () => {
      watcher.close();
      resolve();
    });
  });
}

describe("declaration cache", () => {
  it("serves unchanged files without a stat, and reads a file again once it changes", async () => {
    const dir = tempDir();
    process.chdir(dir);
    // An @types package of the notebook's folder: every program includes it.
    const types = path.join(dir, "node_modules", "@types", "answers");
    fs.mkdirSync(types, { recursive: true });
    const globals = path.join(types, "index.d.ts");
    fs.writeFileSync(globals, "declare const answer: number;\n");
    const converter = loadConverter(withDeclarationCache(ts).ts).createConverter({ isJS: false, isBrowser: false });
    converters.push(converter);
    const convert = (src: string) => converter.convert("", src).diagnostics.map((d) => d.messageText);

    expect(convert("answer + 1")).toEqual([]);
    const stat = vi.spyOn(fs, "statSync");
    expect(convert("answer * 2")).toEqual([]);
    // (tslab's declarations of earlier cells are a .d.ts only in memory: asked for, and not found, every time.)
    const statted = stat.mock.calls.map(([file]) => String(file)).filter((file) => file.endsWith(".d.ts") && fs.existsSync(file));
    expect(statted).toEqual([]);

    const changed = nextEventIn(types);
    fs.writeFileSync(globals, "declare const answer: string;\n");
    await changed;
    expect(convert("answer.toUpperCase()")).toEqual([]);
    expect(convert("answer * 2")).toEqual([
      expect.stringMatching(/The left-hand side of an arithmetic operation must be of type 'any', 'number', 'bigint'/),
    ]);
    expect(stat.mock.calls.some(([file]) => file === globals)).toBe(true);
  }, 60_000);
});
