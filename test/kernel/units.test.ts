// Pure pieces of the kernel, without a process: MIME bundles, history
// queries, the shorthand fix, code-point cursors, connection-file checks,
// traceback positions.
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { $display, ensureText, toBundle, VEGALITE_MIME } from "../../kernel/display.js";
import { globToRegExp, History } from "../../kernel/history.js";
import { declaredNames, fixShorthands, hasShorthandProperty } from "../../kernel/compiler/shorthand.js";
import { fromCodePoints, toCodePoints } from "../../kernel/unicode.js";
import { rewriteAwaits } from "../../kernel/compiler/await-yield.js";
import { ConnectionFileError, endpoint, parseConnection } from "../../protocol/connection.js";
import { CELL_LAYOUT, CellPositions } from "../../kernel/cell-positions.js";
import { outputFromIopub } from "../../kernel/nbformat.js";

const ts = createRequire(createRequire(import.meta.url).resolve("tslab/dist/converter.js"))("@tslab/typescript-for-tslab");

describe("toBundle", () => {
  it("gives text/plain without colours for plain values", () => {
    expect(toBundle({ a: "x" })).toEqual({ "text/plain": "{ a: 'x' }" });
    expect(toBundle(3n)).toEqual({ "text/plain": "3n" });
  });

  it("uses a [Symbol.for('Jupyter.display')] bundle and adds text/plain", () => {
    const b = toBundle({ [$display]: () => ({ "text/html": "<b>x</b>" }) });
    expect(b).toEqual({ "text/html": "<b>x</b>", "text/plain": "<Object>" });
  });

  it("refuses a display method that returns no bundle, naming what it got", () => {
    expect(() => toBundle({ [$display]: () => 42 })).toThrow(/must return a MIME bundle object, got 42/);
  });

  it("recognises a plain Vega-Lite spec but not a class instance or other $schema", () => {
    const spec = { $schema: "https://vega.github.io/schema/vega-lite/v5.json", mark: "bar" };
    expect(Object.keys(toBundle(spec))).toEqual([VEGALITE_MIME, "text/plain"]);
    expect(Object.keys(toBundle({ $schema: "https://json-schema.org/draft/2020-12/schema" }))).toEqual(["text/plain"]);
    class Spec {
      $schema = spec.$schema;
    }
    expect(Object.keys(toBundle(new Spec()))).toEqual(["text/plain"]);
  });

  it("ensureText adds a fallback only when missing", () => {
    expect(ensureText({ "text/html": "<p>" })["text/plain"]).toBe("<p>");
    expect(ensureText({ "image/png": "AAA" })["text/plain"]).toBe("<image/png output>");
    expect(ensureText({ "text/plain": "keep", "text/html": "x" })["text/plain"]).toBe("keep");
  });
});

describe("iopub -> nbformat output", () => {
  it("makes the notebook output of each output message, as nbformat's output_from_msg does", () => {
    expect(outputFromIopub("stream", { name: "stderr", text: "oops\n" })).toEqual({
      output_type: "stream",
      name: "stderr",
      text: "oops\n",
    });
    expect(outputFromIopub("display_data", { data: { "text/plain": "x" }, metadata: { a: 1 }, transient: { display_id: "d" } })).toEqual({
      output_type: "display_data",
      data: { "text/plain": "x" },
      metadata: { a: 1 },
    });
    expect(outputFromIopub("execute_result", { execution_count: 3, data: { "text/plain": "4" }, metadata: {} })).toEqual({
      output_type: "execute_result",
      execution_count: 3,
      data: { "text/plain": "4" },
      metadata: {},
    });
    expect(outputFromIopub("error", { ename: "TypeError", evalue: "bad", traceback: ["TypeError: bad"] })).toEqual({
      output_type: "error",
      ename: "TypeError",
      evalue: "bad",
      traceback: ["TypeError: bad"],
    });
  });
  it("fills what another kernel left out with nbformat's defaults, and makes nothing of other messages", () => {
    expect(outputFromIopub("execute_result", {})).toEqual({ output_type: "execute_result", execution_count: null, data: {}, metadata: {} });
    expect(outputFromIopub("error", { ename: "E", evalue: "v" })).toEqual({ output_type: "error", ename: "E", evalue: "v", traceback: [] });
    expect(outputFromIopub("stream", { name: "stdout", text: ["a\n", "b"] })).toEqual({
      output_type: "stream",
      name: "stdout",
      text: "a\nb",
    });
    for (const t of ["status", "execute_input", "clear_output", "update_display_data", "comm_msg"])
      expect(outputFromIopub(t, {})).toBeUndefined();
  });
});

describe("history", () => {
  const h = new History();
  ["a = 1", "b = 2", "a = 1", "print(a)"].forEach((code, i) =>
    h.add({ executionCount: i + 1, code, cellId: undefined, output: i === 1 ? "2" : null }),
  );

  it("tail, range and search (glob, unique, n)", () => {
    expect(h.query({ hist_access_type: "tail", n: 2 }).history).toEqual([
      [1, 3, "a = 1"],
      [1, 4, "print(a)"],
    ]);
    expect(h.query({ hist_access_type: "range", session: 1, start: 2, stop: 3, output: true }).history).toEqual([[1, 2, ["b = 2", "2"]]]);
    expect(h.query({ hist_access_type: "range", session: 7, start: 1, stop: 9 }).history).toEqual([]);
    expect(h.query({ hist_access_type: "search", pattern: "a*" }).history.map((r) => r[1])).toEqual([1, 3]);
    expect(h.query({ hist_access_type: "search", pattern: "a*", unique: true }).history.map((r) => r[1])).toEqual([3]);
    expect(h.query({ hist_access_type: "search", pattern: "*", n: 1 }).history.map((r) => r[1])).toEqual([4]);
  });

  it("translates SQLite GLOB patterns", () => {
    expect(globToRegExp("a?c").test("abc")).toBe(true);
    expect(globToRegExp("[ab]x").test("bx")).toBe(true);
    expect(globToRegExp("[^ab]x").test("bx")).toBe(false);
    expect(globToRegExp("1+2*").test("1+2 is 3")).toBe(true);
    expect(globToRegExp("A*").test("abc")).toBe(false);
  });
});

describe("shorthand fix", () => {
  const declared = declaredNames(ts, 'declare const s: number;\ndeclare let t: string;\nimport os from "os";\n');
  const prev = () => declared;

  it("collects names declared by earlier cells", () => {
    expect([...declared].sort()).toEqual(["os", "s", "t"]);
  });

  it("rewrites only shorthands that name an earlier cell's variable", () => {
    expect(fixShorthands(ts, "const o = { s, t, u };", prev)).toBe("const o = { s: exports.s, t: exports.t, u };");
    expect(fixShorthands(ts, "let s = 1; const o = { s };", prev)).toBe("let s = 1; const o = { s };");
    expect(fixShorthands(ts, "const f = (s) => ({ s });", prev)).toBe("const f = (s) => ({ s });");
    expect(fixShorthands(ts, "for (const t of xs) g({ t });", prev)).toBe("for (const t of xs) g({ t });");
    expect(fixShorthands(ts, "({ s } = other);", prev)).toBe("({ s: exports.s } = other);");
  });

  it("finds whether a cell's source has a shorthand property, which parameter lists, arrays and binding patterns are not", () => {
    const has = (src: string) => hasShorthandProperty(ts, ts.createSourceFile("cell.ts", src, ts.ScriptTarget.ES2022, true));
    expect(has("const o = { s };")).toBe(true);
    expect(has("function f(a: number, b: number, c: number) {\n  return g({ x: 1, y: [a, b, c] });\n}")).toBe(false);
    expect(has("function f(xs: number[]) {\n  return xs.map((x) => ({ x, twice: x * 2 }));\n}")).toBe(true);
    expect(has("({ s } = other);")).toBe(true);
    expect(has("const { a, b } = o;\nconst [c, d] = [a, b];")).toBe(false);
  });

  it("reads the earlier cells' names only for a cell with a shorthand property", () => {
    let asked = 0;
    const counting = () => (asked++, declared);
    expect(fixShorthands(ts, "f(a, b, c);\nconst o = { x: 1 };", counting)).toBe("f(a, b, c);\nconst o = { x: 1 };");
    expect(asked).toBe(0);
    expect(fixShorthands(ts, "const o = { s };", counting)).toBe("const o = { s: exports.s };");
    expect(asked).toBe(1);
  });
});

describe("await rewriting", () => {
  it("turns the cell's own awaits into yields and leaves nested functions alone", () => {
    expect(rewriteAwaits(ts, "const x = await f(await g());")).toEqual({ kind: "yield", output: "const x = (yield f((yield g())));" });
    expect(rewriteAwaits(ts, "async function h() { await 1; }\nawait h();")).toEqual({
      kind: "yield",
      output: "async function h() { await 1; }\n(yield h());",
    });
  });

  it("says when a body has no top-level await or must stay async", () => {
    expect(rewriteAwaits(ts, "const awaited = 1;")).toEqual({ kind: "none" });
    expect(rewriteAwaits(ts, "const f = async () => { await 1; };")).toEqual({ kind: "none" });
    expect(rewriteAwaits(ts, "for await (const x of xs) {}")).toEqual({ kind: "async" });
    expect(rewriteAwaits(ts, "var yield_ = 1; var yield = 2; await 3;")).toEqual({ kind: "async" });
  });
});

describe("code points", () => {
  it("converts between Jupyter cursor positions and UTF-16 indexes", () => {
    const s = "a😀b";
    expect(fromCodePoints(s, 2)).toBe(3);
    expect(toCodePoints(s, 3)).toBe(2);
    expect(fromCodePoints(s, 99)).toBe(s.length);
  });
});

describe("connection file", () => {
  const good = {
    ip: "127.0.0.1",
    key: "k",
    transport: "tcp",
    signature_scheme: "hmac-sha256",
    shell_port: 1,
    control_port: 2,
    stdin_port: 3,
    iopub_port: 4,
    hb_port: 5,
  };

  it("parses and builds endpoints", () => {
    const info = parseConnection(good);
    expect(endpoint(info, "iopub")).toBe("tcp://127.0.0.1:4");
    expect(endpoint({ ...info, transport: "ipc", ip: "/tmp/k" }, "hb")).toBe("ipc:///tmp/k-5");
  });

  it("names the bad field and what is accepted", () => {
    expect(() => parseConnection({ ...good, signature_scheme: "hmac-md5" })).toThrow(
      /"hmac-md5" is not supported \(accepted: "hmac-sha256"\)/,
    );
    expect(() => parseConnection({ ...good, transport: "udp" })).toThrow(ConnectionFileError);
    expect(() => parseConnection({ ...good, hb_port: 70000 })).toThrow(/hb_port is 70000/);
  });
});

describe("traceback positions", () => {
  it("drop a frame whose cell maps cannot be read, keep frames of scripts without maps, and never throw", () => {
    const positions = new CellPositions();
    positions.remember("In[1]", { typescript: "not a source map", commonjs: "{" }, CELL_LAYOUT);
    expect(positions.frame("    at f (In[1]:2:3)")).toBeUndefined();
    expect(positions.frame("    at g (In[9]:4:1)")).toBe("    at g (In[9])");
    expect(positions.frame("    at h (/lib/x.js:1:2)")).toBe("    at h (/lib/x.js:1:2)");
  });
});
