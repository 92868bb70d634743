// Two real processes writing one store at once: racing to create the same experiment
// names (and the Default experiment) must end with one experiment per name, and
// concurrent metric appends to one run must keep every line whole.
// The children run the compiled store (dist/), as `npm test` builds before testing.

import { spawn } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../tracking/file-store/index.js";
import { REPO, tempDir } from "./file-store-helpers.js";

const DIST_STORE = join(REPO, "dist/tracking/file-store/index.js");

const CHILD = `
const [, storeModule, root, mode, who, arg] = process.argv;
const { FileStore } = await import(storeModule);
const store = new FileStore(root);
const out = { created: [], refused: [], errors: [] };
if (mode === "experiments") {
  for (let i = 0; i < Number(arg); i++) {
    try { out.created.push([i, await store.createExperiment("shared-" + i)]); }
    catch (e) { (e.code === "RESOURCE_ALREADY_EXISTS" ? out.refused : out.errors).push([i, e.code, e.message]); }
  }
} else if (mode === "params") {
  for (let i = 0; i < Number(arg.split(":")[1]); i++) {
    try { await store.logBatch(arg.split(":")[0], { params: [{ key: "p" + i, value: "from-" + who }] }); out.created.push(i); }
    catch (e) { (e.code === "INVALID_PARAMETER_VALUE" ? out.refused : out.errors).push([i, e.code, e.message]); }
  }
} else {
  const [runId, batches] = arg.split(":");
  for (let b = 0; b < Number(batches); b++) {
    const metrics = [];
    for (let j = 0; j < 5; j++) metrics.push({ key: "shared", value: Number(who) * 1e6 + b * 10 + j, timestamp: 1700000000000 + b, step: b });
    metrics.push({ key: "own_" + who, value: b / 3, timestamp: 1, step: b });
    try { await store.logBatch(runId, { metrics }); } catch (e) { out.errors.push([b, e.code, e.message]); }
  }
}
process.stdout.write(JSON.stringify(out));
`;

function child(root: string, mode: string, who: string, arg: string): Promise<any> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, ["--input-type=module", "-e", CHILD, pathToFileURL(DIST_STORE).href, root, mode, who, arg], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "",
      stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code) =>
      code === 0 ? resolvePromise(JSON.parse(stdout)) : reject(new Error(`child ${who} exited ${code}: ${stderr}`)),
    );
  });
}

beforeAll(() => {
  if (!existsSync(DIST_STORE)) throw new Error(`${DIST_STORE} is missing: run \`npm run build\` (npm test does) before this test.`);
});

describe("two processes, one store", () => {
  it("racing creates of the same names end with one experiment per name, and one Default", async () => {
    const root = join(await tempDir("fs-race-"), "mlruns");
    const N = 15;
    const [a, b] = await Promise.all([child(root, "experiments", "1", String(N)), child(root, "experiments", "2", String(N))]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    for (let i = 0; i < N; i++) {
      const wins = [...a.created, ...b.created].filter(([k]: [number]) => k === i);
      const losses = [...a.refused, ...b.refused].filter(([k]: [number]) => k === i);
      expect(wins.length, `shared-${i}`).toBe(1);
      expect(losses.length, `shared-${i}`).toBe(1);
    }
    const store = new FileStore(root);
    const all = (await store.searchExperiments({ viewType: "ALL", maxResults: 1000 })).items;
    expect(all.map((e) => e.name).sort()).toEqual(["Default", ...Array.from({ length: N }, (_, i) => `shared-${i}`)].sort());
    const entries = await fs.readdir(root);
    expect(entries.filter((e) => e.startsWith(".") && e !== ".trash")).toEqual([]); // no lock left behind
    expect(entries.length).toBe(N + 2); // N experiments + 0 + .trash
  });

  it("the same param logged with different values by two processes: one value wins, the other is refused", async () => {
    const root = join(await tempDir("fs-params-"), "mlruns");
    const store = new FileStore(root);
    const { info } = await store.createRun({ experimentId: "0", runName: "params" });
    const N = 40;
    const [a, b] = await Promise.all([child(root, "params", "1", `${info.runId}:${N}`), child(root, "params", "2", `${info.runId}:${N}`)]);
    expect([...a.errors, ...b.errors]).toEqual([]);
    expect(a.created.length + b.created.length).toBe(N);
    expect(a.refused.length + b.refused.length).toBe(N);
    const params = new Map((await store.getRun(info.runId)).data.params.map((p) => [p.key, p.value]));
    for (let i = 0; i < N; i++) expect(params.get(`p${i}`)).toBe(a.created.includes(i) ? "from-1" : "from-2");
    const files = await fs.readdir(join(root, "0", info.runId, "params"));
    expect(files.filter((f) => f.includes("~"))).toEqual([]); // no temp files left
  });

  it("concurrent metric appends keep every line whole and every point", async () => {
    const root = join(await tempDir("fs-append-"), "mlruns");
    const store = new FileStore(root);
    const { info } = await store.createRun({ experimentId: "0", runName: "shared" });
    const BATCHES = 150;
    const [a, b] = await Promise.all([
      child(root, "metrics", "1", `${info.runId}:${BATCHES}`),
      child(root, "metrics", "2", `${info.runId}:${BATCHES}`),
    ]);
    expect([...a.errors, ...b.errors]).toEqual([]);
    const raw = await fs.readFile(join(root, "0", info.runId, "metrics", "shared"), "utf8");
    const lines = raw.split("\n").filter(Boolean);
    expect(lines).toHaveLength(2 * BATCHES * 5);
    for (const line of lines) expect(line).toMatch(/^1700000000\d{3} \d+\.0 \d+$/);
    const history = await store.getMetricHistory(info.runId, "shared");
    const values = new Set(history.map((m) => m.value));
    for (const who of [1, 2])
      for (let bt = 0; bt < BATCHES; bt++) for (let j = 0; j < 5; j++) expect(values.has(who * 1e6 + bt * 10 + j)).toBe(true);
    expect(await store.getMetricHistory(info.runId, "own_1")).toHaveLength(BATCHES);
  });
});
