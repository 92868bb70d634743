// Batch inference (models/batch-predict.ts), three ways, in the same run:
//   1. a generated 1 GB CSV (BATCH_BENCH_MB scales it) to Parquet, in a child process of its
//      own: rows/s and the child's peak RSS against the file's size (bounded memory means the
//      peak stays flat however large the file);
//   2. 100k records in memory: batchPredict (batches, schema checks, Parquet out) against
//      calling the model's predict on the same records directly;
//   3. Parquet to Parquet (100k rows) against reading and writing the same files without the
//      model (hyparquet row groups in, hyparquet-writer out): what the model step adds.
// The model is a model from code (test/models/fixtures/scoring: 2a + 3b + 1), so the ratios
// measure the machinery, not a model.
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { batchPredict, createTableSink, loadModelFromDir, openTable, saveModel } from "../dist/models/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MB = Number(process.env.BATCH_BENCH_MB ?? 1000);
const ROWS = 100_000;
const BATCH = 10_000;

async function writeCsv(file, megabytes) {
  const out = fs.createWriteStream(file);
  out.write("id,a,b,label\n");
  let bytes = 0;
  let rows = 0;
  while (bytes < megabytes * 1e6) {
    let chunk = "";
    for (let k = 0; k < 1000; k++, rows++) chunk += `${rows},${(rows % 1000) / 7},${(rows % 13) / 3},row-${rows}\n`;
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return rows;
}

const rate = (rows, ms) => Math.round((rows / ms) * 1000).toLocaleString("en-US");
const best = async (n, f) => {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
};

export async function run() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-batch-predict-"));
  try {
    const modelDir = path.join(dir, "model");
    await saveModel(path.join(ROOT, "test", "models", "fixtures", "scoring", "model.ts"), modelDir, { inputExample: [{ a: 0, b: 1 }] });
    const model = await loadModelFromDir(modelDir);

    // 1. The big CSV, in a child process so its peak RSS is its own.
    const big = path.join(dir, "big.csv");
    const rows = await writeCsv(big, MB);
    const size = fs.statSync(big).size;
    const child = `
      import { batchPredict, loadModelFromDir } from ${JSON.stringify(path.join(ROOT, "dist", "models", "index.js"))};
      const model = await loadModelFromDir(${JSON.stringify(modelDir)});
      const base = process.memoryUsage().rss;
      const r = await batchPredict(model, ${JSON.stringify(big)}, { output: ${JSON.stringify(path.join(dir, "big.parquet"))}, batchSize: ${BATCH} });
      console.log(JSON.stringify({ rows: r.rows, ms: r.elapsedMs, base, peak: process.resourceUsage().maxRSS * 1024 }));`;
    const got = JSON.parse(
      execFileSync(process.execPath, ["--input-type=module", "-e", child], { encoding: "utf8", maxBuffer: 1 << 20 })
        .trim()
        .split("\n")
        .pop(),
    );
    if (got.rows !== rows) throw new Error(`expected ${rows} rows, got ${got.rows}`);
    console.log(`CSV ${(size / 1e6).toFixed(0)} MB (${rows.toLocaleString("en-US")} rows) -> Parquet, batches of ${BATCH}:`);
    console.log(
      `  ${rate(rows, got.ms)} rows/s, ${(got.ms / 1000).toFixed(1)} s; peak RSS ${(got.peak / 2 ** 20).toFixed(0)} MB (process at start ${(got.base / 2 ** 20).toFixed(0)} MB; file ${(size / 2 ** 20).toFixed(0)} MB)`,
    );
    fs.rmSync(big);

    // 2. 100k records: batchPredict against the model's predict on the same records.
    const records = Array.from({ length: ROWS }, (_, i) => ({ a: (i % 1000) / 7, b: (i % 13) / 3 }));
    const out = path.join(dir, "mem.parquet");
    const direct = await best(3, () => model.predict(records));
    const batched = await best(3, () => batchPredict(model, records, { output: out, batchSize: BATCH }));
    console.log(`${ROWS.toLocaleString("en-US")} records in memory:`);
    console.log(`  model.predict directly      ${direct.toFixed(0).padStart(6)} ms  (${rate(ROWS, direct)} rows/s)`);
    console.log(
      `  batchPredict -> Parquet     ${batched.toFixed(0).padStart(6)} ms  (${rate(ROWS, batched)} rows/s)  ratio ${(batched / direct).toFixed(1)}x`,
    );

    // 3. Parquet to Parquet, against the same read and write without the model.
    const copy = async () => {
      const src = await openTable(out);
      let sink;
      for await (const batch of src.batches(BATCH)) {
        sink ??= await createTableSink(path.join(dir, "copy.parquet"), Object.keys(batch[0]));
        await sink.write(batch);
      }
      await sink.finish();
    };
    const io = await best(3, copy);
    const pq = await best(3, () => batchPredict(model, out, { output: path.join(dir, "pq.parquet"), batchSize: BATCH }));
    console.log(`Parquet -> Parquet, ${ROWS.toLocaleString("en-US")} rows:`);
    console.log(`  read + write, no model      ${io.toFixed(0).padStart(6)} ms  (${rate(ROWS, io)} rows/s)`);
    console.log(
      `  batchPredict                ${pq.toFixed(0).padStart(6)} ms  (${rate(ROWS, pq)} rows/s)  ratio ${(pq / io).toFixed(2)}x`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
