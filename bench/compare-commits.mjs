// Before/after benchmarks in one run: `node bench/compare-commits.mjs BASE [HEAD] [--reps N]
// [--only a,b] [--keep]`. Both commits are checked out into git worktrees under a temp dir,
// get their own dependencies (the main tree's node_modules when their lockfile is the same,
// else `npm ci`) and their own build; then every bench file present in both runs
// interleaved (base, head, base, head, ...) with the same environment, and a table puts each
// bench's figures side by side. (.mjs: bench/run.js runs every bench/*.js, and this is none.)
//
// Figures are read from what the benches print, whatever their format: in every output line,
// the numbers that change between runs are measurements, the ones that do not (sizes, counts,
// "median of 5") are part of the row's label. A row's headline is its first measurement (#;
// the rest, mostly CPU times and ratios derived from it, show as …): the median of its runs for base and head, and head / base. A line that only one side
// prints is listed apart.

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE = "usage: node bench/compare-commits.mjs BASE [HEAD] [--reps N] [--only name,name] [--timeout MINUTES] [--keep]";

function parseArgs(argv) {
  const o = { refs: [], reps: 2, only: undefined, timeoutMs: 20 * 60_000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--reps") {
      o.reps = Number(value());
      if (!Number.isInteger(o.reps) || o.reps < 1) throw new Error(`bad --reps ${JSON.stringify(argv[i])}: expected a whole number >= 1`);
    } else if (a === "--only") o.only = value().split(",").filter(Boolean);
    else if (a === "--timeout") {
      const m = Number(value());
      if (!(m > 0)) throw new Error(`bad --timeout ${JSON.stringify(argv[i])}: expected minutes > 0`);
      o.timeoutMs = m * 60_000;
    } else if (a === "--keep") o.keep = true;
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else o.refs.push(a);
  }
  if (o.refs.length < 1 || o.refs.length > 2) throw new Error(USAGE);
  return o;
}

const git = (...args) => execFileSync("git", args, { cwd: MAIN, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

function resolveCommit(ref) {
  try {
    return git("rev-parse", "--verify", `${ref}^{commit}`);
  } catch {
    throw new Error(`${JSON.stringify(ref)} is not a commit of ${MAIN}: give a commit id, branch or tag`);
  }
}

function sh(cmd, args, cwd, env = process.env) {
  console.error(`  $ ${[cmd, ...args].join(" ")}   (in ${cwd})`);
  execFileSync(cmd, args, { cwd, env, stdio: ["ignore", 2, 2] }); // stdout is for the tables
}

/** A worktree of `commit` with dependencies and a build. */
function prepare(name, commit, tmp) {
  const dir = path.join(tmp, name);
  console.error(`${name}: ${commit.slice(0, 10)} ${git("log", "-1", "--format=%s", commit).slice(0, 70)}`);
  sh("git", ["worktree", "add", "--detach", dir, commit], MAIN);
  const lock = (d) => fs.readFileSync(path.join(d, "package-lock.json"), "utf8");
  if (lock(dir) === lock(MAIN) && fs.existsSync(path.join(MAIN, "node_modules"))) {
    fs.symlinkSync(path.join(MAIN, "node_modules"), path.join(dir, "node_modules"), "dir");
    console.error(`  node_modules: the main tree's (same lockfile)`);
  } else {
    // Its own dependencies (it may need packages the main tree dropped); one npm at a time on this machine.
    sh("flock", ["/tmp/npm.lock", "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], dir, {
      ...process.env,
      ONNXRUNTIME_NODE_INSTALL: "skip",
    });
  }
  // Its own build script: tsc, and whatever that commit builds after it (the kernel bundle).
  try {
    sh("npm", ["run", "--silent", "build"], dir);
  } catch {
    console.error(`  ${name}: its build reported errors; what it wrote is used anyway`);
  }
  return dir;
}

const benchFiles = (dir) =>
  fs
    .readdirSync(path.join(dir, "bench"))
    .filter((f) => f.endsWith(".js") && f !== "run.js")
    .map((f) => path.basename(f, ".js"));

/** Runs one bench in `dir`; resolves what it printed (stdout) or an error note. */
function runBench(dir, name, env, timeoutMs) {
  return new Promise((resolve) => {
    const code = `const m = await import(${JSON.stringify(path.join(dir, "bench", `${name}.js`))}); await m.run(); process.exit(0);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      const lines = err.trim().split("\n");
      const why = lines.find((l) => /^\w*Error\b|^error:/i.test(l.trim())) ?? lines.slice(-2).join(" | ");
      const failed = status !== 0 ? `exit ${status ?? signal}: ${why.trim()}` : undefined;
      resolve({ out, failed });
    });
  });
}

const NUMBER = /-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?/gi;
const toNumber = (s) => Number(s.replace(/,/g, ""));

/** A line as its shape (numbers as slots) and its numbers. */
function shapeOf(line) {
  const numbers = [];
  const shape = line.replace(NUMBER, (m) => {
    numbers.push(m);
    return "\u0000";
  });
  return { shape: shape.replace(/\s+/g, " ").trim(), numbers };
}

/** Lines by shape (the k-th line of a shape keeps its k), each with its numbers. */
function parseOutput(out) {
  const rows = new Map();
  const seen = new Map();
  for (const line of out.split("\n")) {
    const { shape, numbers } = shapeOf(line);
    if (!numbers.length) continue;
    const k = (seen.get(shape) ?? 0) + 1;
    seen.set(shape, k);
    rows.set(k === 1 ? shape : `${shape} #${k}`, numbers);
  }
  return rows;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Rows of the comparison table for one bench. */
function compare(baseOuts, headOuts) {
  const base = baseOuts.map(parseOutput);
  const head = headOuts.map(parseOutput);
  const rows = [];
  const onlyOne = [];
  const shapes = [...new Set([...base.flatMap((r) => [...r.keys()]), ...head.flatMap((r) => [...r.keys()])])];
  for (const shape of shapes) {
    const b = base.map((r) => r.get(shape)).filter(Boolean);
    const h = head.map((r) => r.get(shape)).filter(Boolean);
    if (!b.length || !h.length) {
      onlyOne.push(`${b.length ? "base" : "head"} only: ${label(shape, () => "#")}`);
      continue;
    }
    const all = [...b, ...h];
    const n = Math.min(...all.map((x) => x.length));
    // A slot whose text is the same in every run is a constant: it stays in the label.
    const varies = Array.from({ length: n }, (_, i) => new Set(all.map((x) => x[i])).size > 1);
    // The row's headline is its first measurement; the ones after it are mostly derived (CPU, ratios).
    const i = varies.indexOf(true);
    if (i < 0) continue;
    const lbl = label(shape, (k) => (k === i ? "#" : varies[k] ? "…" : all[0][k]));
    const bm = median(b.map((x) => toNumber(x[i])));
    const hm = median(h.map((x) => toNumber(x[i])));
    rows.push([lbl, fmt(bm), fmt(hm), bm === 0 ? "" : (hm / bm).toFixed(2)]);
  }
  return { rows, onlyOne };
}

/** The line's text with each number slot written as `slot(k)` gives it. */
function label(shape, slot) {
  let k = 0;
  const text = shape.replace(/\u0000/g, () => slot(k++));
  return text
    .replace(/[│┌┐└┘├┤┬┴┼─]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 90);
}

const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

function table(rows) {
  const head = ["figure (# = compared, … = other measurements)", "base", "head", "head/base"];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r) => r.map((s, c) => (c === 0 ? s.padEnd(w[c]) : s.padStart(w[c]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const base = resolveCommit(o.refs[0]);
  const head = resolveCommit(o.refs[1] ?? "HEAD");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compare-commits-"));
  const dirs = {};
  // Older commits read the shared material (recorded exchanges, real servers) beside the clone.
  const shared = path.join(MAIN, "..", "shared");
  if (fs.existsSync(shared)) fs.symlinkSync(shared, path.join(tmp, "shared"), "dir");
  try {
    dirs.base = prepare("base", base, tmp);
    dirs.head = prepare("head", head, tmp);
    const inBase = new Set(benchFiles(dirs.base));
    const inHead = benchFiles(dirs.head);
    let names = inHead.filter((n) => inBase.has(n));
    if (o.only) {
      const unknown = o.only.filter((n) => !names.includes(n));
      if (unknown.length) throw new Error(`--only ${unknown.join(",")}: not a bench in both commits; those are ${names.join(", ")}`);
      names = names.filter((n) => o.only.includes(n));
    }
    const headOnly = inHead.filter((n) => !inBase.has(n));
    console.error(`benches in both: ${names.join(", ")}${headOnly.length ? `; only at head (not run): ${headOnly.join(", ")}` : ""}`);

    const report = [];
    for (const name of names) {
      const outs = { base: [], head: [] };
      const failures = [];
      for (let rep = 1; rep <= o.reps; rep++)
        for (const side of ["base", "head"]) {
          // The same environment for both, but each its own cache (compiled-compiler snapshots are per build).
          const env = { ...process.env, XDG_CACHE_HOME: path.join(tmp, `cache-${side}`) };
          const started = Date.now();
          const r = await runBench(dirs[side], name, env, o.timeoutMs);
          console.error(
            `${name}: ${side} run ${rep}/${o.reps} ${((Date.now() - started) / 1000).toFixed(0)} s${r.failed ? ` FAILED ${r.failed}` : ""}`,
          );
          if (r.failed) failures.push(`${side}: ${r.failed}`);
          else outs[side].push(r.out);
        }
      report.push({ name, ...compare(outs.base, outs.head), failures });
      printReport(report.at(-1), base, head);
    }
  } finally {
    for (const d of Object.values(dirs))
      if (!o.keep) execFileSync("git", ["worktree", "remove", "--force", d], { cwd: MAIN, stdio: "ignore" });
    if (!o.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else console.error(`kept ${tmp}`);
  }
}

function printReport(r, base, head) {
  console.log(`\n== ${r.name} (base ${base.slice(0, 7)}, head ${head.slice(0, 7)}) ==`);
  for (const f of [...new Set(r.failures)]) console.log(`  failed: ${f}`);
  if (r.rows.length) console.log(table(r.rows));
  for (const l of r.onlyOne) console.log(`  ${l}`);
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exitCode = 1;
});
