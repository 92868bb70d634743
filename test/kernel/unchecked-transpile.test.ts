// tslab's CommonJS step without a type check (kernel/compiler/unchecked-transpile.ts): the
// same output and source map as TypeScript's transpileModule, for what tslab's programs emit.
import { afterAll, describe, expect, it } from "vitest";
import { withUncheckedTranspile } from "../../kernel/compiler/unchecked-transpile.js";
import { type Converter, loadConverter, ts } from "../support/tslab-converter.js";
import { tempDir } from "./helpers.js";

/** tslab's options for the step (esModuleToCommonJSModule), with the source map the kernel asks for. */
const STEP = {
  fileName: "custom.js",
  compilerOptions: {
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    newLine: ts.NewLineKind.LineFeed,
    noImplicitUseStrict: true,
    sourceMap: true,
  },
};

/** ES modules as tslab's programs emit them: imports, exports of every kind, and what refers to them. */
const MODULES = [
  'import fs from "fs";\nimport { join as j } from "path";\nimport * as os from "os";\nimport "process";\nexport const tsLastExpr = j(fs.x, os.EOL);',
  "export let n = 0;\nn++;\nn += 2;\n[n] = [3];\n({ n } = { n: 4 });\nfunction inner() { let n = 9; return n; }\nexport { inner };",
  'export const { a, b: [c, ...rest] } = { a: 1, b: [2, 3] };\nexport default class Box { static count = 0; #v = 1; get v() { return this.#v; } }\nexport * from "util";\nexport * as u from "url";',
  'export async function* gen() { yield await Promise.resolve(1); }\nconst mod = await import("fs");\nexport const tsLastExpr = mod;\nouter: for (const x of [1]) { for (;;) break outer; }',
  "export {};\n",
  'import React from "react";\nexport const el = React.createElement("div", { id: "x" }, "hi");\nexport function f() { return arguments.length; }',
  'export var v = 1, w = v + 1;\nexport class C extends Array {}\nexport { v as vee, w as default };\nimport { readFile } from "fs/promises";\nexport const r = readFile;\nlabel: { break label; }',
];

describe("tslab's CommonJS step without a type check", () => {
  const unchecked = withUncheckedTranspile(ts);

  it("writes TypeScript's own output and source map for each module", () => {
    for (const input of MODULES) {
      const expected = ts.transpileModule(input, STEP);
      const actual = unchecked.transpileModule(input, STEP);
      expect(actual.outputText).toBe(expected.outputText);
      expect(actual.sourceMapText).toBe(expected.sourceMapText);
    }
    // Sanity: the step does rewrite (an export became an `exports.` assignment).
    expect(unchecked.transpileModule(MODULES[1], STEP).outputText).toContain("exports.n = 0;");
  });

  it("leaves other calls to TypeScript's own (which reports diagnostics when asked)", () => {
    const out = unchecked.transpileModule("let x = ;", { ...STEP, reportDiagnostics: true });
    expect(out.diagnostics?.map((d) => d.code)).toContain(1109); // Expression expected.
  });
});

const cwd = process.cwd();
const converters: Converter[] = [];
afterAll(() => {
  for (const c of converters) c.close();
  process.chdir(cwd);
});

describe("tslab's converter given it", () => {
  it("converts cells, and a local module they import, exactly as before", () => {
    const dir = tempDir();
    process.chdir(dir);
    const cells = [
      'import { helper } from "./helper";\nconst xs: number[] = [1, 2, 3].map((n) => helper(n));\nxs.length',
      "let total = 0;\nfor (const x of xs) total += x;\ntotal",
      "total += 1;\nfunction twice(n: number): number { return n * 2 + total; }\ntwice(xs[0])",
      "class Box<T> { constructor(readonly v: T) {} }\nenum Color { Red, Green }\nconst b = new Box(Color.Green);\nb.v",
      "const later = await Promise.resolve(total);\nlater",
    ];
    ts.sys.writeFile(`${dir}/helper.ts`, "export function helper(n: number): number { return n + 1; }\n");
    const convertAll = (converter: Converter) => {
      let declarations = "";
      return cells.map((src) => {
        const out = converter.convert(declarations, src);
        declarations = out.declOutput ?? declarations;
        return out;
      });
    };
    const asIs = loadConverter(ts).createConverter({ isJS: false, isBrowser: false });
    const withStep = loadConverter(withUncheckedTranspile(ts)).createConverter({ isJS: false, isBrowser: false });
    converters.push(asIs, withStep);
    const expected = convertAll(asIs);
    expect(expected.every((o) => o.diagnostics.length === 0)).toBe(true);
    expect(expected[0].sideOutputs?.[0].data).toContain("exports.helper = helper;");
    expect(convertAll(withStep)).toEqual(expected);
  }, 60_000);
});
