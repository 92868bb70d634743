// Models: what logging, loading and scoring a model costs over the plain operations beneath.
// A model from code with a 1 MB artifact is logged with `logModel` (bundle, MLmodel, signature,
// example, environment, upload) against `logArtifact` of the same 1 MB; loaded with
// `loadModel` cold (empty cache: resolve, download, load) and from the cache against
// `downloadArtifact` of the same 1 MB; to the file store and to real MLflow servers on loopback
// (2.22: run artifacts; 3.4: a LoggedModel), skipped saying why when none can start. Then
// `predict` on 10,000 records (schema checks, then the model) against calling the model's
// own predict on them: the overhead of schema enforcement (target <= 1.5x). Last, an onnx model
// built by python3-onnx (y = X·w + b): `predict` on 10,000 records against a hand-written loop
// that fills a Float32Array and calls onnxruntime-node's InferenceSession.run on it, and on a
// Float32Array against run on the same tensor; skipped saying why without python3-onnx.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadModel, loadModelFromDir, logModel } from "../dist/models/index.js";
import { loadCodeModel } from "../dist/models/flavors/code.js";
import { readMlmodel } from "../dist/models/mlmodel.js";
import { FileStore } from "../dist/tracking/file-store/index.js";
import { MlflowClient, RestStore } from "../dist/tracking/index.js";

const KIT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "mlflow-server");
const SERVER_VERSIONS = ["2.22", "3.4"];
const REPS = 5;
const RECORDS = 10_000;
const PREDICT_LOOPS = 40;
const MB = 1024 * 1024;

const MODEL_TS = `
// A linear model whose first weights come from a 1 MB artifact (the rest is ballast).
import { readFileSync } from "node:fs";
let w = new Float64Array(4);
export default {
  loadContext(context: { artifacts: Record<string, string> }) {
    const b = readFileSync(context.artifacts.weights!);
    w = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + 32));
  },
  predict(input: { a: number; b: number; c: number; d: number }[]) {
    return input.map((r) => r.a * w[0]! + r.b * w[1]! + r.c * w[2]! + r.d * w[3]!);
  },
};
`;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (x) => x.toFixed(1).padStart(9);
const ratio = (a, b) => (a / b).toFixed(2).padStart(6);

/**
 * Median time of each case; cases take turns within a repetition so a busy machine slows all
 * alike. `clock` "cpu" counts this process's CPU time instead of wall time: for work that never
 * waits (predict), it is what other processes on the machine disturb least.
 */
async function timeAll(cases, reps = REPS, clock = "wall") {
  const now =
    clock === "cpu"
      ? () => {
          const u = process.cpuUsage();
          return (u.user + u.system) / 1000;
        }
      : () => performance.now();
  const times = cases.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (const [i, fn] of cases.entries()) {
      const t0 = now();
      await fn(r);
      times[i].push(now() - t0);
    }
  }
  return times.map(median);
}

async function startServer(version, dataDir) {
  const run = promisify(execFile);
  const { stdout } = await run(path.join(KIT, "start.sh"), [version, "0", dataDir, "180"], { encoding: "utf8" });
  return stdout.trim().split("\n").pop();
}

/** Log and load rows for one store. */
async function storeRows(label, client, work) {
  const exp = await client.store.createExperiment(`bench-models-${randomBytes(4).toString("hex")}`);
  const runId = (await client.store.createRun({ experimentId: exp })).info.runId;
  const weights = fs.readFileSync(path.join(work, "weights.bin"));
  const opts = { inputExample: [{ a: 1, b: 2, c: 3, d: 4 }], artifacts: { weights: path.join(work, "weights.bin") } };
  // Warm up: the bundler, the connection, the code paths.
  let info = await logModel(client, runId, path.join(work, "model.ts"), { ...opts, name: "warm" });
  await client.store.logArtifact(runId, "raw/warm.bin", weights);
  const [tArtifact, tLog] = await timeAll([
    (r) => client.store.logArtifact(runId, `raw/w${r}.bin`, weights),
    async (r) => {
      info = await logModel(client, runId, path.join(work, "model.ts"), { ...opts, name: `m${r}` });
    },
  ]);
  const caches = path.join(work, `cache-${label.replace(/\W+/g, "-")}`);
  const warm = path.join(caches, "warm");
  await loadModel(client, info.modelUri, { cacheDir: warm, fromDirs: [work] });
  const [tDownload, tCold, tCached] = await timeAll([
    () => client.store.downloadArtifact(runId, "raw/w0.bin"),
    (r) => loadModel(client, info.modelUri, { cacheDir: path.join(caches, `cold-${r}`), fromDirs: [work] }),
    () => loadModel(client, info.modelUri, { cacheDir: warm, fromDirs: [work] }),
  ]);
  return [
    [`${label}: logArtifact 1 MB`, tArtifact, "1.00", "baseline"],
    [`${label}: logModel, 1 MB artifact`, tLog, ratio(tLog, tArtifact), `vs logArtifact (${info.modelUri.split(":")[0]}:/)`],
    [`${label}: downloadArtifact 1 MB`, tDownload, "1.00", "baseline"],
    [`${label}: loadModel cold`, tCold, ratio(tCold, tDownload), "vs downloadArtifact"],
    [`${label}: loadModel from cache`, tCached, ratio(tCached, tDownload), "vs downloadArtifact"],
  ];
}

async function predictRows(work) {
  const dir = path.join(work, "saved");
  const client = new MlflowClient(new FileStore(path.join(work, "mlruns-predict")));
  const runId = (await client.store.createRun({ experimentId: "0" })).info.runId;
  const info = await logModel(client, runId, path.join(work, "model.ts"), {
    inputExample: [{ a: 1, b: 2, c: 3, d: 4 }],
    artifacts: { weights: path.join(work, "weights.bin") },
  });
  const loaded = await loadModel(client, info.modelUri, { cacheDir: dir, fromDirs: [work] });
  // The model's own predict, loaded from the same folder without the schema in front.
  const mlmodel = await readMlmodel(loaded.metadata.path);
  const raw = await loadCodeModel(loaded.metadata.path, mlmodel.flavors.typescript_function, [work]);
  const records = Array.from({ length: RECORDS }, (_, i) => ({ a: i, b: i / 2, c: -i, d: 1 }));
  const a = raw.predict(records),
    b = await loaded.predict(records);
  if (a.length !== RECORDS || a.some((v, i) => v !== b[i]))
    throw new Error("predict through loadModel differs from the model's own predict");
  const loop = async (fn) => {
    for (let n = 0; n < PREDICT_LOOPS; n++) await fn(records);
  };
  await loop((x) => raw.predict(x));
  await loop((x) => loaded.predict(x));
  const [tRaw, tLoaded] = await timeAll([() => loop((x) => raw.predict(x)), () => loop((x) => loaded.predict(x))], 9, "cpu");
  await client.close();
  return [
    [`predict ${RECORDS.toLocaleString("en-US")} records: model's own`, tRaw / PREDICT_LOOPS, "1.00", "baseline (CPU time)"],
    [
      `predict ${RECORDS.toLocaleString("en-US")} records: loadModel`,
      tLoaded / PREDICT_LOOPS,
      ratio(tLoaded, tRaw),
      "schema checks + model (target <= 1.5)",
    ],
  ];
}

/** predict through loadModel on an onnx model against the raw InferenceSession; skipped (with a note) where it cannot be built. */
async function onnxRows(work, notes) {
  const dir = path.join(work, "onnx");
  const builder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "test", "models", "fixtures", "onnx_models.py");
  let ort;
  try {
    await promisify(execFile)("/usr/bin/python3", [builder, dir]);
    ort = await import("onnxruntime-node");
  } catch (e) {
    notes.push(`onnx rows skipped: ${String(e.message ?? e).split("\n")[0]}`);
    return [];
  }
  const model = path.join(dir, "linear");
  const loaded = await loadModelFromDir(model);
  const tensorModel = await loadModelFromDir(path.join(dir, "linear-tensor"));
  const session = await ort.InferenceSession.create(path.join(model, "model.onnx"), { executionProviders: ["cpu"] });
  const records = Array.from({ length: RECORDS }, (_, i) => ({ x1: i / 100, x2: -i / 50, x3: 1 }));
  const flat = new Float32Array(RECORDS * 3);
  records.forEach((r, i) => flat.set([r.x1, r.x2, r.x3], i * 3));
  const byHand = async () => {
    const x = new Float32Array(RECORDS * 3);
    for (let i = 0; i < RECORDS; i++) {
      const r = records[i];
      x[i * 3] = r.x1;
      x[i * 3 + 1] = r.x2;
      x[i * 3 + 2] = r.x3;
    }
    const { y } = await session.run({ X: new ort.Tensor("float32", x, [RECORDS, 3]) });
    return Array.from(y.data, (v) => ({ y: v }));
  };
  const a = await byHand();
  const b = await loaded.predict(records);
  if (b.length !== RECORDS || b.some((r, i) => r.y !== a[i].y))
    throw new Error("onnx predict through loadModel differs from the raw session");
  const loop = async (fn) => {
    for (let n = 0; n < PREDICT_LOOPS; n++) await fn();
  };
  const cases = [
    byHand,
    () => loaded.predict(records),
    () => session.run({ X: new ort.Tensor("float32", flat, [RECORDS, 3]) }),
    () => tensorModel.predict(flat),
  ];
  for (const fn of cases) await loop(fn);
  const [tHand, tRecords, tRun, tTensor] = (
    await timeAll(
      cases.map((fn) => () => loop(fn)),
      9,
      "cpu",
    )
  ).map((t) => t / PREDICT_LOOPS);
  const rate = (t) => `${Math.round(RECORDS / (t / 1000)).toLocaleString("en-US")} rows/s`;
  const n = RECORDS.toLocaleString("en-US");
  return [
    [`onnx: ${n} records by hand + session.run`, tHand, "1.00", `baseline (CPU time), ${rate(tHand)}`],
    [`onnx: predict ${n} records`, tRecords, ratio(tRecords, tHand), `schema checks + records to tensor to records, ${rate(tRecords)}`],
    [`onnx: session.run on a [${n}, 3] tensor`, tRun, "1.00", `baseline, ${rate(tRun)}`],
    [`onnx: predict a Float32Array`, tTensor, ratio(tTensor, tRun), `schema checks + nested output, ${rate(tTensor)}`],
  ];
}

export async function run() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-models-"));
  fs.writeFileSync(path.join(work, "model.ts"), MODEL_TS);
  const w = new Float64Array(MB / 8);
  for (let i = 0; i < w.length; i++) w[i] = i < 4 ? i + 1 : Math.random();
  fs.writeFileSync(path.join(work, "weights.bin"), Buffer.from(w.buffer));
  const rows = [];
  const notes = [];
  const started = [];
  try {
    const fileClient = new MlflowClient(new FileStore(path.join(work, "mlruns")));
    rows.push(...(await storeRows("file store", fileClient, work)));
    await fileClient.close();

    if (!fs.existsSync(path.join(KIT, "start.sh"))) notes.push(`loopback server rows skipped: no MLflow server kit at ${KIT}`);
    else {
      for (const version of SERVER_VERSIONS) {
        const dataDir = path.join(work, `server-${version}`);
        let url;
        try {
          started.push(dataDir);
          url = await startServer(version, dataDir);
        } catch (e) {
          notes.push(`MLflow ${version} rows skipped: the server did not start (${String(e.message ?? e).split("\n")[0]})`);
          continue;
        }
        const client = new MlflowClient(new RestStore({ baseUrl: url }));
        rows.push(...(await storeRows(`MLflow ${version}`, client, work)));
        await client.close();
      }
    }
    rows.push(...(await predictRows(work)));
    rows.push(...(await onnxRows(work, notes)));
  } finally {
    for (const d of started)
      try {
        await promisify(execFile)(path.join(KIT, "stop.sh"), [d]);
      } catch {
        /* not running */
      }
    fs.rmSync(work, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `model from code with a 1 MB artifact; median of ${REPS} (predict: 9 x ${PREDICT_LOOPS} calls, CPU time); load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
  );
  console.log(`${"case".padEnd(width)}         ms   ratio`);
  for (const [name, t, r, note] of rows) console.log(`${name.padEnd(width)} ${ms(t)}  ${r.padStart(6)}  ${note}`);
  for (const n of notes) console.log(`(${n})`);
}
