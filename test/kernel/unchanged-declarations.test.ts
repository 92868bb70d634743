// Earlier cells' declarations parsed again only when their text changed
// (kernel/compiler/unchanged-declarations.ts): the watch program hears of `__prev__.d.ts` only
// when its text differs from what it last heard of, and tslab's converter given TypeScript
// through it converts, completes and inspects exactly as the converter left as it is.
import { describe, expect, it } from "vitest";
import type * as TS from "@tslab/typescript-for-tslab";
import { withUnchangedDeclarationsKept } from "../../kernel/compiler/unchanged-declarations.js";
import { type Converter, convertersSideBySide, ts } from "../support/tslab-converter.js";

/** The system the watch host is made with, as the override hands it on; and what its watchers heard. */
function watchedThrough() {
  const texts = new Map<string, string>();
  const watchers = new Map<string, TS.FileWatcherCallback>();
  const system = {
    readFile: (file: string) => texts.get(file),
    watchFile: (file: string, callback: TS.FileWatcherCallback) => {
      watchers.set(file, callback);
      return { close() {} };
    },
  } as unknown as TS.System;
  let handedOn: TS.System | undefined;
  const fake = Object.create(ts, {
    createWatchCompilerHost: { value: (...args: unknown[]) => (handedOn = args[2] as TS.System) },
  }) as typeof ts;
  withUnchangedDeclarationsKept(fake).createWatchCompilerHost([], {}, system);
  const heard: string[] = [];
  for (const file of ["/nb/__prev__.d.ts", "/nb/__tslab__.ts"]) handedOn!.watchFile!(file, (name, kind) => heard.push(`${name} ${kind}`));
  const change = (file: string, text: string) => {
    texts.set(file, text);
    watchers.get(file)!(file, ts.FileWatcherEventKind.Changed);
  };
  return { heard, change };
}

describe("earlier cells' declarations", () => {
  it("reach the watch program only when their text changed; the cell's file always does", () => {
    const { heard, change } = watchedThrough();
    const changed = (file: string) => `${file} ${ts.FileWatcherEventKind.Changed}`;
    change("/nb/__prev__.d.ts", "export {};\n");
    change("/nb/__prev__.d.ts", "export {};\n");
    change("/nb/__tslab__.ts", "1");
    change("/nb/__tslab__.ts", "1");
    change("/nb/__prev__.d.ts", "export {};\ndeclare const a: number;\n");
    change("/nb/__prev__.d.ts", "export {};\ndeclare const a: number;\n");
    const [prev, cell] = ["/nb/__prev__.d.ts", "/nb/__tslab__.ts"].map(changed);
    expect(heard).toEqual([prev, cell, cell, prev]);
  });

  it("convert, complete and inspect as tslab's converter does, across cells that declare and cells that do not", () => {
    const CELLS = [
      "const a: number = 1;\na",
      "a + 1",
      "a * 2",
      "const a: string = 'shadowed';\na",
      "a.length",
      "const n: number = a;",
      "function f(x: number) { return x + 1; }\nf(2)",
      "f(3)",
      "type T = { k: string };\nconst t: T = { k: a };",
      "t.k",
    ];
    const session = (converter: Converter) => {
      let declarations = "";
      const converted = CELLS.map((src) => {
        const out = converter.convert(declarations, src);
        if (out.diagnostics.length === 0) declarations = out.declOutput ?? declarations;
        return out;
      });
      const { candidates } = converter.complete(declarations, "t.", 2);
      const hover = converter.inspect(declarations, "f(1)", 0);
      return { converted, candidates, hover: hover?.displayParts?.map((p) => p.text).join("") };
    };
    const { asIs, layered: kept } = convertersSideBySide(withUnchangedDeclarationsKept(ts));
    const expected = session(asIs);
    expect(session(kept)).toEqual(expected);
    // What the comparison covers: a type error against the shadowing declaration, completion, hover.
    expect(expected.converted[5]!.diagnostics[0]!.messageText).toMatch(/'string' is not assignable to type 'number'/);
    expect(expected.candidates).toEqual(["k"]);
    expect(expected.hover).toMatch(/function f\(x: number\): number/);
  }, 60_000);
});
