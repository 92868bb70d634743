// Batch inference on real files: CSV, JSON Lines, Parquet and records in; Parquet (read back
// with hyparquet: values, columns, one row group per batch) and CSV out; kept columns; a bad row
// named by number and column, or left out and reported with skipBadRows; bad options named.
// Memory: a generated 50 MB CSV runs in a child process whose peak RSS grows less than a bound
// computed from the batch size, far below what holding the table would take.
// Models answering a record per row (onnx models built by Debian's python3-onnx): one output
// gives its bare number in `prediction`, several give a typed `prediction_<output>` column
// each; a later record with an output the first batch did not have is refused naming its row.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { cpSync, createWriteStream, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { parquetWriteFile } from "hyparquet-writer";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchPredict, loadModelFromDir, saveModel, type LoadedModel } from "../../models/index.js";
import { REPO_ROOT, makeTempDir, rmTempDir } from "../support/paths.js";

const FIXTURE = path.join(REPO_ROOT, "test", "models", "fixtures", "scoring", "model.ts");
const f = (a: number, b: number) => 2 * a + 3 * b + 1;

let work: string;
let modelDir: string;
let model: LoadedModel;
beforeAll(async () => {
  work = makeTempDir("batch-predict");
  modelDir = path.join(work, "model");
  await saveModel(FIXTURE, modelDir, { inputExample: [{ a: 0, b: 1 }] });
  model = await loadModelFromDir(modelDir);
});
afterAll(() => rmTempDir(work));

const readParquet = async (file: string) => {
  const buf = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buf);
  return {
    rows: await parquetReadObjects({ file: buf, metadata }),
    rowGroups: metadata.row_groups.map((g) => Number(g.num_rows)),
    columns: metadata.schema.slice(1).map((s) => s.name),
    types: Object.fromEntries(metadata.schema.slice(1).map((s) => [s.name, s.type])),
  };
};

const table = Array.from({ length: 25 }, (_, i) => ({ id: i, a: i / 4, b: i % 3, label: `r,"${i}"` }));
const csvOf = (rows: typeof table) =>
  "id,a,b,label\n" + rows.map((r) => `${r.id},${r.a},${r.b},"${r.label.replace(/"/g, '""')}"`).join("\n") + "\n";

describe("batchPredict", () => {
  it("CSV in, Parquet out: input columns plus prediction, one row group per batch, a preview", async () => {
    const input = path.join(work, "in.csv");
    writeFileSync(input, csvOf(table));
    const output = path.join(work, "out.parquet");
    const progress: number[] = [];
    const r = await batchPredict(model, input, { output, batchSize: 10, onProgress: (p) => progress.push(p.rows) });
    expect(r).toMatchObject({ output, rows: 25, batches: 3, columns: ["id", "a", "b", "label", "prediction"], badRows: [] });
    expect(progress).toEqual([10, 20, 25]);
    const back = await readParquet(output);
    expect(back.columns).toEqual(["id", "a", "b", "label", "prediction"]);
    expect(back.rowGroups).toEqual([10, 10, 5]);
    expect(back.rows).toEqual(table.map((t) => ({ ...t, prediction: f(t.a, t.b) })));
    expect(r.preview).toEqual(back.rows.slice(0, 10));
  });

  it("JSON Lines in, CSV out (by the extension), keeping only the asked columns", async () => {
    const input = path.join(work, "in.jsonl");
    writeFileSync(input, table.map((t) => JSON.stringify(t)).join("\n") + "\n\n");
    const output = path.join(work, "out.csv");
    const r = await batchPredict(model, input, { output, columns: ["label", "id"], batchSize: 7 });
    expect(r.columns).toEqual(["label", "id", "prediction"]);
    const lines = readFileSync(output, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe("label,id,prediction");
    expect(lines[2]).toBe(`"r,""1""",1,${f(0.25, 1)}`);
    expect(lines).toHaveLength(26);
  });

  it("Parquet in (two row groups), Parquet out; records in memory with no output path", async () => {
    const input = path.join(work, "in.parquet");
    parquetWriteFile({
      filename: input,
      rowGroupSize: 15,
      columnData: [
        { name: "a", data: table.map((t) => t.a), type: "DOUBLE" },
        { name: "b", data: table.map((t) => t.b), type: "DOUBLE" },
      ],
    });
    const r = await batchPredict(model, input, { output: path.join(work, "from-parquet.parquet"), batchSize: 10 });
    // Row groups of 15 read in batches of at most 10: 10, 5, 10.
    expect([r.rows, r.batches]).toEqual([25, 3]);
    expect((await readParquet(r.output)).rows.map((x) => x.prediction)).toEqual(table.map((t) => f(t.a, t.b)));

    const mem = await batchPredict(model, table.slice(0, 3));
    expect(mem.output).toMatch(/predictions\.parquet$/);
    expect((await readParquet(mem.output)).rows).toEqual(table.slice(0, 3).map((t) => ({ ...t, prediction: f(t.a, t.b) })));
  });

  it("a bad row stops the run naming its row number and column; skipBadRows leaves it out and reports it", async () => {
    const input = path.join(work, "bad.csv");
    writeFileSync(input, "a,b\n1,0\n2,1\nthree,1\n4,\n5,5\n");
    const output = path.join(work, "bad.parquet");
    await expect(batchPredict(model, input, { output, batchSize: 2 })).rejects.toThrow(
      /Input row 3 does not match the model's signature: column "a" expects double but got string \("three"\)/,
    );
    // No half table under the asked name.
    expect(() => readFileSync(output)).toThrow();
    const r = await batchPredict(model, input, { output, batchSize: 2, skipBadRows: true });
    expect(r.badRows).toEqual([
      { row: 3, message: expect.stringMatching(/column "a" expects double but got string \("three"\)/) },
      { row: 4, message: expect.stringMatching(/required column "b" \(double\) is missing/) },
    ]);
    expect((await readParquet(output)).rows).toEqual([
      { a: 1, b: 0, prediction: 3 },
      { a: 2, b: 1, prediction: 8 },
      { a: 5, b: 5, prediction: 26 },
    ]);
  });

  it("refuses bad input naming the value and what is accepted", async () => {
    await expect(batchPredict(model, path.join(work, "x.txt"))).rejects.toThrow(
      /input format of ".*x\.txt".*\.csv, \.jsonl \(or \.ndjson\), \.parquet/,
    );
    await expect(batchPredict(model, path.join(work, "none.csv"))).rejects.toThrow(/No input file at ".*none\.csv"/);
    await expect(batchPredict(model, table, { output: path.join(work, "o.json") })).rejects.toThrow(
      /output format of ".*o\.json".*\.parquet or \.csv/,
    );
    await expect(batchPredict(model, table, { batchSize: 0 })).rejects.toThrow(/Invalid batch size 0/);
    await expect(batchPredict(model, table, { columns: ["id", "nope"] })).rejects.toThrow(
      /Columns "nope" are not in the input, which has "id", "a", "b", "label"/,
    );
    await expect(batchPredict(model, [1, 2] as never)).rejects.toThrow(/an array of records/);
    const jl = path.join(work, "bad.jsonl");
    writeFileSync(jl, '{"a":1,"b":1}\n[1]\n');
    await expect(batchPredict(model, jl)).rejects.toThrow(/Line 2 of ".*bad\.jsonl" is a list; expected a JSON object/);
  });

  it("a 50 MB CSV runs in bounded memory: peak RSS grows less than a bound set by the batch size", async () => {
    const input = path.join(work, "big.csv");
    const out = createWriteStream(input);
    out.write("id,a,b,label\n");
    let bytes = 0;
    let rows = 0;
    while (bytes < 50e6) {
      let chunk = "";
      for (let k = 0; k < 1000; k++, rows++) chunk += `${rows},${(rows % 1000) / 7},${(rows % 13) / 3},row-${rows}\n`;
      bytes += chunk.length;
      if (!out.write(chunk)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
    const batchSize = 1000;
    const script = `
      import { batchPredict, loadModelFromDir } from ${JSON.stringify(path.join(REPO_ROOT, "dist", "models", "index.js"))};
      const model = await loadModelFromDir(${JSON.stringify(modelDir)});
      const before = process.memoryUsage().rss;
      const r = await batchPredict(model, ${JSON.stringify(input)}, { output: ${JSON.stringify(path.join(work, "big.parquet"))}, batchSize: ${batchSize} });
      console.log(JSON.stringify({ rows: r.rows, growth: process.resourceUsage().maxRSS * 1024 - before }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { timeout: 120_000 });
    const got = JSON.parse(stdout.trim().split("\n").pop()!) as { rows: number; growth: number };
    expect(got.rows).toBe(rows);
    // A generous per-row budget (the parsed record, the model's input, the output row, the
    // column arrays) for one batch, plus the runtime's own slack (young generation, code).
    const bound = 80 * 2 ** 20 + batchSize * 2048;
    // Holding the table would take at least 100 bytes per row in objects (about 1M rows here).
    expect(bound).toBeLessThan(rows * 100);
    expect(got.growth).toBeLessThan(bound);
  }, 180_000);
});

describe("batchPredict on a model answering records", () => {
  const BUILDER = path.join(REPO_ROOT, "test", "models", "fixtures", "onnx_models.py");
  let built: string;
  let expected: any;
  beforeAll(async () => {
    built = path.join(work, "onnx");
    const { stdout } = await promisify(execFile)("/usr/bin/python3", [BUILDER, built], { timeout: 60_000 });
    expected = JSON.parse(stdout.trim().split("\n").pop()!);
  }, 60_000);
  const closeTo = (got: unknown[], want: number[]) => {
    expect(got).toHaveLength(want.length);
    got.forEach((g, i) => expect(g as number).toBeCloseTo(want[i]!, 5));
  };

  it("one output (an onnx model's [{y}, ...]): its bare number in a DOUBLE prediction column", async () => {
    const model = await loadModelFromDir(path.join(built, "linear"));
    const { rows, y } = expected.linear as { rows: number[][]; y: number[] };
    expect(await model.predict([{ x1: rows[0]![0], x2: rows[0]![1], x3: rows[0]![2] }])).toEqual([{ y: expect.any(Number) }]);
    const input = path.join(work, "linear.csv");
    writeFileSync(input, "id,x1,x2,x3\n" + rows.map((r, i) => `${i},${r.join(",")}`).join("\n") + "\n");
    const r = await batchPredict(model, input, { output: path.join(work, "linear.parquet"), batchSize: 3 });
    expect(r.columns).toEqual(["id", "x1", "x2", "x3", "prediction"]);
    const back = await readParquet(r.output);
    expect(back.types.prediction).toBe("DOUBLE");
    closeTo(
      back.rows.map((x) => x.prediction),
      y,
    );
    closeTo(
      r.preview.map((x) => x.prediction),
      y,
    );
  });

  it("several outputs: a typed prediction_<output> column each, in Parquet and CSV", async () => {
    // The two-output model given a column signature: records of p, q become its X tensor.
    const dir = path.join(work, "two-columns");
    cpSync(path.join(built, "two-outputs"), dir, { recursive: true });
    const doc = parse(readFileSync(path.join(dir, "MLmodel"), "utf8"));
    doc.signature.inputs = JSON.stringify(["p", "q"].map((name) => ({ type: "float", name, required: true })));
    doc.signature.outputs = JSON.stringify(["total", "diff"].map((name) => ({ type: "float", name, required: true })));
    writeFileSync(path.join(dir, "MLmodel"), stringify(doc));
    const model = await loadModelFromDir(dir);
    const { rows, total, diff } = expected.two_outputs as { rows: number[][]; total: number[][]; diff: number[][] };
    const records = rows.map(([p, q], i) => ({ id: `r${i}`, p, q }));
    const r = await batchPredict(model, records, { output: path.join(work, "two.parquet"), batchSize: 2 });
    expect(r.columns).toEqual(["id", "p", "q", "prediction_total", "prediction_diff"]);
    const back = await readParquet(r.output);
    expect([back.types.prediction_total, back.types.prediction_diff]).toEqual(["DOUBLE", "DOUBLE"]);
    closeTo(
      back.rows.map((x) => x.prediction_total),
      total.flat(),
    );
    closeTo(
      back.rows.map((x) => x.prediction_diff),
      diff.flat(),
    );
    const csv = await batchPredict(model, records, { output: path.join(work, "two.csv"), columns: ["id"] });
    const lines = readFileSync(csv.output, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe("id,prediction_total,prediction_diff");
    expect(lines[1]!.split(",").map(Number).slice(1)).toEqual([total[0]![0], diff[0]![0]].map((v) => Math.fround(v)));
  });

  it("a later record with an output the first batch did not have is refused naming its input row", async () => {
    const file = path.join(work, "records-model.ts");
    writeFileSync(
      file,
      `export default { predict: (rows: { a: number }[]) => rows.map((r) => (r.a > 4 ? { lo: r.a, hi: r.a * 2 } : { lo: r.a })) };\n`,
    );
    const dir = path.join(work, "records-model");
    await saveModel(file, dir);
    const model = await loadModelFromDir(dir);
    const ok = await batchPredict(model, [{ a: 1 }, { a: 2 }]);
    expect(ok.columns).toEqual(["a", "prediction"]);
    expect((await readParquet(ok.output)).rows).toEqual([
      { a: 1, prediction: 1 },
      { a: 2, prediction: 2 },
    ]);
    const output = path.join(work, "records-bad.parquet");
    const rows = Array.from({ length: 6 }, (_, i) => ({ a: i }));
    await expect(batchPredict(model, rows, { output, batchSize: 3 })).rejects.toThrow(
      'The model\'s prediction for input row 6 has the output "hi" where its first predictions were one record with the output "lo": batch inference writes one column per output, fixed by the first batch.',
    );
    expect(() => readFileSync(output)).toThrow();
  });
});
