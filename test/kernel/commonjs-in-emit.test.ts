// tslab's converter given TypeScript through withCommonJsInEmit (the cell's program writes
// CommonJS itself; tslab's second step hands it back): the same output as the converter left
// as it is, cell by cell — imports of every kind, dynamic import, top-level await, earlier
// cells' names, local modules — and the same errors, declarations and last-expression names.
// Enums, namespaces and decorated classes set their export at another point of the same
// statements: those cells leave the same exports when run.
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { withCommonJsInEmit } from "../../kernel/compiler/commonjs-in-emit.js";
import { type Converter, convertersSideBySide, ts } from "../support/tslab-converter.js";

const FILES = {
  "local.ts":
    'export const where: string = "here";\nexport default function greet(n: string): string { return `hi ${n}`; }\nexport class K { constructor(public x: number) {} }\n',
  "helper.ts": 'import greet from "./local";\nexport const hello = greet("you");\n',
  "plain.js": "exports.answer = 42;\n",
  "esm.js": 'import { where } from "./local";\nexport const e = where.length;\nexport default function d() { return e; }\n',
};

/** Cells whose export is set at another point of the same statements (compared by running them). */
const PLACED_ELSEWHERE = new Set([
  "enum Color { Red, Green = 'g', Blue = 4 }\nColor.Green",
  "namespace NS { export const v = 3; }\nNS.v",
  "function dec(t: any, k: string) {}\nclass D { @dec m() {} }\nnew D()",
]);

const CELLS = [
  "1+1",
  'const a = 1; let b = "x"; var c = [1, 2];\na + c.length',
  "a + 1",
  'b = b + "y"; b',
  "function f(n: number): number { return n * a; }\nf(2)",
  'class P { #secret = 1; static count = 0; constructor(public name: string) { P.count++; } get s() { return this.#secret; } }\nnew P("q").s',
  ...PLACED_ELSEWHERE,
  "const enum Dir { Up = 1 }\nDir.Up",
  "interface I { x: number }\ntype T = I | string;\nconst i: I = { x: 2 };\ni",
  "const { p, q: [r, ...rest] } = { p: 1, q: [2, 3, 4] };\np + r + rest.length",
  'import * as fs from "fs";\nimport path, { join } from "path";\nimport { EventEmitter } from "events";\nimport type { Stats } from "fs";\nfs.existsSync(join("a", path.sep))',
  'import { readFileSync } from "fs";\nconst unused = 1;',
  'import "./local";\nimport greet, { where, K } from "./local";\ngreet(where) + new K(2).x',
  'import { hello } from "./helper";\nimport { answer } from "./plain";\nhello + answer',
  'const m = await import("./local");\nm.where',
  'import d, { e } from "./esm";\nd() + e',
  "await new Promise((r) => setTimeout(r, 1));\nconst later = await Promise.resolve(5);\nlater",
  "for (let i = 0; i < 3; i++) { setTimeout(() => i, 0); }\nlet s = 0; for (const x of [1,2,3]) s += x; s",
  "async function* gen() { yield 1; yield 2; }\nlet tot = 0; for await (const v of gen()) tot += v; tot",
  "const obj = { a, b, f };\nobj?.f?.(1) ?? 0",
  "declare const g: number;\ntypeof g",
  "let x1 = 1, y1 = 2;\n[x1, y1] = [y1, x1];\nx1",
  "const re = /a+/g; const big = 10n; const tpl = `${a} and ${b}`;\ntpl",
  "abstract class Shape { abstract area(): number; describe() { return this.area(); } }\nclass Sq extends Shape { constructor(private side: number) { super(); } area() { return this.side ** 2; } }\nnew Sq(3).describe()",
  "const tsLastExpr = 1;\ntsLastExpr + 1",
  'import { where as w2 } from "./local";\nconst combined = w2 + b;\ncombined',
  "let reassigned = 1;\nreassigned++;\nreassigned += 2;\nreassigned",
  'const { where: w3 } = await import("./local");\nw3',
  "var hoisted = 1; function h() { return hoisted; }\nh()",
  "/** doc */\nconst commented = 1; // trailing\n/* block */ commented",
  'const wrong: number = "text";',
  'import os = require("os");',
];

function session(converter: Converter) {
  let declarations = "";
  return CELLS.map((src) => {
    const out = converter.convert(declarations, src);
    if (out.diagnostics.length === 0) declarations = out.declOutput ?? declarations;
    return out;
  });
}

/** What running a cell's CommonJS leaves on a fresh exports object (names and what their values show as). */
function exportsAfterRunning(output: string): Record<string, string> {
  const exports: Record<string, unknown> = {};
  new Function("exports", "require", output)(exports, createRequire(import.meta.url));
  return Object.fromEntries(
    Object.entries(exports).map(([k, v]) => [k, typeof v === "function" ? `function ${v.name}` : JSON.stringify(v)]),
  );
}

describe("CommonJS written by the cell's program", () => {
  it("is tslab's output, with the same errors, declarations and local modules", () => {
    const { asIs, layered: inEmit } = convertersSideBySide(withCommonJsInEmit(ts), FILES);

    const expected = session(asIs);
    const actual = session(inEmit);
    CELLS.forEach((src, i) => {
      const { output: want, ...restWanted } = expected[i]!;
      const { output: got, ...rest } = actual[i]!;
      expect(rest, src).toEqual(restWanted);
      if (PLACED_ELSEWHERE.has(src)) {
        expect(got, src).not.toBe(want);
        expect(exportsAfterRunning(got!), src).toEqual(exportsAfterRunning(want!));
      } else {
        expect(got, src).toBe(want);
      }
    });

    // What the comparison covers: every cell but the two errors compiled; local modules; errors.
    expect(expected.filter((o) => o.diagnostics.length > 0).map((o) => o.diagnostics[0]!.messageText)).toEqual([
      expect.stringMatching(/not assignable to type 'number'/),
      expect.stringMatching(/Import assignment cannot be used/),
    ]);
    const cellWith = (part: string) => expected[CELLS.findIndex((c) => c.includes(part))]!;
    expect(cellWith("import greet, {").sideOutputs!.map((o) => path.basename(o.path))).toEqual(["local.js"]);
    expect(cellWith('from "./helper"').sideOutputs!.map((o) => path.basename(o.path))).toEqual(["helper.js", "plain.js"]);
    expect(cellWith('from "./esm"').sideOutputs!.map((o) => path.basename(o.path))).toEqual(["esm.js"]);
    expect(expected.find((o) => o.output?.includes("Promise.resolve().then(() => __importStar(require"))).toBeDefined();
  }, 60_000);
});
