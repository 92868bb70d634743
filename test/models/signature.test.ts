// Signatures: MLflow's JSON specs round-trip through an MLmodel file, are inferred from an
// input example and predict's output, and refuse input the way MLflow's schema enforcement does.
import { describe, expect, it } from "vitest";
import {
  enforceSchema,
  inferSignature,
  mlmodelFromYaml,
  mlmodelToYaml,
  schemaFromJson,
  schemaToJson,
  SchemaMismatchError,
  signatureToMlmodel,
  utcTimeCreated,
  type Schema,
} from "../../models/index.js";

const cols = (list: object[]): Schema => schemaFromJson(list);

describe("signature JSON", () => {
  it("keeps MLflow's column and tensor specs exactly", () => {
    const colSpec = [
      { type: "double", name: "x", required: true },
      { type: "string", name: "s", required: false },
      { type: "array", items: { type: "long" }, name: "ids", required: true },
    ];
    expect(schemaToJson(schemaFromJson(colSpec))).toEqual(colSpec);
    const tensor = [{ type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, 4] } }];
    expect(schemaToJson(schemaFromJson(JSON.stringify(tensor)))).toEqual(tensor);
  });

  it("names an unknown type and what is accepted", () => {
    expect(() => schemaFromJson([{ type: "decimal", name: "x" }])).toThrow(/Unknown column type "decimal".*double/);
  });

  it("round-trips an MLmodel file with the signature as JSON strings", () => {
    const sig = inferSignature([{ x: 1.5, label: "a" }], [0.2]);
    const text = mlmodelToYaml({
      artifactPath: "model",
      runId: "r1",
      modelUuid: "u1",
      utcTimeCreated: utcTimeCreated(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))),
      flavors: { typescript_function: { code: "code/model.cjs" } },
      signature: sig,
      savedInputExampleInfo: { artifact_path: "input_example.json", type: "dataframe", pandas_orient: "split" },
      extra: { custom: 1 },
    });
    expect(text).toContain("utc_time_created: 2026-01-02 03:04:05.006000");
    expect(text).toContain(`inputs: '${signatureToMlmodel(sig).inputs}'`);
    const back = mlmodelFromYaml(text, "test");
    expect(back.signature).toEqual(sig);
    expect(back.extra).toEqual({ custom: 1 });
    expect(back.flavors).toEqual({ typescript_function: { code: "code/model.cjs" } });
  });

  it("refuses an MLmodel without flavors, naming the file", () => {
    expect(() => mlmodelFromYaml("artifact_path: model\n", "/x/MLmodel")).toThrow(/\/x\/MLmodel.*"flavors"/);
    expect(() => mlmodelFromYaml("a: [1, 2", "/y/MLmodel")).toThrow(/\/y\/MLmodel: not YAML/);
  });
});

describe("signature inference", () => {
  it("infers columns from records, optional when missing in some, and an unnamed output column", () => {
    const sig = inferSignature(
      [
        { x: 1, name: "a", ok: true },
        { x: 2.5, ok: false },
      ],
      [0.1, 0.9],
    );
    expect(schemaToJson(sig.inputs!)).toEqual([
      { type: "double", name: "x", required: true },
      { type: "string", name: "name", required: false },
      { type: "boolean", name: "ok", required: true },
    ]);
    expect(schemaToJson(sig.outputs!)).toEqual([{ type: "double", required: true }]);
  });

  it("infers tensors from typed arrays and rows of numbers", () => {
    expect(schemaToJson(inferSignature(new Float32Array(8)).inputs!)).toEqual([
      { type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1] } },
    ]);
    expect(
      schemaToJson(
        inferSignature([
          [1, 2, 3],
          [4, 5, 6],
        ]).inputs!,
      ),
    ).toEqual([{ type: "tensor", "tensor-spec": { dtype: "float64", shape: [-1, 3] } }]);
  });

  it("infers columns from a column object", () => {
    expect(schemaToJson(inferSignature({ a: Float64Array.of(1, 2), b: ["x", "y"] }).inputs!)).toEqual([
      { type: "double", name: "a", required: true },
      { type: "string", name: "b", required: true },
    ]);
  });
});

describe("schema enforcement", () => {
  const schema = cols([
    { type: "double", name: "x", required: true },
    { type: "long", name: "n", required: true },
    { type: "string", name: "s", required: false },
  ]);
  const mismatch = (input: unknown) => {
    try {
      enforceSchema(input, schema);
    } catch (err) {
      expect(err).toBeInstanceOf(SchemaMismatchError);
      expect((err as SchemaMismatchError).code).toBe("INVALID_PARAMETER_VALUE");
      return (err as Error).message;
    }
    throw new Error("accepted");
  };

  it("accepts records, one record and column objects (typed arrays too)", () => {
    enforceSchema(
      [
        { x: 1.5, n: 2 },
        { x: 0, n: 3, s: "a" },
      ],
      schema,
    );
    enforceSchema({ x: 1.5, n: 2 }, schema);
    enforceSchema({ x: Float32Array.of(1, 2), n: Int32Array.of(1, 2) }, schema);
    enforceSchema({ x: [1, 2], n: [BigInt(1), 2] }, schema);
  });

  it("names a missing column with its type", () => {
    expect(mismatch([{ x: 1, n: 1 }, { x: 1 }])).toMatch(/required column "n" \(long\) is missing in record 1/);
    expect(mismatch({ x: [1] })).toMatch(/required column "n" \(long\) is missing/);
  });

  it("names a wrong type: column, expected and given", () => {
    expect(mismatch([{ x: "1.5", n: 1 }])).toMatch(/column "x" expects double but got string \("1.5"\) in record 0/);
    expect(mismatch([{ x: 1, n: 1.5 }])).toMatch(/column "n" expects long but got number \(1.5\)/);
    expect(mismatch({ x: [1, 2], n: Float32Array.of(1, 2) })).toMatch(/column "n" expects long but got Float32Array \(float32\)/);
  });

  it("names an extra column and the ones the signature has", () => {
    expect(mismatch([{ x: 1, n: 1, extra: true }])).toMatch(
      /column "extra" \(boolean\) in record 0 is not in the signature, which has "x", "n", "s"/,
    );
    expect(mismatch({ x: [1], n: [1], y: [2] })).toMatch(/column "y" is not in the signature/);
  });

  it("checks tensor dtype and shape", () => {
    const t = schemaFromJson([{ type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, 2] } }]);
    enforceSchema(Float32Array.of(1, 2, 3, 4), t);
    enforceSchema(
      [
        [1, 2],
        [3, 4],
      ],
      t,
    );
    expect(() => enforceSchema(Float64Array.of(1, 2), t)).toThrow(/tensor input expects dtype float32 but got float64/);
    expect(() => enforceSchema([[1, 2, 3]], t)).toThrow(/expects shape \[-1, 2\] \(-1: any size\) but got \[1, 3\]/);
  });
});
