// How cells run: state across cells, TypeScript features, npm imports next to
// the notebook, display outputs. A spawned kernel over real ZeroMQ.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import type { KernelClient } from "../../jupyter-client/index.js";
import { ofType, resultText, startTestKernel, stdout, tempDir } from "./helpers.js";

let k: KernelClient;
let cwd: string;
beforeAll(async () => {
  cwd = tempDir();
  // A CommonJS package and a local .ts module next to the "notebook".
  const pkg = path.join(cwd, "node_modules", "left-pad-ish");
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(
    path.join(pkg, "package.json"),
    JSON.stringify({ name: "left-pad-ish", version: "1.0.0", main: "index.js", types: "index.d.ts" }),
  );
  fs.writeFileSync(path.join(pkg, "index.js"), "exports.pad = (s, n) => s.padStart(n, '*');\n");
  fs.writeFileSync(path.join(pkg, "index.d.ts"), "export declare function pad(s: string, n: number): string;\n");
  const esm = path.join(cwd, "node_modules", "esm-only");
  fs.mkdirSync(esm, { recursive: true });
  fs.writeFileSync(
    path.join(esm, "package.json"),
    JSON.stringify({ name: "esm-only", version: "1.0.0", type: "module", exports: "./index.js", types: "./index.d.ts" }),
  );
  fs.writeFileSync(path.join(esm, "index.js"), 'export const hi = (n) => "hi " + n; export default 42;\n');
  fs.writeFileSync(
    path.join(esm, "index.d.ts"),
    "export declare const hi: (n: string) => string; declare const d: number; export default d;\n",
  );
  fs.writeFileSync(path.join(cwd, "helper.ts"), "export function twice(n: number): number { return n * 2; }\n");
  k = await startTestKernel({ cwd });
});
afterAll(async () => {
  await k?.close();
});

async function ok(code: string) {
  const r = await k.execute(code);
  if (r.reply.content.status !== "ok") throw new Error(`cell failed: ${code}\n${JSON.stringify(r.reply.content)}`);
  return r;
}

describe("state across cells", () => {
  it("keeps declarations, functions, classes and types for later cells", async () => {
    await ok("let counter = 1; function inc(by: number) { counter += by; return counter; }");
    await ok("interface Point { x: number; y: number } class Box { constructor(public p: Point) {} }");
    expect(resultText(await ok("inc(41)"))).toBe("42");
    expect(resultText(await ok("new Box({ x: 1, y: 2 }).p.y"))).toBe("2");
    const bad = await k.execute("const p: Point = { x: 1 }");
    expect(bad.reply.content.status).toBe("error");
    expect(bad.reply.content.evalue).toContain("'y'");
  });

  it("allows re-declaring a const in a later cell", async () => {
    await ok("const answer = 1");
    await ok("const answer = 'two'");
    expect(resultText(await ok("answer.toUpperCase()"))).toBe("'TWO'");
  });

  it("resolves a shorthand property naming an earlier cell's variable", async () => {
    await ok("const shortA = 5; let shortB = 'b'");
    expect(resultText(await ok("({ shortA, shortB })"))).toBe("{ shortA: 5, shortB: 'b' }");
    // A local of the same name wins inside its own scope.
    expect(resultText(await ok("((shortA: number) => ({ shortA }))(7)"))).toBe("{ shortA: 7 }");
  });

  it("keeps a top-level let's value when written in a loop", async () => {
    expect(resultText(await ok("let total = 0; for (let i = 0; i < 1e5; i++) total += i; total"))).toBe("4999950000");
    expect(resultText(await ok("total + 1"))).toBe("4999950001");
  });

  it("supports top-level await", async () => {
    const r = await ok("const v = await new Promise<number>((r) => setTimeout(() => r(9), 20)); v * 2");
    expect(resultText(r)).toBe("18");
  });

  it("keeps await semantics: nested awaits, try/catch, loops, for await, async functions", async () => {
    expect(resultText(await ok("const aw1 = await Promise.resolve(1); (await Promise.resolve(2)) + await Promise.resolve(aw1)"))).toBe("3");
    expect(
      resultText(
        await ok('let caught = ""; try { await Promise.reject(new Error("no")); } catch (e) { caught = (e as Error).message; } caught'),
      ),
    ).toBe("'no'");
    expect(resultText(await ok("let acc = 0; for (let i = 0; i < 3; i++) acc += await Promise.resolve(i); acc"))).toBe("3");
    expect(stdout(await ok("for await (const x of [Promise.resolve(7)]) console.log(x)"))).toBe("7\n");
    expect(
      resultText(await ok("async function twiceLater(n: number) { await null; return 2 * n; } await twiceLater(await twiceLater(1))")),
    ).toBe("4");
    const r = await k.execute('await Promise.reject(new TypeError("rejected"))');
    expect(r.reply.content).toMatchObject({ status: "error", ename: "TypeError", evalue: "rejected" });
  });

  it("does not show a result for a statement or undefined", async () => {
    const r = await ok("const quiet = 1; undefined");
    expect(ofType(r, "execute_result")).toHaveLength(0);
  });
});

describe("stray errors", () => {
  it("reports an exception thrown in a timer, and an unhandled rejection, as stderr; the kernel lives on", async () => {
    const r = await k.execute(
      'setTimeout(() => { throw new Error("late boom"); }, 0); Promise.reject(new Error("nobody caught")); await new Promise((r) => setTimeout(r, 100)); "done"',
    );
    expect(r.reply.content.status).toBe("ok");
    const err = ofType(r, "stream")
      .filter((m) => m.content.name === "stderr")
      .map((m) => m.content.text)
      .join("");
    expect(err).toContain("Uncaught Error: late boom");
    // Where the timer's callback threw: line 1 of this cell, where the Error is made.
    expect(err).toMatch(/Uncaught Error: late boom\n {4}at Timeout\._onTimeout \(In\[\d+\]:1:26\)/);
    expect(err).toContain("Uncaught Error: nobody caught");
    expect(resultText(await k.execute("'alive'"))).toBe("'alive'");
  });
});

describe("tracebacks", () => {
  it("name the cell as Jupyter numbers it, and the line and column of the TypeScript the user wrote", async () => {
    const defined = await ok(
      [
        "// checks its input",
        "function check(x: number): number {",
        "  if (x > 1) {",
        '    throw new RangeError("too big: " + x);',
        "  }",
        "  return x;",
        "}",
      ].join("\n"),
    );
    const failing = await k.execute(["const fine: number = check(1);", "", "check(fine + 4);"].join("\n"));
    const d = defined.reply.content.execution_count as number;
    const f = failing.reply.content.execution_count as number;
    expect(failing.reply.content.ename).toBe("RangeError");
    // `check` is called as a property of the cells' shared exports.
    expect(failing.reply.content.traceback).toEqual([
      "RangeError: too big: 5",
      `    at Object.check (In[${d}]:4:11)`,
      `    at In[${f}]:3:1`,
    ]);
  });

  it("hold in cells with top-level await, and in code run after an await", async () => {
    const r = await k.execute(
      ["const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));", "await wait(1);", "const n: number = 7;", "check(n);"].join(
        "\n",
      ),
    );
    const count = r.reply.content.execution_count as number;
    const traceback = r.reply.content.traceback as string[];
    expect(traceback[0]).toBe("RangeError: too big: 7");
    expect(traceback).toContain(`    at Object.check (In[${count - 2}]:4:11)`);
    expect(traceback.some((l) => l.startsWith(`    at In[${count}]:4:`))).toBe(true);
    // Not the frames of the kernel's await driver (its script, its generator's steps).
    expect(traceback.filter((l) => l.includes("<cell>") || l.includes("step") || l.includes("Generator.next"))).toEqual([]);
    expect(traceback.at(-1)).toMatch(new RegExp(`^    at In\\[${count}\\]:4:`));
  });
});

describe("type errors", () => {
  it("name the cell, line and column as tracebacks do, then show each line with a caret", async () => {
    const r = await k.execute(["const fine = 1;", 'const x: number = "a";', "\tlet y: string = fine;"].join("\n"));
    const n = r.reply.content.execution_count as number;
    expect(r.reply.content.ename).toBe("TypeScriptError");
    expect(r.reply.content.evalue).toBe(`In[${n}]:2:7 - error TS2322: Type 'string' is not assignable to type 'number'.`);
    expect(r.reply.content.traceback).toEqual([
      `In[${n}]:2:7 - error TS2322: Type 'string' is not assignable to type 'number'.`,
      "",
      '  const x: number = "a";',
      "        ^",
      "",
      `In[${n}]:3:6 - error TS2322: Type 'number' is not assignable to type 'string'.`,
      "",
      "  \tlet y: string = fine;",
      // A tab stays a tab, so the caret sits under the column in any tab width.
      "  \t    ^",
    ]);
  });

  it("in a local module name its file and line", async () => {
    const file = path.join(cwd, "typo.ts");
    fs.writeFileSync(file, ["// a mistake", 'export const size: number = "big";', ""].join("\n"));
    const r = await k.execute('import { size } from "./typo";\nsize');
    expect(r.reply.content.ename).toBe("TypeScriptError");
    const tb = r.reply.content.traceback as string[];
    const at = tb.findIndex((l) => /typo\.ts:2:14 - error TS2322/.test(l));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(tb.slice(at + 1, at + 4)).toEqual(["", '  export const size: number = "big";', "               ^"]);
  });
});

describe("tracebacks into local modules", () => {
  it("show the line and column of the module's TypeScript file", async () => {
    fs.writeFileSync(
      path.join(cwd, "thrower.ts"),
      [
        "// fails for positive input",
        "export function explode(n: number): number {",
        "  if (n > 0) {",
        "    throw new Error(`boom ${n}`);",
        "  }",
        "  return n;",
        "}",
        "",
      ].join("\n"),
    );
    const r = await k.execute('import { explode } from "./thrower";\nexplode(0);\nexplode(3);');
    const count = r.reply.content.execution_count as number;
    expect(r.reply.content.traceback).toEqual([
      "Error: boom 3",
      `    at explode (${path.join(cwd, "thrower.ts")}:4:11)`,
      // V8 places a call of an imported function at its argument list.
      `    at In[${count}]:3:8`,
    ]);
  });
});

describe("imports", () => {
  it("imports an npm package installed next to the notebook, type-checked", async () => {
    expect(resultText(await ok('import { pad } from "left-pad-ish"; pad("7", 3)'))).toBe("'**7'");
    const bad = await k.execute("pad(7, 3)");
    expect(bad.reply.content.status).toBe("error");
    expect(bad.reply.content.ename).toBe("TypeScriptError");
  });

  it("imports Node built-ins and a local .ts module", async () => {
    expect(resultText(await ok('import * as os from "node:os"; typeof os.platform()'))).toBe("'string'");
    expect(resultText(await ok('import { twice } from "./helper"; twice(21)'))).toBe("42");
  });

  it("imports an ESM-only package, statically and dynamically", async () => {
    expect(resultText(await ok('import { hi } from "esm-only"; hi("esm")'))).toBe("'hi esm'");
    expect(resultText(await ok('const esmMod = await import("esm-only"); esmMod.default'))).toBe("42");
  });

  it("names a missing package in the error", async () => {
    const r = await k.execute('import { nope } from "no-such-package-here"');
    expect(r.reply.content.status).toBe("error");
    expect(r.reply.content.evalue).toContain("no-such-package-here");
  });
});

describe("display", () => {
  it("displays html, markdown, svg, png, json and Vega-Lite, each with text/plain", async () => {
    const r = await ok(`display.html("<b>b</b>"); display.markdown("# m"); display.svg("<svg/>");
      display.png(new Uint8Array([137, 80, 78, 71])); display.json({ a: 1 });
      display.vegalite({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", mark: "point" })`);
    const bundles = ofType(r, "display_data").map((m) => m.content.data as Record<string, unknown>);
    expect(bundles.map((b) => Object.keys(b).find((k) => k !== "text/plain"))).toEqual([
      "text/html",
      "text/markdown",
      "image/svg+xml",
      "image/png",
      "application/json",
      "application/vnd.vegalite.v5+json",
    ]);
    for (const b of bundles) expect(typeof b["text/plain"]).toBe("string");
    expect(bundles[3]["image/png"]).toBe(Buffer.from([137, 80, 78, 71]).toString("base64"));
    expect(ofType(r, "execute_result")).toHaveLength(0);
  });

  it("renders a plain Vega-Lite object as the cell's result", async () => {
    const r = await ok('({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", title: "t", mark: "bar", data: { values: [] } })');
    const data = ofType(r, "execute_result")[0].content.data as Record<string, unknown>;
    expect(data["application/vnd.vegalite.v5+json"]).toMatchObject({ mark: "bar" });
    expect(data["text/plain"]).toBe("<VegaLite chart: t>");
  });

  it("lets any object render itself with Symbol.for('Jupyter.display')", async () => {
    const r = await ok(`class Money { constructor(public cents: number) {}
      [Symbol.for("Jupyter.display")]() { return { "text/html": "<b>$" + (this.cents / 100).toFixed(2) + "</b>" }; } }
      new Money(1234)`);
    const data = ofType(r, "execute_result")[0].content.data as Record<string, unknown>;
    expect(data["text/html"]).toBe("<b>$12.34</b>");
    expect(typeof data["text/plain"]).toBe("string");
  });

  it("shows html`...` templates as results", async () => {
    const r = await ok("const who = 'you'; html`<i>hi ${who}</i>`");
    expect((ofType(r, "execute_result")[0].content.data as Record<string, unknown>)["text/html"]).toBe("<i>hi you</i>");
  });

  it("updates a display by id and clears output", async () => {
    const r = await ok(
      'const h = display("first", { displayId: "prog" }); h.update("second"); display.update("prog", "third"); clearOutput(true)',
    );
    const shown = ofType(r, "display_data")[0];
    expect(shown.content.transient).toEqual({ display_id: "prog" });
    const updates = ofType(r, "update_display_data");
    expect(updates.map((m) => (m.content.data as Record<string, string>)["text/plain"])).toEqual(["'second'", "'third'"]);
    expect(updates.every((m) => (m.content.transient as { display_id: string }).display_id === "prog")).toBe(true);
    expect(ofType(r, "clear_output")[0].content).toEqual({ wait: true });
  });

  it("keeps tslab's own display helpers working", async () => {
    const r = await ok('import * as tslab from "tslab"; tslab.display.markdown("**tslab**")');
    const data = ofType(r, "display_data")[0].content.data as Record<string, unknown>;
    expect(data["text/markdown"]).toBe("**tslab**");
    expect(data["text/plain"]).toBe("**tslab**");
  });

  it("keeps stdout in order with display outputs", async () => {
    const r = await ok('console.log("a"); display.html("<p>b</p>"); console.log("c")');
    expect(r.outputs.filter((m) => m.header.msg_type !== "execute_input").map((m) => m.header.msg_type)).toEqual([
      "stream",
      "display_data",
      "stream",
    ]);
    expect(stdout(r)).toBe("a\nc\n");
  });
});
