// `tslab-mlflow sync [SOURCE] --to URI`, the CLI as a process, from one local store to another
// (real files both sides): everything a run holds arrives, nested runs point at their
// parents' copies, model versions at the copied runs; a second sync copies nothing; an
// interrupted copy is completed without a duplicated point; selection and --dry-run; bad
// input exits 2 naming the value, an unreachable target exits 1 naming every run and why.
// The same against real MLflow servers is test/real-server/sync.test.ts.

import { createServer } from "node:net";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FileStore,
  SOURCE_RUN_ID_TAG,
  SOURCE_URI_TAG,
  missingPoints,
  provenanceUri,
  rewriteSource,
  type Run,
} from "../../tracking/index.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";
import { runCli } from "../support/run.js";
import { buildSource, dumpStore, type BuiltSource } from "../support/sync-source.js";

let base: string;
let source: string;
let built: BuiltSource;
const EXP = "sync-cli";
const MODEL = "sync-cli-model";
const env = { ...process.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
delete env.MLFLOW_TRACKING_URI;

beforeAll(async () => {
  base = makeTempDir("sync-to");
  source = path.join(base, "mlruns");
  built = await buildSource({ dir: source, experiment: EXP, runs: 12, points: 2500, otherRuns: 2, model: MODEL });
}, 120_000);
afterAll(() => rmTempDir(base));

const sourceId = (run: Run) => run.info.runId;
const copyOf = (run: Run) => run.data.tags.find((t) => t.key === SOURCE_RUN_ID_TAG)?.value ?? `not a copy: ${run.info.runId}`;
const runLines = (stdout: string) => stdout.split("\n").filter((l) => /^\[\s*\d+\/\d+\] /.test(l));

async function copiesIn(dir: string, experiment: string): Promise<Run[]> {
  const store = new FileStore(dir);
  try {
    const exp = await store.getExperimentByName(experiment);
    return exp ? (await store.searchRuns({ experimentIds: [exp.experimentId], runViewType: "ALL", maxResults: 1000 })).items : [];
  } finally {
    await store.close();
  }
}

describe("tslab-mlflow sync SOURCE --to URI", () => {
  it("copies every run with all it holds, then a second sync copies nothing", async () => {
    const target = path.join(base, "target-all");
    const r = await runCli(["sync", source, "--to", target], { env, timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = runLines(r.stdout);
    expect(lines).toHaveLength(14);
    expect(lines[0]).toMatch(
      /^\[ 1\/14\] copied [0-9a-f]{32} \(run "run-\d+" in "sync-cli(-other)?"\) -> [0-9a-f]{32}: 2 params, 2,50\d metric points, 3 artifacts sent in/,
    );
    expect(r.stdout).toContain("14 copied, 0 completed, 0 already there, 0 failed; model versions: 2 copied, 0 already there, 0 failed.");

    const src = new FileStore(source),
      dst = new FileStore(target);
    try {
      const want = await dumpStore(src, [EXP, `${EXP}-other`], [MODEL], sourceId);
      const got = await dumpStore(dst, [EXP, `${EXP}-other`], [MODEL], copyOf);
      expect(Object.keys(got.runs).sort()).toEqual([...built.runIds, ...built.otherRunIds].sort());
      for (const id of Object.keys(want.runs)) expect(got.runs[id], `run ${id}`).toEqual(want.runs[id]);
      expect(got.runs[built.runIds[3]!]!.parent).toBe(built.runIds[0]);
      expect(got.models).toEqual(want.models);
      expect(got.models[MODEL]!.aliases).toEqual({ champion: "2" });
      // The copy records where it came from, as the store's URI.
      const copy = (await copiesIn(target, EXP))[0]!;
      expect(copy.data.tags.find((t) => t.key === SOURCE_URI_TAG)?.value).toBe(src.uri);
      expect((await dst.getExperimentByName(EXP))!.tags).toContainEqual({ key: "project", value: "sync" });
    } finally {
      await src.close();
      await dst.close();
    }

    const again = await runCli(["sync", source, "--to", target], { env, timeout: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(runLines(again.stdout).every((l) => / skipped [0-9a-f]{32} .*: already copied as [0-9a-f]{32}$/.test(l))).toBe(true);
    expect(again.stdout).toContain("0 copied, 0 completed, 14 already there, 0 failed; model versions: 0 copied, 2 already there");
    expect(await copiesIn(target, EXP)).toHaveLength(12);
  }, 300_000);

  it("completes a copy an interrupted sync left, without a duplicated point or a second copy", async () => {
    const target = path.join(base, "target-resume");
    const runId = built.runIds[5]!;
    // What a sync killed after its first log-batch leaves: the copy, its tags, 1,000 points, RUNNING.
    const src = new FileStore(source),
      dst = new FileStore(target);
    try {
      const run = await src.getRun(runId);
      const exp = await dst.createExperiment(EXP);
      const copy = (
        await dst.createRun({
          experimentId: exp,
          runName: run.info.runName,
          startTime: run.info.startTime,
          tags: [
            { key: SOURCE_RUN_ID_TAG, value: runId },
            { key: SOURCE_URI_TAG, value: src.uri },
          ],
        })
      ).info.runId;
      await dst.logBatch(copy, { metrics: (await src.getMetricHistory(runId, "loss")).slice(0, 1000) });
      await dst.logArtifact(copy, "notes.txt", "run 5\n");
    } finally {
      await src.close();
      await dst.close();
    }
    const r = await runCli(["sync", source, "--to", target, "--run-id", runId], { env, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    // Its parent comes along (its copy must have one to point at).
    const lines = runLines(r.stdout);
    expect(lines).toHaveLength(2);
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^\\[\\d/2\\] copied ${built.runIds[0]} \\(run "run-0" in "sync-cli", parent of a chosen run\\)`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^\\[\\d/2\\] completed ${runId} .*: 2 params, 1,502 metric points, 2 artifacts sent`)),
    );
    const copies = (await copiesIn(target, EXP)).filter((c) => copyOf(c) === runId);
    expect(copies).toHaveLength(1);
    const s2 = new FileStore(source),
      d2 = new FileStore(target);
    try {
      const want = (await dumpStore(s2, [EXP], [], sourceId)).runs[runId];
      expect((await dumpStore(d2, [EXP], [], copyOf)).runs[runId]).toEqual(want);
    } finally {
      await s2.close();
      await d2.close();
    }
  }, 180_000);

  it("selects by experiment, run id and start time; --dry-run lists and writes nothing", async () => {
    const target = path.join(base, "target-select");
    const dry = await runCli(["sync", source, "--to", target, "--experiment", `${EXP}-other`, "--dry-run"], { env });
    expect(dry.status, dry.stderr).toBe(0);
    expect(runLines(dry.stdout)).toEqual(
      built.otherRunIds.map((id, i) =>
        expect.stringMatching(new RegExp(`^\\[${i + 1}/2\\] would copy ${id} \\(run "run-100${i}" in "sync-cli-other"\\)$`)),
      ),
    );
    expect(dry.stdout).toContain("Dry run, nothing written: 2 runs from");
    expect(fs.existsSync(target) ? await copiesIn(target, `${EXP}-other`) : []).toEqual([]);

    // Runs 8 to 11 started at or after run 8's start (T0 + 800,000 ms = 2023-11-14T22:26:40Z).
    const since = await runCli(["sync", source, "--to", target, "--experiment", EXP, "--since", "2023-11-14T22:26:40Z"], { env });
    expect(since.status, since.stderr).toBe(0);
    const names = runLines(since.stdout)
      .map((l) => l.match(/\(run "([^"]+)"/)![1])
      .sort();
    // Runs 8 and 9 bring their parent, run 0; runs 10 and 11 are run 10's family.
    expect(names).toEqual(["run-0", "run-10", "run-11", "run-8", "run-9"]);

    const one = await runCli(["sync", source, "--to", target, "--run-id", built.otherRunIds[1]!], { env });
    expect(one.status, one.stderr).toBe(0);
    expect(runLines(one.stdout)).toEqual([expect.stringMatching(/^\[1\/1\] copied .*\(run "run-1001" in "sync-cli-other"\)/)]);
  }, 180_000);

  it("refuses bad input with exit 2, naming the value", async () => {
    const cases: [string[], RegExp][] = [
      [["sync", source, "--to", base + "/t", "--since", "yesterday"], /^error: --since "yesterday" is not a date: expected YYYY-MM-DD/],
      [
        ["sync", source, "--to", base + "/t", "--experiment", "nope"],
        /^error: No active experiment named "nope" in file:\/\/.*; its experiments: .*"sync-cli"/,
      ],
      [
        ["sync", source, "--to", base + "/t", "--run-id", "0123456789abcdef0123456789abcdef"],
        /^error: No run with id "0123456789abcdef0123456789abcdef"/,
      ],
      [["sync", path.join(base, "missing"), "--to", base + "/t"], /^error: bad source ".*missing": no such directory/],
      [["sync", source, "--to", "ftp://example.com/x"], /^error: bad target \(--to\) "ftp:\/\/example\.com\/x": /],
      [["sync", source, "--to", source], /^error: The source and the target are the same store/],
      [["sync", source, "--to", base + "/t", "--concurrency", "0"], /^error: --concurrency "0" is not accepted: expected a whole number/],
      [["sync", source], /^error: SOURCE needs --to URI \(copying runs\); without --to, sync delivers the spool\./],
      [["sync", "--dry-run", "--experiment", "x"], /^error: --experiment, --dry-run need --to URI/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { env });
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr.trim(), args.join(" ")).toMatch(message);
    }
  }, 120_000);

  it("names every run that could not go and why, exit 1, when the target does not answer", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const r = await runCli(["sync", source, "--to", `http://127.0.0.1:${port}`, "--experiment", `${EXP}-other`], { env });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(runLines(r.stdout)).toHaveLength(2);
    for (const id of built.otherRunIds)
      expect(r.stderr).toMatch(new RegExp(`failed: run ${id} \\(run "run-100\\d" in "sync-cli-other"\\): .*(ECONNREFUSED|connect)`, "i"));
  }, 120_000);
});

describe("what sync records and resends", () => {
  it("records the source store without credentials, query or fragment", () => {
    expect(provenanceUri("https://ada:s3cret@mlflow.example.com:5000/team/?token=x#y")).toBe("https://mlflow.example.com:5000/team");
    expect(provenanceUri("file:///home/ada/mlruns")).toBe("file:///home/ada/mlruns");
    expect(provenanceUri("databricks://profile")).toBe("databricks://profile");
  });

  it("points a version's source at the run's copy", () => {
    expect(rewriteSource("runs:/aaa/model", "aaa", "bbb")).toBe("runs:/bbb/model");
    expect(rewriteSource("runs:/aaa", "aaa", "bbb")).toBe("runs:/bbb");
    expect(rewriteSource("runs:/aaab/model", "aaa", "bbb")).toBe("runs:/aaab/model");
    expect(rewriteSource("file:///m/1/aaa/artifacts/model", "aaa", "bbb", "file:///m/1/aaa/artifacts")).toBe("runs:/bbb/model");
    expect(rewriteSource("s3://bucket/elsewhere/model", "aaa", "bbb", "file:///m/1/aaa/artifacts")).toBe("s3://bucket/elsewhere/model");
  });

  it("resends only the points a copy lacks, counting repeats", () => {
    const p = (step: number, timestamp: number, value: number) => ({ key: "k", step, timestamp, value });
    const source = [p(0, 1, 0.5), p(0, 1, 0.5), p(1, 2, NaN), p(2, 3, 0.25)];
    expect(missingPoints(source, [p(0, 1, 0.5), p(1, 2, NaN)])).toEqual([p(0, 1, 0.5), p(2, 3, 0.25)]);
    expect(missingPoints(source, source)).toEqual([]);
    expect(missingPoints(source, [])).toEqual(source);
  });
});
