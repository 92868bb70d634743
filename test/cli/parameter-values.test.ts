// `-p`/`-y` values of any content arrive in the notebook exactly as given, or are refused with
// a message naming them: separators, quotes, `</script>`, `__proto__` keys, numbers a double
// cannot hold. Checked on the injected source itself and end to end through the kernel.

import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { collectParameters, renderInjectedSource, type Parameters } from "../../cli/parameters.js";
import { pySplitLines } from "../../cli/notebook.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { code, notebook, writeNotebook } from "./notebooks.js";
import { runNotebookCli, workspace } from "./run-helpers.js";

const NASTY = [
  "line\u2028separator and paragraph\u2029separator",
  `quotes " ' \` and backslash \\ and \${not_a_template}`,
  "</script><script>alert(1)</script>",
  "tab\tnewline\nend",
  "emoji 🙂 and NUL-free \u0085 next-line",
];

/** The values a rendered injected cell gives its names, by evaluating it as JavaScript. */
function evaluate(source: string): Record<string, unknown> {
  const names = [...source.matchAll(/^(?:const|let) (\w+)/gm)].map((m) => m[1]!);
  return new Function(`${source}\nreturn { ${names.map((n) => `${JSON.stringify(n)}: ${n}`).join(", ")} };`)() as Record<string, unknown>;
}

describe("injected values are the values given", () => {
  it.each(NASTY.map((v) => [JSON.stringify(v), v]))("-p s %s", async (_shown, value) => {
    const params = await collectParameters({ pairs: [{ name: "s", value, raw: false }] });
    const source = renderInjectedSource(params, new Map());
    expect(evaluate(source)).toEqual({ s: value });
    // One declaration per line as nbformat splits sources (it breaks on U+2028/U+2029 too).
    expect(pySplitLines(source)).toHaveLength(2);
  });

  it("keeps a `__proto__` key of a -y mapping as a key, not a prototype", async () => {
    const params = await collectParameters({ yaml: ["cfg:\n  __proto__: { polluted: true }\n  a: 1\n"] });
    const { cfg } = evaluate(renderInjectedSource(params, new Map())) as { cfg: Record<string, unknown> };
    expect(Object.keys(cfg)).toEqual(["__proto__", "a"]);
    expect(Object.getPrototypeOf(cfg)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    [{ pairs: [{ name: "x", value: "1e400", raw: false }] }, /-p x 1e400: out of the range of a number .*use -r x 1e400/],
    [
      { pairs: [{ name: "x", value: "12345678901234567890", raw: false }] },
      /-p x 12345678901234567890: an integer beyond ±2\^53 cannot be held exactly \(it would become 12345678901234567168\)/,
    ],
    [{ yaml: ["x: 1e400"] }, /parameter x from -y: Infinity is not a finite number/],
    [{ pairs: [{ name: "__proto__", value: "1", raw: false }] }, /bad parameter name "__proto__"/],
  ])("refuses %j", async (sources, message) => {
    await expect(collectParameters(sources as Parameters)).rejects.toThrow(message);
  });

  it("passes such numbers as strings with -r", async () => {
    expect(await collectParameters({ pairs: [{ name: "x", value: "1e400", raw: true }] })).toEqual({ x: "1e400" });
  });
});

describe("through the kernel", () => {
  const ws = workspace("param-values");
  afterAll(() => rmTempDir(ws.dir));

  it("each value printed by the notebook is the value given", async () => {
    const input = writeNotebook(
      ws.dir,
      "values.ipynb",
      notebook([
        code(`const a = "";\nconst b = "";\nconst c = "";\nconst cfg = {} as Record<string, unknown>;`, { tags: ["parameters"] }),
        code(`console.log(JSON.stringify([a, b, c, Object.keys(cfg), Object.getPrototypeOf(cfg) === Object.prototype]));`),
      ]),
    );
    const out = path.join(ws.dir, "values.out.ipynb");
    const r = await runNotebookCli(ws, [
      input,
      "--no-tracking",
      "-p",
      "a",
      NASTY[0]!,
      "-p",
      "b",
      NASTY[1]!,
      "-r",
      "c",
      NASTY[2]!,
      "-y",
      "cfg: { __proto__: 1, k: 2 }",
    ]);
    expect(r.status).toBe(0);
    const nb = JSON.parse(fs.readFileSync(out, "utf8"));
    const printed = nb.cells
      .at(-1)
      .outputs.map((o: { text: string[] }) => o.text.join(""))
      .join("");
    expect(JSON.parse(printed)).toEqual([NASTY[0], NASTY[1], NASTY[2], ["__proto__", "k"], true]);
  }, 120_000);

  it("refuses a --cwd the kernel cannot enter", async () => {
    const dir = makeTempDir("param-values-cwd");
    const locked = path.join(dir, "locked");
    fs.mkdirSync(locked, { mode: 0o000 });
    try {
      const input = writeNotebook(dir, "nb.ipynb", notebook([code("1")]));
      // root enters any directory: then a file stands for the unusable directory.
      const asRoot = process.getuid?.() === 0;
      const r = await runNotebookCli(ws, [input, "--no-tracking", "--cwd", asRoot ? input : locked]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(
        asRoot
          ? /bad --cwd ".*nb\.ipynb": not a directory/
          : /bad --cwd ".*locked": not usable as the kernel's working directory \(EACCES\)/,
      );
    } finally {
      fs.chmodSync(locked, 0o755);
      rmTempDir(dir);
    }
  }, 60_000);
});
