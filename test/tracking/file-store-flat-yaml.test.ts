// The fast meta.yaml reader and writer give exactly what the `yaml` library gives with the
// store's options, or decline (undefined) so the library is used. Checked on tricky YAML 1.1
// scalars, on many generated ids and strings, and on every meta.yaml of the fixture tree
// MLflow's Python client wrote.

import { randomInt, randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { parseFlatYaml, stringifyFlatYaml } from "../../tracking/file-store/flat-yaml.js";
import { FIXTURE_MLRUNS } from "./file-store-helpers.js";

const OPTIONS = { version: "1.1", sortMapEntries: true, singleQuote: true, lineWidth: 0 } as const;
const libParse = (text: string): unknown => {
  try {
    return parse(text, { version: "1.1" });
  } catch {
    return "invalid";
  }
};

const TRICKY: unknown[] = [
  "",
  "0",
  "123",
  "0123",
  "5e3",
  "e68",
  "1e10",
  "5e3a9f",
  "0x1f",
  "0b101",
  "0o17",
  "0o1a",
  "0b02046302e84c51afd3ee74c5ce0215",
  "0xfq",
  "0B11",
  "00ff",
  "1_000",
  "yes",
  "No",
  "on",
  "OFF",
  "y",
  "n",
  "true",
  "null",
  "~",
  "NaN",
  ".inf",
  "-1",
  "+x",
  "-x",
  "@x",
  "#x",
  "a b",
  "it's",
  "a: b",
  "x:",
  "a:b",
  "2023-01-01",
  "1:20",
  "=",
  "<<",
  "ünï",
  "file:///tmp/mlruns/0/abc/artifacts",
  "file:///tmp/x y",
  "RUNNING",
  "Default",
  "deadbeef",
  "x.y.z",
  "/abs",
  0,
  -5,
  1700000000000,
  1.5,
  null,
  [],
  {},
  true,
];

function checkValue(v: unknown): { wrote: boolean } {
  const doc = { a_key: v, run_id: "5e3a" };
  const lib = stringify(doc, OPTIONS);
  const mine = stringifyFlatYaml(doc);
  if (mine !== undefined) expect(mine, JSON.stringify(v)).toBe(lib);
  for (const text of [lib, `a_key: ${typeof v === "string" ? v : JSON.stringify(v)}\n`]) {
    const fast = parseFlatYaml(text);
    if (fast !== undefined) expect(fast, JSON.stringify(text)).toStrictEqual(libParse(text));
  }
  return { wrote: mine !== undefined };
}

describe("flat meta.yaml fast path", () => {
  it("agrees with the yaml library on YAML 1.1's tricky scalars", () => {
    for (const v of TRICKY) checkValue(v);
    // The values meta.yaml files hold every time take the fast path.
    for (const v of ["", "0", "RUNNING", "file:///tmp/mlruns/0/abc/artifacts", 1700000000000, null, []])
      expect(checkValue(v).wrote, JSON.stringify(v)).toBe(true);
  });

  it("agrees with the yaml library on generated ids and strings", () => {
    const alphabet = "0123456789abcdefxob eE.-_:/'@+#";
    let fast = 0;
    for (let i = 0; i < 3000; i++) {
      const v =
        i % 2
          ? randomUUID()
              .replace(/-/g, "")
              .slice(0, 1 + randomInt(32))
          : Array.from({ length: 1 + randomInt(8) }, () => alphabet[randomInt(alphabet.length)]).join("");
      if (checkValue(v).wrote) fast++;
    }
    expect(fast).toBeGreaterThan(1000);
  });

  it("reads every meta.yaml of MLflow's fixture tree as the library does", async () => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fs.readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(dir, e.name));
        else if (e.name === "meta.yaml") files.push(join(dir, e.name));
      }
    };
    await walk(FIXTURE_MLRUNS);
    expect(files.length).toBeGreaterThan(3);
    let fast = 0;
    for (const file of files) {
      const text = await fs.readFile(file, "utf8");
      const mine = parseFlatYaml(text);
      if (mine === undefined) continue;
      fast++;
      expect(mine, file).toStrictEqual(libParse(text));
    }
    expect(fast).toBeGreaterThan(0);
  });

  it("declines nested or multi-line YAML", () => {
    expect(parseFlatYaml("tags:\n  a: b\n")).toBeUndefined();
    expect(parseFlatYaml("name: 'a\n  b'\n")).toBeUndefined();
    expect(parseFlatYaml("a: 1\na: 2\n")).toBeUndefined();
    expect(parseFlatYaml("# comment\na: 1\n")).toBeUndefined();
    expect(stringifyFlatYaml({ tags: { a: "b" } })).toBeUndefined();
    expect(stringifyFlatYaml({ name: "two\nlines" })).toBeUndefined();
  });
});
