// tslab's converter given TypeScript through withLightBuilder (plain programs instead of
// TypeScript's builder state): the same outputs, errors, declarations, local modules,
// completions and hover text as the converter left as it is.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { withLightBuilder } from "../../kernel/compiler/light-builder.js";
import { type Converter, convertersSideBySide, ts } from "../support/tslab-converter.js";

/** Local modules next to the notebook: a chain of two .ts files and a .js file. */
const FILES = {
  "helper.ts": "export const factor: number = 3;\n",
  "util.ts":
    'import { factor } from "./helper";\nimport path from "node:path";\nexport function scaled(n: number): number { return n * factor; }\nexport const base = path.basename("/a/b.txt");\n',
  "plain.js": "exports.answer = 42;\n",
  "unused.ts": "export const never: string = 1 as unknown as string;\n",
};

const CELLS = [
  "const xs: number[] = [1, 2, 3].map((n) => n * 2);\nxs.length",
  'import { scaled, base } from "./util";\nscaled(xs[0]) + base.length',
  'import { answer } from "./plain";\nanswer',
  "function twice(n: number): number { return n * 2; }\ntwice(scaled(1))",
  "type Pair = [number, string];\nconst pair: Pair = [scaled(2), base];",
  'const wrong: number = scaled("text");',
  "const later = await Promise.resolve(xs[1]);\nlater",
];

/** Every cell converted in order, then a completion and a hover in the last declarations. */
function session(converter: Converter) {
  let declarations = "";
  const converted = CELLS.map((src) => {
    const out = converter.convert(declarations, src);
    if (out.diagnostics.length === 0) declarations = out.declOutput ?? declarations;
    return out;
  });
  const member = "xs.fi";
  const { start, end, candidates } = converter.complete(declarations, member, member.length);
  const hover = converter.inspect(declarations, "scaled(2)", 2);
  return { converted, completion: { start, end, candidates }, hover: hover?.displayParts?.map((p) => p.text).join("") };
}

describe("light builder", () => {
  it("converts, checks local modules, completes and inspects exactly as tslab's builder", () => {
    const { asIs, layered: light } = convertersSideBySide(withLightBuilder(ts), FILES);

    const expected = session(asIs);
    const actual = session(light);
    expect(actual).toEqual(expected);

    // What the comparison covers: local modules emitted once, with their imports; errors; completions.
    const modules = expected.converted[1]!.sideOutputs!.map((o) => path.basename(o.path));
    expect(modules).toEqual(["helper.js", "util.js"]);
    expect(expected.converted[2]!.sideOutputs!.map((o) => path.basename(o.path))).toEqual(["plain.js"]);
    expect(expected.converted[5]!.diagnostics[0]!.messageText).toMatch(/not assignable to parameter of type 'number'/);
    expect(expected.completion.candidates).toEqual(expect.arrayContaining(["filter", "find"]));
    expect(expected.hover).toMatch(/scaled\(n: number\): number/);
  }, 60_000);
});
