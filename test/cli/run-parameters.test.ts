// Papermill-style parameters without a kernel: value typing, YAML sources, TypeScript
// rendering that keeps the defaults' declared types, and where the injected cell goes.
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  collectParameters,
  injectParameters,
  parseParamValue,
  renderInjectedSource,
  tsLiteral,
  declarationsOf,
} from "../../cli/parameters.js";
import { parseNotebook } from "../../cli/notebook.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { code, markdown, notebook } from "./notebooks.js";

const dir = makeTempDir("run-params");
afterAll(() => rmTempDir(dir));

describe("-p values are typed as papermill types them", () => {
  it.each([
    ["42", 42],
    ["-3", -3],
    ["0.5", 0.5],
    ["1e-3", 0.001],
    ["True", true],
    ["false", false],
    ["None", null],
    ["null", null],
    ["007x", "007x"],
    ["0x10", "0x10"],
    ["NaN", "NaN"],
    ["", ""],
    ["hello world", "hello world"],
  ])("%j -> %j", (raw, value) => {
    expect(parseParamValue(raw)).toEqual(value);
  });
});

describe("collecting parameters", () => {
  it("merges files, then YAML strings, then -p/-r, the last one winning", async () => {
    const file = path.join(dir, "p.yaml");
    fs.writeFileSync(file, "lr: 0.1\nlayers: [64, 32]\nname: from-file\n");
    const params = await collectParameters({
      files: [file],
      yaml: ["name: from-yaml\nflag: true"],
      pairs: [
        { name: "lr", value: "0.5", raw: false },
        { name: "id", value: "007", raw: true },
      ],
    });
    expect(params).toEqual({ lr: 0.5, layers: [64, 32], name: "from-yaml", flag: true, id: "007" });
  });

  it.each([
    [{ pairs: [{ name: "class", value: "1", raw: false }] }, /bad parameter name "class"/],
    [{ pairs: [{ name: "a-b", value: "1", raw: false }] }, /bad parameter name "a-b"/],
    [{ yaml: ["x: .inf"] }, /x from -y: Infinity is not a finite number/],
    [{ yaml: ["[1, 2]"] }, /-y must be a YAML mapping of parameter names to values, not a list/],
    [{ yaml: ["a: [1, 2"] }, /-y is not valid YAML/],
  ])("refuses %j", async (src, message) => {
    await expect(collectParameters(src as never)).rejects.toThrow(message);
  });
});

describe("the injected cell", () => {
  it("writes TypeScript literals", () => {
    expect(tsLiteral({ a: [1, "x", true, null], "b-c": { d: 2 }, e: {} })).toBe('{ a: [1, "x", true, null], "b-c": { d: 2 }, e: {} }');
  });

  it("keeps the keyword and type annotation of the default it overrides", async () => {
    const declared = await declarationsOf(
      'const lr: number = 0.1;\nlet mode: "fast" | "slow" = "fast";\nvar old = 1;\nconst plain = 2;\nfunction notAParam() {}',
    );
    expect(renderInjectedSource({ lr: 0.5, mode: "slow", old: 2, plain: 3, extra: "x" }, declared)).toBe(
      "// Parameters injected by `tslab-mlflow run`\n" +
        "const lr: number = 0.5;\n" +
        'let mode: "fast" | "slow" = "slow";\n' +
        "let old = 2;\n" +
        "const plain = 3;\n" +
        'const extra = "x";',
    );
  });

  it("replaces every earlier injected cell and goes right after the first parameters cell", async () => {
    const nb = parseNotebook(
      JSON.stringify(
        notebook([
          markdown("# t"),
          code("const a = 1;", { tags: ["parameters"] }),
          code("const a = 7;", { tags: ["injected-parameters"] }),
          code("a"),
          code("const a = 8;", { tags: ["injected-parameters"] }),
        ]),
      ),
    );
    const injection = await injectParameters(nb, { a: 2 });
    expect(injection).toEqual({ index: 2, atTop: false, replaced: 2 });
    expect(nb.cells.map((c) => (c.metadata as { tags?: string[] }).tags ?? [])).toEqual([[], ["parameters"], ["injected-parameters"], []]);
    expect(nb.cells[2]!.source).toEqual(["// Parameters injected by `tslab-mlflow run`\n", "const a = 2;"]);
    expect(typeof nb.cells[2]!.id).toBe("string");
  });

  it("goes to the top when no cell is tagged parameters", async () => {
    const nb = parseNotebook(JSON.stringify(notebook([code("x")])));
    expect(await injectParameters(nb, { x: 1 })).toEqual({ index: 0, atTop: true, replaced: 0 });
  });
});
