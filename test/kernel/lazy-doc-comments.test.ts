// Declaration files parsed without their documentation comments, which are parsed when first
// asked for (kernel/compiler/lazy-doc-comments.ts): the text keeps its length and every token,
// the parse keeps its tree, and tslab's converter given TypeScript through the layer converts,
// completes and inspects (documentation included) exactly as the converter left as it is.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type * as TS from "@tslab/typescript-for-tslab";
import { withLazyDocComments, withoutDocComments } from "../../kernel/compiler/lazy-doc-comments.js";
import { type Converter, convertersSideBySide, ts } from "../support/tslab-converter.js";

/** Every token of `text` as TypeScript parses it (kind, position, and a literal's or name's text), and the documentation comments it attaches. */
function parsed(text: string) {
  const tokens: string[] = [];
  let docs = 0;
  const visit = (node: TS.Node) => {
    const literal = (node as { text?: unknown }).text;
    tokens.push(`${node.kind}@${node.pos}-${node.end}${typeof literal === "string" ? `:${literal}` : ""}`);
    docs += (node as { jsDoc?: unknown[] }).jsDoc?.length ?? 0;
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(ts.createSourceFile("file.d.ts", text, ts.ScriptTarget.ES2022), visit);
  return { tokens, docs };
}

const require = createRequire(import.meta.url);
const tslabTypeScript = path.dirname(createRequire(require.resolve("tslab/dist/converter.js")).resolve("@tslab/typescript-for-tslab"));

/** The declaration files a cell's program loads: the es2022 lib and @types/node. */
function declarationFiles(): string[] {
  const node = path.dirname(require.resolve("@types/node/package.json"));
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? walk(p) : p.endsWith(".d.ts") ? [p] : [];
    });
  const lib = fs.readdirSync(tslabTypeScript).filter((f) => /^lib\.(es\d|es5|decorators)/.test(f));
  return [...walk(node), ...lib.map((f) => path.join(tslabTypeScript, f))];
}

describe("documentation comments made plain", () => {
  it("only outside strings, template literals and other comments, each keeping the text's length", () => {
    const text = [
      "/** doc */ declare const a: number;",
      'declare const b: "/** not a comment */";',
      "declare const c: '/** nor this \\' /** */';",
      "type T = `x${'/**'}${{ a: `/** ${'}'} */` }['a']}/**`;",
      "// a line comment /** with no doc in it",
      "/* plain /** inside */ declare const d: 1;",
      "/**/ declare const e: 2;",
      "/***/ declare const f: 3;",
      "/** @deprecated use g2 */ declare const g: 4;",
      "/**\n * Two lines.\n */\ndeclare function h(): void;",
    ].join("\n");
    const out = withoutDocComments(text);
    expect(out.length).toBe(text.length);
    expect(out.split("\n")).toEqual([
      "/*  doc */ declare const a: number;",
      'declare const b: "/** not a comment */";',
      "declare const c: '/** nor this \\' /** */';",
      "type T = `x${'/**'}${{ a: `/** ${'}'} */` }['a']}/**`;",
      "// a line comment /** with no doc in it",
      "/* plain /** inside */ declare const d: 1;",
      "/**/ declare const e: 2;",
      "/* */ declare const f: 3;",
      "/** @deprecated use g2 */ declare const g: 4;",
      "/* ",
      " * Two lines.",
      " */",
      "declare function h(): void;",
    ]);
    expect(parsed(out).tokens).toEqual(parsed(text).tokens);
    expect([parsed(text).docs, parsed(out).docs]).toEqual([4, 1]);
    expect(withoutDocComments("declare const x: 1;")).toBe("declare const x: 1;");
  });

  it("in every declaration file a cell loads: the same tree, with only @deprecated comments still parsed", () => {
    const files = declarationFiles();
    expect(files.length).toBeGreaterThan(100);
    let before = 0;
    let after = 0;
    for (const file of files) {
      const text = fs.readFileSync(file, "utf8");
      const out = withoutDocComments(text);
      expect(out.length, file).toBe(text.length);
      const whole = parsed(text);
      const stripped = parsed(out);
      expect(stripped.tokens, file).toEqual(whole.tokens);
      before += whole.docs;
      after += stripped.docs;
      expect(stripped.docs, file).toBe((out.match(/\/\*\*(?!\/)[^]*?\*\//g) ?? []).filter((c) => c.includes("@deprecated")).length);
    }
    // What the comparison covers: thousands of comments made plain, the deprecated ones kept.
    expect(before).toBeGreaterThan(3000);
    expect(after).toBeGreaterThan(50);
    expect(after).toBeLessThan(before / 10);
  }, 60_000);
});

describe("tslab's converter given TypeScript through the layer", () => {
  it("converts, completes and inspects exactly as before, documentation and deprecations included", () => {
    const session = (converter: Converter) => {
      const converted = [
        "import fs from 'fs';\nconst n: number = Math.max(1, 2);",
        "const s: string = 1;",
        "const t = 'abc'.substr(1);\nt",
      ].map((src) => converter.convert("", src));
      // String's members, ordered with the deprecated ones (substr) last.
      const candidates = converter.complete("", "'x'.", 4).candidates;
      const hover = (src: string, pos: number) => {
        const info = converter.inspect("", src, pos);
        return {
          display: ts.displayPartsToString(info?.displayParts),
          documentation: ts.displayPartsToString(info?.documentation),
          tags: (info?.tags ?? []).map((t) => `${t.name} ${ts.displayPartsToString(t.text)}`),
        };
      };
      const hovers = [
        hover("Math.max", 6),
        hover("import fs from 'fs';\nfs.readFileSync", 36),
        hover("'x'.substr", 8),
        hover("[1].map", 6),
        hover("process.cwd", 10),
        hover("setTimeout", 5),
      ];
      return { converted, candidates, hovers };
    };
    const { asIs, layered } = convertersSideBySide(withLazyDocComments(ts));
    const expected = session(asIs);
    expect(session(layered)).toEqual(expected);
    // What the comparison covers: a type error, deprecated members ordered last, documentation and tags.
    expect(expected.converted[1]!.diagnostics[0]!.messageText).toMatch(/'number' is not assignable to type 'string'/);
    expect(expected.candidates.indexOf("substr")).toBeGreaterThan(expected.candidates.indexOf("toUpperCase"));
    expect(expected.hovers.map((h) => h.documentation.length > 0)).toEqual([true, true, true, true, true, true]);
    expect(expected.hovers[0]!.documentation).toMatch(/Returns the larger of a set of supplied numeric expressions/);
    expect(expected.hovers[1]!.tags.join("\n")).toMatch(/since v0\.1\.8/);
    expect(expected.hovers[2]!.tags.join("\n")).toMatch(/deprecated/);
  }, 60_000);

  it("gives the files their comments while the compiler is idle, with no inspection asked", async () => {
    let attached!: () => void;
    const allAttached = new Promise<void>((resolve) => (attached = resolve));
    const { asIs, layered } = convertersSideBySide(withLazyDocComments(ts, { allAttached: attached }));
    expect(layered.convert("", "const n: number = Math.max(1, 2);").diagnostics).toEqual([]);
    await allAttached;
    const documentation = (c: Converter) => ts.displayPartsToString(c.inspect("", "Math.max", 6)?.documentation);
    expect(documentation(layered)).toBe(documentation(asIs));
    expect(documentation(asIs)).toMatch(/Returns the larger/);
  }, 60_000);
});
