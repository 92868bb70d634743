// Records checked against named columns: the generated per-signature test takes the common
// case (plain objects holding exactly the columns, numbers, strings, booleans) and every
// record it does not take gets the full check, so what is accepted and the error named are
// the same either way: the record's index, the column, the expected and the given type.
import { describe, expect, it } from "vitest";
import { enforceSchema, schemaFromJson } from "../../models/index.js";

// Common types only: the generated test applies. With a datetime column every record gets the full check.
const common = [
  { type: "double", name: "x" },
  { type: "long", name: "n" },
  { type: "string", name: "s" },
  { type: "boolean", name: "b", required: false },
];
const schema = schemaFromJson(common);
const withDates = schemaFromJson([...common, { type: "datetime", name: "t", required: false }]);
const ok = { x: 1.5, n: 2, s: "a" };
const many = (row: object, at: number, len = 1000) => Array.from({ length: len }, (_, i) => (i === at ? row : { ...ok }));

describe("records against named columns", () => {
  it("accepts what fits, including optional columns absent or null, a Date, a class instance and a null-prototype record", () => {
    class Row {
      x = 1;
      n = 3;
      s = "z";
    }
    const bare = Object.assign(Object.create(null), ok);
    for (const row of [ok, { ...ok, b: true }, { ...ok, b: null }, new Row(), bare, { ...ok, n: 2n }])
      expect(
        () => enforceSchema(many(row, 500), schema),
        JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      ).not.toThrow();
    for (const row of [ok, { ...ok, t: new Date(0) }, { ...ok, t: "2024-01-02" }, { ...ok, t: null }])
      expect(() => enforceSchema(many(row, 500), withDates), JSON.stringify(row)).not.toThrow();
  });

  it("names the record, column and types of the first record that does not fit, wherever it is", () => {
    expect(() => enforceSchema(many({ ...ok, x: "1" }, 999), schema)).toThrow(
      'column "x" expects double but got string ("1") in record 999.',
    );
    expect(() => enforceSchema(many({ ...ok, n: 2.5 }, 7), schema)).toThrow('column "n" expects long but got number (2.5) in record 7.');
    expect(() => enforceSchema(many({ x: 1, n: 2 }, 3), schema)).toThrow('required column "s" (string) is missing in record 3.');
    expect(() => enforceSchema(many({ ...ok, b: 1 }, 0), schema)).toThrow('column "b" expects boolean but got number (1) in record 0.');
    expect(() => enforceSchema(many({ ...ok, y: 0 }, 12), schema)).toThrow(
      'column "y" (number (0)) in record 12 is not in the signature, which has "x", "n", "s", "b".',
    );
    expect(() => enforceSchema(many([1.5, 2, "a"], 4), schema)).toThrow("record 4 is array; expected an object with columns x, n, s, b.");
    expect(() => enforceSchema(many(null as unknown as object, 6), schema)).toThrow(
      "record 6 is null; expected an object with columns x, n, s, b.",
    );
    expect(() => enforceSchema(many({ ...ok, t: "not a date" }, 5), withDates)).toThrow(
      'column "t" expects datetime but got string ("not a date") in record 5.',
    );
  });

  it("refuses a Date or a typed array as a record even when every column is optional", () => {
    const optional = schemaFromJson([
      { type: "double", name: "0", required: false },
      { type: "double", name: "1", required: false },
    ]);
    expect(() => enforceSchema([{ 0: 1 }, new Date(0)], optional)).toThrow("record 1 is Date; expected an object with columns 0, 1.");
    expect(() => enforceSchema([{ 1: 2 }, Float64Array.of(1, 2)], optional)).toThrow(
      "record 1 is Float64Array (float64); expected an object with columns 0, 1.",
    );
    expect(() => enforceSchema([{ 0: 1 }, {}], optional)).not.toThrow();
  });

  it("catches an extra column even when an optional one is absent (same key count)", () => {
    expect(() =>
      enforceSchema(
        [
          { ...ok, b: true },
          { ...ok, z: true },
        ],
        schema,
      ),
    ).toThrow(/column "z" \(boolean\) in record 1 is not in the signature/);
  });
});
