import { describe, expect, it } from "vitest";
import { parseCell, tokenize, hasMagic } from "../../magics/parse.js";
import { MagicRegistry, MagicError, type Magic } from "../../magics/registry.js";
import { cellParams } from "../../magics/cell-params.js";
import { Redactor, REDACTED } from "../../magics/redact.js";
import { bundleArtifacts, outputArtifacts, notebookSnapshot, type CellOutput } from "../../magics/outputs.js";
import { systemTags, gitTags, sourceName, TAG } from "../../magics/system-tags.js";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { typeCheck } from "../support/type-check.js";

describe("parseCell", () => {
  it("reads a cell magic and its body", () => {
    const p = parseCell(`%%mlflow_run sweep-1 --param lr=0.1 --tag "team=ml ops"\nconst x = 1;\nx`);
    expect(p.cellMagic).toMatchObject({ name: "mlflow_run", kind: "cell", help: false });
    expect(p.cellMagic!.argv).toEqual(["sweep-1", "--param", "lr=0.1", "--tag", "team=ml ops"]);
    expect(p.code).toBe("const x = 1;\nx");
    expect(p.lineMagics).toEqual([]);
  });
  it("reads several line magics at the top, then code", () => {
    const p = parseCell(`\n%mlflow_experiment demo\n\n%mlflow_autolog off --what=params\nlet y = 2 % 3;\n%not_a_magic`);
    expect(p.lineMagics.map((m) => [m.name, m.argv])).toEqual([
      ["mlflow_experiment", ["demo"]],
      ["mlflow_autolog", ["off", "--what=params"]],
    ]);
    expect(p.code).toBe("let y = 2 % 3;\n%not_a_magic");
    expect(p.cellMagic).toBeUndefined();
  });
  it("accepts line magics before a cell magic", () => {
    const p = parseCell(`%mlflow_experiment e\n%%mlflow_run\n1`);
    expect(p.lineMagics).toHaveLength(1);
    expect(p.cellMagic?.name).toBe("mlflow_run");
    expect(p.code).toBe("1");
  });
  it("recognises help requests", () => {
    expect(parseCell("%mlflow_runs?").lineMagics[0]).toMatchObject({ name: "mlflow_runs", help: true });
    expect(parseCell("%%mlflow_run?\n").cellMagic).toMatchObject({ name: "mlflow_run", help: true });
  });
  it("leaves plain code alone", () => {
    expect(hasMagic("const a = 1 % 2")).toBe(false);
    expect(parseCell("const a = 1 % 2")).toEqual({ lineMagics: [], code: "const a = 1 % 2" });
  });
  it("tokenizes like a shell without expanding variables", () => {
    expect(tokenize(`--filter "metrics.acc > 0.9" --opt='a b' $HOME x\\ y`)).toEqual([
      "--filter",
      "metrics.acc > 0.9",
      "--opt=a b",
      "$HOME",
      "x y",
    ]);
  });
});

describe("MagicRegistry", () => {
  const ran: string[] = [];
  const demo: Magic = {
    name: "demo",
    kind: "cell",
    summary: "A demo magic.",
    usage: "[NAME] [--param k=v]...",
    maxPositionals: 1,
    options: {
      param: { type: "string", multiple: true, value: "k=v", description: "a param" },
      nested: { type: "boolean", description: "nest" },
    },
    run: async (inv) => {
      ran.push(String(inv.positionals[0]));
    },
  };
  const reg = new MagicRegistry().register(demo, {
    ...demo,
    name: "other",
    kind: "line",
    summary: "Other.",
    usage: "",
    options: {},
    maxPositionals: 0,
  });
  const call = (line: string) => parseCell(line).cellMagic ?? parseCell(line).lineMagics[0]!;

  it("parses repeated options and --opt=value", () => {
    const inv = reg.parse(demo, call(`%%demo n --param a=1 --param=b=2 --nested`));
    expect(inv.values).toEqual({ param: ["a=1", "b=2"], nested: true });
    expect(inv.positionals).toEqual(["n"]);
  });
  it("names an unknown magic and lists the known ones", () => {
    expect(() => reg.resolve(call("%nope"))).toThrowError(/Unknown magic %nope\. Available: %%demo, %other/);
    try {
      reg.resolve(call("%nope"));
    } catch (e) {
      expect((e as MagicError).code).toBe("UNKNOWN_MAGIC");
    }
  });
  it("names a bad option and lists the accepted ones", () => {
    expect(() => reg.parse(demo, call("%%demo --bogus 1"))).toThrowError(
      /Unknown option '--bogus' for %%demo\. Accepted options: --param, --nested\./,
    );
    expect(() => reg.parse(demo, call("%%demo --param"))).toThrowError(/Option '--param' needs a value/);
    expect(() => reg.parse(demo, call("%%demo a b"))).toThrowError(/Unexpected argument "b"/);
  });
  it("rejects the wrong kind", () => {
    expect(() => reg.resolve(call("%demo"))).toThrowError(/not a line magic; write it as %%demo/);
  });
  it("generates lsmagic and help from the table", () => {
    expect(reg.lsmagic()).toMatch(/%%demo\s+A demo magic\.\n\s+%other\s+Other\./);
    const help = reg.help("demo");
    expect(help).toContain("Usage: %%demo [NAME] [--param k=v]...");
    expect(help).toMatch(/--param k=v\s+a param \(repeatable\)/);
    expect(() => reg.help("zzz")).toThrowError(/Unknown magic "zzz"/);
  });
});

describe("option values typed from the schema", () => {
  // The handler's values type is derived from its `as const` options; tsc is the judge, so a
  // small module using the real registry types is compiled in memory and its diagnostics read.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, "__option_types__.ts");
  const source = `import type { Magic, OptionSchema, OptionValues } from "../../magics/registry.js";
const options = {
  metric: { type: "string", multiple: true, value: "M", description: "m" },
  experiment: { type: "string", description: "e" },
  nested: { type: "boolean", description: "n" },
  kind: { type: "string", default: "auto", description: "k" },
} as const satisfies OptionSchema;
type V = OptionValues<typeof options>;
export const good: Magic<unknown, typeof options> = {
  name: "good", kind: "line", summary: "", usage: "", options,
  async run(inv) {
    const v = inv.values;
    const m: string[] | undefined = v.metric;
    const e: string | undefined = v.experiment;
    const n: boolean | undefined = v.nested;
    const k: string = v.kind; // defaulted: never undefined
    const all: Required<V> = { metric: [], experiment: "", nested: true, kind: "" };
    void [m, e, n, k, all];
  },
};
// BAD: below this line every statement is a type error.
export const bad: Magic<unknown, typeof options> = {
  name: "bad", kind: "line", summary: "", usage: "", options,
  async run(inv) {
    const v = inv.values;
    const a: string = v.metric;
    const b: string = v.experiment;
    const c: string = v.nested;
    const d = v.bogus;
    void [a, b, c, d];
  },
};
`;
  const badFrom = source.slice(0, source.indexOf("// BAD")).split("\n").length;

  it("reads each option as what it parses to, and refuses a wrong reading or an option the schema lacks", () => {
    const found = typeCheck(file, source);
    // None in `good`; one per statement in `bad`.
    expect(found.filter((d) => d.line < badFrom)).toEqual([]);
    const errors = found.map((d) => d.text);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/'string\[\] \| undefined' is not assignable to type 'string'/);
    expect(errors[1]).toMatch(/'string \| undefined' is not assignable to type 'string'/);
    expect(errors[2]).toMatch(/'boolean \| undefined' is not assignable to type 'string'/);
    expect(errors[3]).toMatch(/Property 'bogus' does not exist/);
  }, 30_000);
});

describe("cellParams", () => {
  it("finds literal top-level consts only", () => {
    const src = `
const lr = 0.05, epochs = 20; // two
const name = "sweep" as const;
const neg = -3;
const flag = true;
let notConst = 1;
const computed = lr * 2;
const obj = { a: 1 };
function f() { const inner = 5; return inner; }
const tpl = \`plain\`;
// const commented = 1;
const s = "const fake = 2";`;
    expect(cellParams(src)).toEqual([
      { name: "lr", value: 0.05 },
      { name: "epochs", value: 20 },
      { name: "name", value: "sweep" },
      { name: "neg", value: -3 },
      { name: "flag", value: true },
      { name: "tpl", value: "plain" },
      { name: "s", value: "const fake = 2" },
    ]);
  });
  it("copes with code that does not parse", () => {
    expect(cellParams("const a = 1;\nconst b = (")).toEqual([{ name: "a", value: 1 }]);
  });
});

describe("Redactor", () => {
  const r = new Redactor({ API_TOKEN: "tok-123456789", MY_SECRET_KEY: "s3cr3t-value", PATH: "/usr/bin", SHORT_KEY: "ab" });
  it("replaces secret env values in text", () => {
    expect(r.text("auth tok-123456789 and s3cr3t-value; /usr/bin ab")).toBe(`auth ${REDACTED} and ${REDACTED}; /usr/bin ab`);
  });
  it("redacts values of secret-looking keys", () => {
    expect(r.value("api_key", "whatever")).toBe(REDACTED);
    expect(r.value("lr", "0.1")).toBe("0.1");
    expect(r.value("note", "x tok-123456789")).toBe(`x ${REDACTED}`);
  });
});

describe("outputs", () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString("base64");
  it("maps MIME types to files, charts with an SVG beside them", async () => {
    const files = await bundleArtifacts(
      {
        "application/vnd.vegalite.v5+json": { $schema: "https://vega.github.io/schema/vega-lite/v5.json", mark: "bar" },
        "text/plain": "chart",
      },
      3,
      { renderSvg: async () => "<svg/>" },
    );
    expect(files.map((f) => f.path)).toEqual(["outputs/003-chart.vl.json", "outputs/003-chart.svg"]);
    expect(files[1]!.data).toBe("<svg/>");
    const img = await bundleArtifacts(
      { "image/png": png, "text/html": "<b>x</b>", "text/markdown": "# t", "application/json": { a: 1 }, "image/jpeg": png },
      1,
    );
    expect(img.map((f) => f.path)).toEqual([
      "outputs/001-image.png",
      "outputs/001-html.html",
      "outputs/001-markdown.md",
      "outputs/001-data.json",
      "outputs/001-image.jpg",
    ]);
    expect([...(img[0]!.data as Uint8Array)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
  it("saves rich outputs, streams and errors of a cell, redacted", async () => {
    const outs: CellOutput[] = [
      { output_type: "stream", name: "stdout", text: "hello secret-abcdef\n" },
      { output_type: "execute_result", data: { "text/plain": "42" }, execution_count: 1 },
      { output_type: "display_data", data: { "text/html": "<i>hi</i>", "text/plain": "hi" } },
      { output_type: "stream", name: "stderr", text: "warn\n" },
      { output_type: "error", ename: "Error", evalue: "boom", traceback: ["\x1b[31mError: boom\x1b[0m", "    at cell:1:7"] },
    ];
    const r = new Redactor({ X_SECRET: "secret-abcdef" });
    const files = await outputArtifacts(outs, { redact: (s) => r.text(s) });
    expect(files.map((f) => f.path)).toEqual(["outputs/001-html.html", "error.txt", "outputs/stdout.txt", "outputs/stderr.txt"]);
    expect(files[1]!.data).toBe("Error: boom\n\nError: boom\n    at cell:1:7\n");
    expect(files[2]!.data).toBe(`hello ${REDACTED}\n`);
  });
  it("snapshots executed cells as a valid nbformat 4.5 notebook", () => {
    const text = notebookSnapshot([
      {
        source: "1+1",
        executionCount: 1,
        cellId: "abc",
        outputs: [{ output_type: "execute_result", data: { "text/plain": "2" }, execution_count: 1 }],
      },
      { source: "x", executionCount: 2, cellId: "abc", outputs: [] },
    ]);
    const nb = JSON.parse(text);
    expect(nb.nbformat).toBe(4);
    expect(nb.nbformat_minor).toBe(5);
    expect(nb.cells.map((c: { id: string }) => c.id)).toEqual(["abc", "cell-2"]);
    expect(nb.cells[0].outputs[0].data["text/plain"]).toBe("2");
  });
});

describe("system tags", () => {
  it("says where the run came from", () => {
    const tags = Object.fromEntries(
      systemTags({
        env: { JPY_SESSION_NAME: "/nb/a.ipynb" },
        runName: "r",
        description: "d",
        cellId: "c1",
        executionCount: 4,
        parentRunId: "p",
      }).map((t) => [t.key, t.value]),
    );
    expect(tags).toMatchObject({
      [TAG.sourceType]: "NOTEBOOK",
      [TAG.sourceName]: "/nb/a.ipynb",
      [TAG.runName]: "r",
      [TAG.note]: "d",
      [TAG.cellId]: "c1",
      [TAG.executionCount]: "4",
      [TAG.parentRunId]: "p",
    });
    expect(tags[TAG.user]).toBe(os.userInfo().username);
    expect(sourceName({ env: {} })).toBe("<kernel session>");
    expect(sourceName({ env: { JPY_SESSION_NAME: "x.ipynb" }, notebookPath: "front.ipynb" })).toBe("front.ipynb");
  });
  it("reads git commit and dirtiness in a work tree, nothing outside one", async () => {
    const repoTags = Object.fromEntries((await gitTags(process.cwd())).map((t) => [t.key, t.value]));
    expect(repoTags[TAG.gitCommit]).toMatch(/^[0-9a-f]{40}$/);
    expect(["true", "false"]).toContain(repoTags[TAG.gitDirty]);
    const outside = mkdtempSync(path.join(os.tmpdir(), "nogit-"));
    expect(await gitTags(outside)).toEqual([]);
  });
});
