// MLflow's scoring protocol without HTTP: every payload format becomes the records (or value)
// the model receives, CSV cells are typed by the signature, extra columns are dropped as
// MLflow drops them, and each bad payload is refused with MLflow's status and error code and a
// message naming the problem. Answers: typed arrays and bigints as JSON, errors in MLflow's shape.
import { describe, expect, it } from "vitest";
import { MlflowError } from "../../tracking/index.js";
import { SchemaMismatchError, schemaFromJson } from "../../models/index.js";
import { csvValue, errorAnswer, parseScoringRequest, predictionsBody, ScoringError } from "../../models/scoring-protocol.js";

const schema = schemaFromJson([
  { type: "double", name: "a" },
  { type: "double", name: "b" },
  { type: "string", name: "s", required: false },
  { type: "boolean", name: "f", required: false },
]);
const JSON_TYPE = "application/json";
const parse = (body: unknown, type = JSON_TYPE) =>
  parseScoringRequest(typeof body === "string" ? body : JSON.stringify(body), type, schema);
const rows = [
  { a: 1, b: 0 },
  { a: 2, b: 1 },
];

describe("scoring protocol: good payloads", () => {
  it("reads every format to what the model receives", () => {
    expect(
      parse({
        dataframe_split: {
          columns: ["a", "b"],
          data: [
            [1, 0],
            [2, 1],
          ],
        },
      }),
    ).toEqual({ format: "dataframe_split", input: rows });
    expect(
      parse({
        dataframe_split: {
          index: [5, 6],
          columns: ["a", "b"],
          data: [
            [1, 0],
            [2, 1],
          ],
        },
      }).input,
    ).toEqual(rows);
    expect(parse({ dataframe_records: rows })).toEqual({ format: "dataframe_records", input: rows });
    expect(parse({ instances: rows })).toEqual({ format: "instances", input: rows });
    expect(parse({ instances: { a: [1, 2], b: [0, 1] } }).input).toEqual({ a: [1, 2], b: [0, 1] });
    expect(parse({ inputs: rows, params: { k: 1 } })).toEqual({ format: "inputs", input: rows, params: { k: 1 } });
    expect(parse({ inputs: [[1, 2]] }).input).toEqual([[1, 2]]);
    // Binary bodies, and a charset parameter on the content type.
    expect(parseScoringRequest(Buffer.from(JSON.stringify({ inputs: rows })), "application/json; charset=utf-8").input).toEqual(rows);
  });

  it("types CSV cells by the signature: numbers, strings that look like numbers, booleans, empty cells", () => {
    const r = parse("a,b,s,f\n1,0.5,007,true\n-2e3,,x,FALSE\n", "text/csv; charset=utf-8");
    expect(r).toEqual({
      format: "csv",
      input: [
        { a: 1, b: 0.5, s: "007", f: true },
        { a: -2000, b: null, s: "x", f: false },
      ],
    });
    // Without a signature, what reads as a number is one.
    expect(parseScoringRequest('x,y\n1,"a,b"\n', "text/csv").input).toEqual([{ x: 1, y: "a,b" }]);
    // A cell that does not convert stays a string, for schema enforcement to name.
    expect(csvValue("abc", "double")).toBe("abc");
    expect(csvValue("NaN", "double")).toBeNaN();
    expect(csvValue("-inf", "float")).toBe(-Infinity);
  });

  it("drops columns the signature does not name, as MLflow's server does", () => {
    expect(parse({ dataframe_records: [{ a: 1, b: 0, c: 5 }] }).input).toEqual([{ a: 1, b: 0 }]);
    expect(parse({ inputs: { a: [1], b: [0], c: [5] } }).input).toEqual({ a: [1], b: [0] });
    expect(parse("a,b,c\n1,0,5\n", "text/csv").input).toEqual([{ a: 1, b: 0 }]);
  });
});

describe("scoring protocol: bad payloads", () => {
  const refused = (body: unknown, type: string | undefined, status: number, code: string, message: RegExp) => {
    let err: unknown;
    try {
      parseScoringRequest(typeof body === "string" ? body : JSON.stringify(body), type, schema);
    } catch (e) {
      err = e;
    }
    expect(err, `${JSON.stringify(body)} should be refused`).toBeInstanceOf(MlflowError);
    const e = err as MlflowError;
    expect([e.httpStatus, e.code]).toEqual([status, code]);
    expect(e.message).toMatch(message);
  };

  it("names each problem with MLflow's status and code", () => {
    refused('{"inputs": [1,', JSON_TYPE, 400, "BAD_REQUEST", /valid JSON formatted string.*JSON/);
    refused("", JSON_TYPE, 400, "BAD_REQUEST", /valid JSON.*the body is empty/);
    refused(
      { foo: rows },
      JSON_TYPE,
      400,
      "BAD_REQUEST",
      /exactly one of the input fields.*Received dictionary with input fields: \[\]; unknown fields: 'foo'/,
    );
    refused({}, JSON_TYPE, 400, "BAD_REQUEST", /exactly one of the input fields/);
    refused({ inputs: rows, instances: rows }, JSON_TYPE, 400, "BAD_REQUEST", /input fields: \['inputs', 'instances'\]/);
    refused(rows, JSON_TYPE, 400, "BAD_REQUEST", /must be a JSON dictionary.*Received a list/);
    refused(
      "a,b",
      "text/plain",
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      /only supports the following content types: application\/json, text\/csv\. Got "text\/plain"/,
    );
    refused("{}", undefined, 415, "UNSUPPORTED_MEDIA_TYPE", /Got ""/);
    refused({ dataframe_split: [1, 2] }, JSON_TYPE, 400, "BAD_REQUEST", /split format must be a dictionary.*Got a list/);
    refused(
      { dataframe_split: { columns: ["a", "b"], data: [[1]] } },
      JSON_TYPE,
      400,
      "BAD_REQUEST",
      /2 columns passed, row 0 of "data" has 1/,
    );
    refused({ dataframe_split: { columns: "a", data: [] } }, JSON_TYPE, 400, "BAD_REQUEST", /"columns" must be a list/);
    refused(
      { dataframe_records: { a: 1, b: 0 } },
      JSON_TYPE,
      400,
      "BAD_REQUEST",
      /records format must be a list of records.*Got a dictionary/,
    );
    refused({ inputs: rows, params: [1] }, JSON_TYPE, 400, "BAD_REQUEST", /'params' must be a dictionary/);
    refused({ dataframe_records: [] }, JSON_TYPE, 400, "INVALID_PARAMETER_VALUE", /missing inputs "a", "b"/);
    refused("", "text/csv", 400, "BAD_REQUEST", /CSV: the body is empty/);
    refused('a,b\n"1,0\n', "text/csv", 400, "BAD_REQUEST", /Failed to parse input as CSV: .*quote/i);
  });
});

describe("scoring protocol: answers", () => {
  it("writes predictions as MLflow's server does, typed arrays and bigints as JSON numbers", () => {
    expect(JSON.parse(predictionsBody([3, 8]))).toEqual({ predictions: [3, 8] });
    expect(JSON.parse(predictionsBody(Float32Array.of(0.5, 1)))).toEqual({ predictions: [0.5, 1] });
    expect(JSON.parse(predictionsBody([1n, 2n ** 70n]))).toEqual({ predictions: [1, "1180591620717411303424"] });
    expect(JSON.parse(predictionsBody({ label: ["x"], score: [NaN] }))).toEqual({ predictions: { label: ["x"], score: [null] } });
  });

  it("answers errors in MLflow's shape: protocol and schema errors keep their code, a failing model is a BAD_REQUEST naming its error", () => {
    const shape = (e: unknown) => {
      const a = errorAnswer(e);
      return { status: a.status, type: a.contentType, body: a.contentType.startsWith("application/json") ? JSON.parse(a.body) : a.body };
    };
    expect(shape(new ScoringError("bad"))).toEqual({
      status: 400,
      type: "application/json",
      body: { error_code: "BAD_REQUEST", message: "bad" },
    });
    expect(shape(new SchemaMismatchError("x"))).toMatchObject({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE" } });
    expect(shape(new ScoringError("no", 415, "UNSUPPORTED_MEDIA_TYPE"))).toEqual({
      status: 415,
      type: "text/plain; charset=utf-8",
      body: "no",
    });
    expect(shape(new TypeError("x is not a function"))).toMatchObject({
      status: 400,
      body: { error_code: "BAD_REQUEST", message: expect.stringMatching(/evaluating the model.*TypeError: x is not a function/) },
    });
  });
});
