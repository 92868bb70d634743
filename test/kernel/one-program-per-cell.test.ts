// tslab's converter given TypeScript through oneProgramPerCell: one program build per cell
// instead of two, and exactly the output of the converter left as it is.
import { afterAll, describe, expect, it } from "vitest";
import { withDeclarationCache } from "../../kernel/compiler/declaration-cache.js";
import { oneProgramPerCell } from "../../kernel/compiler/one-program-per-cell.js";
import { withOverrides } from "../../kernel/compiler/typescript-overrides.js";
import { type Converter, loadConverter, ts, type TypeScript } from "../support/tslab-converter.js";
import { tempDir } from "./helpers.js";

const CELLS = [
  "const xs: number[] = [1, 2, 3].map((n) => n * 2);\nxs.length",
  "function twice(n: number): number { return n * 2; }\ntwice(xs[0])",
  "interface Point { x: number; y: number }\nconst p: Point = { x: 1, y: 2 };\np.x + p.y",
  "const [first, ...rest] = xs;\nlet counter = 0;\nclass Box { constructor(readonly v: number) {} }\nenum Color { Red, Green }",
  "p.x * 10", // declares nothing: one build either way
  "const later = await Promise.resolve(first);\nlater",
  'const wrong: number = "text";',
];

/** `ts` with every program tslab's watch program builds counted. */
function counting(base: TypeScript): { ts: TypeScript; builds(): number } {
  let builds = 0;
  const createWatchCompilerHost = (...args: unknown[]) => {
    const host = (base.createWatchCompilerHost as (...a: unknown[]) => import("@tslab/typescript-for-tslab").WatchCompilerHost<never>)(
      ...args,
    );
    const create = host.createProgram;
    host.createProgram = (...a) => (builds++, create(...a));
    return host;
  };
  return { ts: withOverrides(base, { createWatchCompilerHost }), builds: () => builds };
}

/** Converts CELLS in order, each through `around` (by default, directly). */
function convertAll(converter: Converter, around = <T>(_src: string, convert: () => T): T => convert()) {
  let declarations = "";
  return CELLS.map((src) => {
    const out = around(src, () => converter.convert(declarations, src));
    if (out.diagnostics.length === 0) declarations = out.declOutput ?? declarations;
    return out;
  });
}

const cwd = process.cwd();
const converters: { close(): void }[] = [];
afterAll(() => {
  for (const c of converters) c.close();
  process.chdir(cwd);
});

describe("one program per cell", () => {
  it("builds each cell's program once, with the same output, errors and declarations as tslab's two builds", () => {
    process.chdir(tempDir());
    const plain = counting(ts);
    const asIs = loadConverter(plain.ts).createConverter({ isJS: false, isBrowser: false });
    converters.push(asIs);
    const before = plain.builds();
    const expected = convertAll(asIs);
    const tslabBuilds = plain.builds() - before;

    const cells = oneProgramPerCell(ts);
    const counted = counting(cells.ts);
    const once = loadConverter(counted.ts).createConverter({ isJS: false, isBrowser: false });
    converters.push(once);
    const start = counted.builds();
    const actual = convertAll(once, (src, convert) => cells.converting(src, convert));
    const builds = counted.builds() - start;

    expect(actual).toEqual(expected);
    expect(expected.at(-1)!.diagnostics[0].messageText).toMatch(/Type 'string' is not assignable to type 'number'/);
    // tslab builds twice for each cell that declares something (all but "p.x * 10").
    expect(tslabBuilds).toBe(2 * CELLS.length - 1);
    expect(builds).toBe(CELLS.length);
  }, 60_000);

  // Declaration files served from a cache that another converter filled (a shared service's
  // second kernel, or a compiler snapshot) bypass the watch program's own versions: it
  // cannot tell that a cell's second build has nothing new to read.
  it("builds each cell's program once when declaration files come from a cache", () => {
    process.chdir(tempDir());
    const plain = loadConverter(ts).createConverter({ isJS: false, isBrowser: false });
    converters.push(plain);
    const expected = convertAll(plain);

    const built = counting(withDeclarationCache(ts).ts);
    const cells = oneProgramPerCell(built.ts);
    const tslab = loadConverter(cells.ts);
    const filler = tslab.createConverter({ isJS: false, isBrowser: false });
    const converter = tslab.createConverter({ isJS: false, isBrowser: false });
    converters.push(filler, converter);
    const start = built.builds();
    const actual = convertAll(converter, (src, convert) => cells.converting(src, convert));

    expect(actual).toEqual(expected);
    expect(built.builds() - start).toBe(CELLS.length);
  }, 60_000);
});
