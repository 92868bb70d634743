// Headless notebook execution, end to end (process start to exit), in one run:
// `tslab-mlflow run` (tracked into a temp file store, and with --no-tracking) against
// `jupyter nbconvert --to notebook --execute` driving our kernel and stock tslab@1.0.22's,
// on a generated 20-cell notebook. Prints medians and ratios to nbconvert + stock tslab
// (targets: `tslab-mlflow run` <= 0.35x warm, <= 0.45x cold).
//
// Our kernel is timed warm (its compiler snapshot for this project already built, as on
// any machine after the first kernel start; see kernel/compiler/cache.ts), cold (no
// snapshot, each kernel its own compiler: TSLAB_MLFLOW_COMPILER_SNAPSHOT=0), and first on a
// machine (an empty cache folder, as on a fresh CI machine: the shared service starts cold).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compilerSnapshotBuilt, stopServices } from "./support/compiler-snapshot.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "dist", "cli", "main.js");
const PYTHON = "/usr/bin/python3";
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CELLS = 20;

function cellSource(i) {
  switch (i % 4) {
    case 0:
      return `const a${i}: number[] = Array.from({ length: 1000 }, (_, k) => k * ${i});\nconsole.log(a${i}.length);`;
    case 1:
      return `function f${i}(n: number): number { return n < 2 ? n : f${i}(n - 1) + f${i}(n - 2); }\nf${i}(15)`;
    case 2:
      return `const s${i} = "cell ${i}".toUpperCase();\ns${i}`;
    default:
      return `interface P${i} { x: number; y: number }\nconst p${i}: P${i} = { x: ${i}, y: ${i} * 2 };\np${i}.x + p${i}.y`;
  }
}

function generatedNotebook() {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab-mlflow", display_name: "TypeScript", language: "typescript" } },
    cells: Array.from({ length: CELLS }, (_, i) => ({
      cell_type: "code",
      id: `c${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source: cellSource(i),
    })),
  };
}

function exec(command, args, opts) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(command, args, { ...opts, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t;
      if (code !== 0) reject(new Error(`${path.basename(command)} ${args.join(" ")} exited ${code}\n${stderr.slice(-2000)}`));
      else resolve(ms);
    });
  });
}

/** Seconds the kernel spent in cells (first busy to last idle), from the timing metadata. */
function cellSeconds(file) {
  const nb = JSON.parse(fs.readFileSync(file, "utf8"));
  const marks = nb.cells.map((c) => c.metadata.execution ?? {});
  const first = Date.parse(marks[0]["iopub.status.busy"]);
  const last = Date.parse(marks.at(-1)["iopub.status.idle"]);
  const firstCell = (Date.parse(marks[0]["iopub.status.idle"]) - first) / 1000;
  return { inCells: (last - first) / 1000, firstCell };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Checks every cell produced its output (a fast failure is no result). Stock tslab sends no
 * execute_input, so its cells have no execution count: outputs are what is compared. */
function checkExecuted(file) {
  const nb = JSON.parse(fs.readFileSync(file, "utf8"));
  const missing = nb.cells.filter((c) => c.outputs.length === 0 || c.outputs.some((o) => o.output_type === "error")).length;
  if (missing) throw new Error(`${file}: ${missing} of ${nb.cells.length} cells without output or with an error`);
}

export async function run() {
  // Inside the repo so stock tslab resolves @types/node from the notebook's folder.
  const base = path.join(ROOT, "test-artifacts");
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, "bench-run-notebook-"));
  try {
    const prefix = path.join(dir, "prefix");
    const env = {
      ...process.env,
      JUPYTER_PATH: path.join(prefix, "share", "jupyter"),
      JUPYTER_DATA_DIR: path.join(dir, "data"),
      JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
      JUPYTER_CONFIG_DIR: path.join(dir, "config"),
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
      TSLAB_MLFLOW_CACHE_DIR: path.join(dir, "compiler-cache"),
    };
    const cold = { ...env, TSLAB_MLFLOW_COMPILER_SNAPSHOT: "0" };
    await exec(process.execPath, [CLI, "install", "--prefix", prefix], { env });
    const tslabBin = path.join(ROOT, "node_modules", "tslab", "bin", "tslab");
    await exec(process.execPath, [tslabBin, "install", "--python", PYTHON, "--binary", tslabBin, "--prefix", prefix], { env });

    const nbFile = path.join(dir, "bench.ipynb");
    fs.writeFileSync(nbFile, JSON.stringify(generatedNotebook(), null, 1));
    const nbconvert =
      (kernel, out, kernelEnv = env) =>
      () =>
        exec(
          PYTHON,
          [
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            `--ExecutePreprocessor.kernel_name=${kernel}`,
            "--ExecutePreprocessor.timeout=300",
            "--output",
            out,
            "bench.ipynb",
          ],
          { cwd: dir, env: kernelEnv },
        );
    const ours =
      (out, extra, kernelEnv = env) =>
      () =>
        exec(process.execPath, [CLI, "run", "bench.ipynb", "-o", out, ...extra], {
          cwd: dir,
          env: { ...kernelEnv, MLFLOW_TRACKING_URI: path.join(dir, "mlruns") },
        });

    // A fresh CI machine: an empty cache folder, everything else as configured by default (the
    // shared service started, the snapshot built for next time); what it started is stopped after.
    let fresh = 0;
    const onFreshMachine = (out) => async () => {
      const cache = path.join(dir, `fresh-cache-${fresh++}`);
      try {
        return await ours(out, [], { ...env, TSLAB_MLFLOW_CACHE_DIR: cache })();
      } finally {
        stopServices(cache);
      }
    };

    // Untimed: the first start builds the compiler snapshot the warm cases start from.
    await ours("warmup.ipynb", ["--no-tracking"])();
    await compilerSnapshotBuilt(env.TSLAB_MLFLOW_CACHE_DIR);

    const cases = [
      ["nbconvert --execute, stock tslab", nbconvert("tslab", "stock.ipynb"), "stock.ipynb"],
      ["nbconvert --execute, tslab-mlflow kernel", nbconvert("tslab-mlflow", "nbc-ours.ipynb"), "nbc-ours.ipynb"],
      ["tslab-mlflow run (tracked, file store)", ours("run.ipynb", []), "run.ipynb"],
      ["tslab-mlflow run --no-tracking", ours("run-nt.ipynb", ["--no-tracking"]), "run-nt.ipynb"],
      ["tslab-mlflow run, cold (no compiler cache)", ours("run-cold.ipynb", [], cold), "run-cold.ipynb"],
      ["tslab-mlflow run, first on a machine", onFreshMachine("run-fresh.ipynb"), "run-fresh.ipynb"],
    ];
    const times = new Map(cases.map(([name]) => [name, []]));
    const inCells = new Map(cases.map(([name]) => [name, []]));
    const firstCells = new Map(cases.map(([name]) => [name, []]));
    // Interleaved repetitions so load changes on the machine hit every case alike.
    for (let rep = 0; rep < REPS; rep++) {
      for (const [name, fn, out] of cases) {
        times.get(name).push(await fn());
        checkExecuted(path.join(dir, out));
        const c = cellSeconds(path.join(dir, out));
        inCells.get(name).push(c.inCells);
        firstCells.get(name).push(c.firstCell);
      }
    }
    const baseline = median(times.get(cases[0][0]));
    console.log(`${CELLS}-cell notebook, median of ${REPS} (wall time from process start to exit)`);
    console.log(
      `${"".padEnd(42)} ${"median".padStart(9)} ${"x stock nbconvert".padStart(18)} ${"in cells".padStart(9)} ${"1st cell".padStart(9)}`,
    );
    for (const [name] of cases) {
      const m = median(times.get(name));
      const cells = median(inCells.get(name));
      const first = median(firstCells.get(name));
      console.log(
        `${name.padEnd(42)} ${(m / 1000).toFixed(2).padStart(8)}s ${(m / baseline).toFixed(2).padStart(17)}x` +
          ` ${cells.toFixed(2).padStart(8)}s ${first.toFixed(2).padStart(8)}s`,
      );
    }
    console.log("in cells: first busy to last idle as the timing metadata records it; 1st cell: its busy to idle");
    console.log("cold: TSLAB_MLFLOW_COMPILER_SNAPSHOT=0 (each kernel compiles on its own, from nothing); the others start warm,");
    console.log("  but first on a machine: an empty cache folder, as on a fresh CI machine (the compiler service starts cold)");
    console.log("target: tslab-mlflow run <= 0.35x nbconvert + stock tslab warm, <= 0.45x cold");
    console.log("warm cases: the shared compiler service of the cache folder is running (started by the warm-up run)");
  } finally {
    if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Also runnable alone: `node bench/run-notebook.js`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run();
