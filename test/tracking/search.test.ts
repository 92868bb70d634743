// MLflow's search language, store-independent: tokenizer, filter grammar (every operator,
// every identifier kind, the error messages), order_by with NaN/missing values, pages.

import { describe, expect, it } from "vitest";
import type { Experiment, ModelVersion, RegisteredModel, Run } from "../../tracking/entities.js";
import { MlflowError } from "../../tracking/errors.js";
import {
  createPageToken,
  parseFilter,
  parseOrderBy,
  parsePageToken,
  RUN_GRAMMAR,
  searchExperimentList,
  searchModelVersionList,
  searchRegisteredModelList,
  searchRunList,
  tokenize,
} from "../../tracking/search/index.js";

function run(
  id: string,
  startTime: number,
  o: {
    metrics?: Record<string, number>;
    params?: Record<string, string>;
    tags?: Record<string, string>;
    status?: Run["info"]["status"];
    name?: string;
    endTime?: number;
  } = {},
): Run {
  return {
    info: {
      runId: id,
      experimentId: "1",
      runName: o.name ?? id,
      userId: "alice",
      status: o.status ?? "FINISHED",
      startTime,
      artifactUri: `file:///m/1/${id}/artifacts`,
      lifecycleStage: "active",
      ...(o.endTime !== undefined ? { endTime: o.endTime } : {}),
    },
    data: {
      metrics: Object.entries(o.metrics ?? {}).map(([key, value]) => ({ key, value, timestamp: 1, step: 0 })),
      params: Object.entries(o.params ?? {}).map(([key, value]) => ({ key, value })),
      tags: Object.entries(o.tags ?? {}).map(([key, value]) => ({ key, value })),
    },
  };
}

const RUNS: Run[] = [
  run("aaa", 100, {
    metrics: { acc: 0.5, "train/loss": 1.5 },
    params: { lr: "0.01", opt: "Adam" },
    tags: { stage: "train", "my tag": "x", "mlflow.parentRunId": "p1" },
    name: "fs-finished",
    endTime: 150,
  }),
  run("bbb", 200, {
    metrics: { acc: 0.9, nanm: NaN },
    params: { lr: "0.1", opt: "sgd" },
    tags: { stage: "prod" },
    status: "FAILED",
    name: "bold-bee-12",
  }),
  run("ccc", 300, { metrics: { acc: NaN, nanm: 2 }, params: { lr: "0.5" }, tags: { stage: "trial" }, status: "KILLED", name: "fs-child" }),
  run("ddd", 300, { params: { lr: "1" }, status: "RUNNING", name: "no-metrics" }),
];

const ids = (filter?: string, orderBy?: string[]) => searchRunList(RUNS, { filter, orderBy }).items.map((r) => r.info.runId);

function invalid(fn: () => unknown): MlflowError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlflowError);
    expect((e as MlflowError).code).toBe("INVALID_PARAMETER_VALUE");
    return e as MlflowError;
  }
  throw new Error("expected an INVALID_PARAMETER_VALUE error");
}

describe("tokenizer", () => {
  it("reads names with quoted and backticked parts, strings, numbers and comparators", () => {
    const t = tokenize("tags.`my tag` != 'it''s' AND metrics.\"a-b\" >= -1.5e3 and run_id IN ('x','y')");
    expect(t.map((x) => [x.kind, x.text])).toEqual([
      ["name", "tags.`my tag`"],
      ["op", "!="],
      ["string", "'it''s'"],
      ["name", "AND"],
      ["name", 'metrics."a-b"'],
      ["op", ">="],
      ["number", "-1.5e3"],
      ["name", "and"],
      ["name", "run_id"],
      ["name", "IN"],
      ["lparen", "("],
      ["string", "'x'"],
      ["comma", ","],
      ["string", "'y'"],
      ["rparen", ")"],
    ]);
    expect(t[2]!.value).toBe("it's");
  });
  it("refuses unterminated strings and stray characters", () => {
    expect(invalid(() => tokenize("params.x = 'abc")).message).toMatch(/Unterminated string/);
    expect(invalid(() => tokenize("params.x = #")).message).toMatch(/Invalid character '#'/);
  });
});

describe("filter grammar", () => {
  it("parses every identifier kind and alias", () => {
    expect(parseFilter("metrics.acc > 0.5 and params.lr = '0.01' AND tags.mlflow.parentRunId = \"p1\"", RUN_GRAMMAR)).toEqual([
      { type: "metric", key: "acc", comparator: ">", value: 0.5 },
      { type: "parameter", key: "lr", comparator: "=", value: "0.01" },
      { type: "tag", key: "mlflow.parentRunId", comparator: "=", value: "p1" },
    ]);
    expect(
      parseFilter("metric.a = 1 AND param.b = 'x' AND tag.c = 'y' AND attr.status = 'RUNNING' AND run.user_id = 'u'", RUN_GRAMMAR).map(
        (c) => c.type,
      ),
    ).toEqual(["metric", "parameter", "tag", "attribute", "attribute"]);
    expect(parseFilter("status = 'FAILED'", RUN_GRAMMAR)[0]).toMatchObject({ type: "attribute", key: "status" });
    expect(parseFilter("created >= 5", RUN_GRAMMAR)[0]).toMatchObject({ key: "start_time", value: 5 });
    expect(parseFilter("`Run Name` = 'x'", RUN_GRAMMAR)[0]).toMatchObject({ key: "run_name" });
    expect(parseFilter("tags.`my tag` like 'x%'", RUN_GRAMMAR)[0]).toMatchObject({ key: "my tag", comparator: "LIKE" });
    expect(parseFilter("attributes.run_id NOT IN ('a', 'b')", RUN_GRAMMAR)[0]).toMatchObject({ comparator: "NOT IN", value: ["a", "b"] });
    expect(parseFilter("params.'my key' = 'v'", RUN_GRAMMAR)[0]).toMatchObject({ type: "parameter", key: "my key", value: "v" });
  });

  it("evaluates = != > >= < <= on metrics, NaN and missing values as MLflow does", () => {
    expect(ids("metrics.acc = 0.5")).toEqual(["aaa"]);
    expect(ids("metrics.acc != 0.5")).toEqual(["ccc", "bbb"]); // NaN != 0.5; ddd has no acc
    expect(ids("metrics.acc > 0.5")).toEqual(["bbb"]);
    expect(ids("metrics.acc >= 0.5")).toEqual(["bbb", "aaa"]);
    expect(ids("metrics.acc < 0.9")).toEqual(["aaa"]);
    expect(ids("metrics.acc <= 0.9")).toEqual(["bbb", "aaa"]);
    expect(ids("metrics.`train/loss` > 1")).toEqual(["aaa"]);
    expect(ids("metrics.nanm > -1e10")).toEqual(["ccc"]);
  });

  it("evaluates = != LIKE ILIKE on params and tags", () => {
    expect(ids("params.lr = '0.01'")).toEqual(["aaa"]);
    expect(ids("params.lr != '0.01'")).toEqual(["ccc", "ddd", "bbb"]);
    expect(ids("params.opt LIKE 'A%'")).toEqual(["aaa"]);
    expect(ids("params.opt ILIKE 'a%'")).toEqual(["aaa"]);
    expect(ids("params.opt ILIKE 'S_D'")).toEqual(["bbb"]);
    expect(ids("tags.stage LIKE 'tr%'")).toEqual(["ccc", "aaa"]);
    expect(ids("tags.stage LIKE 'TR%'")).toEqual([]);
    expect(ids("tags.stage LIKE 'tr_al'")).toEqual(["ccc"]);
    expect(ids("tags.stage LIKE '%o%'")).toEqual(["bbb"]);
    expect(ids("tags.\"my tag\" = 'x'")).toEqual(["aaa"]);
    expect(ids("tags.stage LIKE 'a.c'")).toEqual([]); // '.' is literal, not a regex wildcard
  });

  it("evaluates attributes: strings with = != LIKE ILIKE IN NOT IN, times as numbers", () => {
    expect(ids("attributes.status = 'FAILED'")).toEqual(["bbb"]);
    expect(ids("status != 'RUNNING' AND attributes.start_time >= 200")).toEqual(["ccc", "bbb"]);
    expect(ids("run_name LIKE 'fs-%'")).toEqual(["ccc", "aaa"]);
    expect(ids("attributes.run_name ILIKE 'FS-CHILD'")).toEqual(["ccc"]);
    expect(ids("attributes.run_id IN ('aaa', 'ccc')")).toEqual(["ccc", "aaa"]);
    expect(ids("attributes.run_id NOT IN ('aaa', 'ccc')")).toEqual(["ddd", "bbb"]);
    expect(ids("attributes.end_time < 200")).toEqual(["aaa"]);
    expect(ids("attributes.start_time = 300")).toEqual(["ccc", "ddd"]);
    expect(ids("attributes.start_time < 300 and attributes.start_time > 100")).toEqual(["bbb"]);
    expect(ids("user_id = 'alice' AND artifact_uri LIKE '%/bbb/%'")).toEqual(["bbb"]);
  });

  it("names the bad comparator and lists the accepted ones", () => {
    const e = invalid(() => parseFilter("metrics.acc >>> 0.5", RUN_GRAMMAR));
    expect(e.message).toContain("Invalid comparator '>>>' not one of '{'=', '!=', '>', '>=', '<', '<='}'");
    expect(invalid(() => parseFilter("params.lr > '1'", RUN_GRAMMAR)).message).toContain(
      "Invalid comparator '>' not one of '{'=', '!=', 'LIKE', 'ILIKE'}'",
    );
    expect(invalid(() => parseFilter("tags.a IN ('x')", RUN_GRAMMAR)).message).toContain("Invalid comparator 'IN'");
    expect(invalid(() => parseFilter("metrics.acc LIKE '1'", RUN_GRAMMAR)).message).toContain("Invalid comparator 'LIKE'");
    expect(invalid(() => parseFilter("attributes.start_time LIKE 1", RUN_GRAMMAR)).message).toContain("Invalid comparator 'LIKE'");
    expect(invalid(() => parseFilter("attributes.status =~ 'x'", RUN_GRAMMAR)).message).toContain(
      "'{'=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'",
    );
  });

  it("refuses bad identifiers, values and joins with clear messages", () => {
    expect(invalid(() => parseFilter("foo.bar = 'x'", RUN_GRAMMAR)).message).toBe(
      "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute']",
    );
    expect(invalid(() => parseFilter("attributes.bogus = 'x'", RUN_GRAMMAR)).message).toMatch(
      /Invalid attribute key 'bogus' specified. Valid keys are '.*'run_id'/,
    );
    expect(invalid(() => parseFilter("metrics.acc > 'high'", RUN_GRAMMAR)).message).toBe(
      "Expected numeric value type for metric. Found 'high'",
    );
    expect(invalid(() => parseFilter("attributes.start_time > 'x'", RUN_GRAMMAR)).message).toContain("numeric attribute: start_time");
    expect(invalid(() => parseFilter("params.lr = 5", RUN_GRAMMAR)).message).toContain("Expected a quoted string value for parameter");
    expect(invalid(() => parseFilter("params.lr = abc", RUN_GRAMMAR)).message).toContain("not quoted");
    expect(invalid(() => parseFilter("metrics.a > 1 OR metrics.b > 2", RUN_GRAMMAR)).message).toContain("'OR'");
    expect(invalid(() => parseFilter("metrics.a >", RUN_GRAMMAR)).message).toContain("no value after '>'");
    expect(invalid(() => parseFilter("metrics.a", RUN_GRAMMAR)).message).toContain("not followed by a comparator");
    expect(invalid(() => parseFilter("attributes.status IN ('A')", RUN_GRAMMAR)).message).toContain("'run_id'");
    expect(invalid(() => parseFilter("attributes.run_id IN ()", RUN_GRAMMAR)).message).toContain("empty list");
    expect(invalid(() => parseFilter("attributes.run_id IN ('a' 'b')", RUN_GRAMMAR)).message).toContain("expected ','");
    expect(invalid(() => parseFilter("attributes.run_id = ('a')", RUN_GRAMMAR)).message).toContain("needs IN or NOT IN");
    expect(invalid(() => parseFilter("= 1", RUN_GRAMMAR)).message).toContain("identifier");
  });

  it("an empty filter selects everything", () => {
    expect(parseFilter("", RUN_GRAMMAR)).toEqual([]);
    expect(parseFilter("   ", RUN_GRAMMAR)).toEqual([]);
    expect(ids(undefined)).toHaveLength(4);
  });
});

describe("order_by", () => {
  it("parses direction, prefixes and backticks", () => {
    expect(parseOrderBy("metrics.acc DESC", RUN_GRAMMAR)).toEqual({ type: "metric", key: "acc", ascending: false });
    expect(parseOrderBy("start_time", RUN_GRAMMAR)).toEqual({ type: "attribute", key: "start_time", ascending: true });
    expect(parseOrderBy("attributes.start_time asc", RUN_GRAMMAR)).toMatchObject({ key: "start_time", ascending: true });
    expect(parseOrderBy("params.`my key` DESC", RUN_GRAMMAR)).toEqual({ type: "parameter", key: "my key", ascending: false });
    expect(parseOrderBy('"metrics.acc" DESC', RUN_GRAMMAR)).toEqual({ type: "metric", key: "acc", ascending: false });
    expect(parseOrderBy("`tags.my.tag`", RUN_GRAMMAR)).toEqual({ type: "tag", key: "my.tag", ascending: true });
    expect(invalid(() => parseOrderBy("metrics.acc UP", RUN_GRAMMAR)).message).toContain("'UP' is not ASC or DESC");
    expect(invalid(() => parseOrderBy("metrics.acc DESC x", RUN_GRAMMAR)).message).toContain("Could not be parsed");
    expect(invalid(() => parseOrderBy("attributes.nope", RUN_GRAMMAR)).message).toContain("Invalid attribute key 'nope'");
  });

  it("default order is start_time DESC, then run_id ASC", () => {
    expect(ids()).toEqual(["ccc", "ddd", "bbb", "aaa"]);
  });

  it("values first, then NaN, then missing, in both directions", () => {
    expect(ids(undefined, ["metrics.acc DESC"])).toEqual(["bbb", "aaa", "ccc", "ddd"]);
    expect(ids(undefined, ["metrics.acc ASC"])).toEqual(["aaa", "bbb", "ccc", "ddd"]);
    expect(ids(undefined, ["metrics.nanm"])).toEqual(["ccc", "bbb", "ddd", "aaa"]);
  });

  it("orders params and tags as strings, attributes as stored, with ties broken by the default order", () => {
    expect(ids(undefined, ["params.lr DESC"])).toEqual(["ddd", "ccc", "bbb", "aaa"]);
    expect(ids(undefined, ["tags.stage"])).toEqual(["bbb", "aaa", "ccc", "ddd"]);
    expect(ids(undefined, ["attributes.start_time ASC"])).toEqual(["aaa", "bbb", "ccc", "ddd"]);
    expect(ids(undefined, ["status", "start_time"])).toEqual(["bbb", "aaa", "ccc", "ddd"]);
    expect(ids(undefined, ["attributes.run_name DESC"])).toEqual(["ddd", "aaa", "ccc", "bbb"]);
  });
});

describe("pages", () => {
  it("tokens are base64 of MLflow's JSON", () => {
    expect(createPageToken(2)).toBe("eyJvZmZzZXQiOiAyfQ==");
    expect(createPageToken(4)).toBe("eyJvZmZzZXQiOiA0fQ==");
    expect(parsePageToken("eyJvZmZzZXQiOiAyfQ==")).toBe(2);
    expect(parsePageToken(undefined)).toBe(0);
  });
  it("walks pages; the last page carries no token", () => {
    const p1 = searchRunList(RUNS, { maxResults: 3 });
    expect(p1.items.map((r) => r.info.runId)).toEqual(["ccc", "ddd", "bbb"]);
    const p2 = searchRunList(RUNS, { maxResults: 3, pageToken: p1.nextPageToken });
    expect(p2.items.map((r) => r.info.runId)).toEqual(["aaa"]);
    expect(p2.nextPageToken).toBeUndefined();
    expect(searchRunList(RUNS, { maxResults: 2, pageToken: createPageToken(2) }).nextPageToken).toBeUndefined();
  });
  it("refuses bad tokens and page sizes", () => {
    expect(invalid(() => parsePageToken("%%%")).message).toContain("could not base64-decode");
    expect(invalid(() => parsePageToken(Buffer.from("nope").toString("base64"))).message).toContain("not JSON");
    expect(invalid(() => parsePageToken(Buffer.from('{"offset": -1}').toString("base64"))).message).toContain("positive integer offset");
    expect(invalid(() => searchRunList(RUNS, { maxResults: 0 })).message).toContain("max_results");
    expect(invalid(() => searchRunList(RUNS, { maxResults: 50_001 })).message).toContain("at most 50000");
  });
});

const exp = (id: string, name: string, created: number, updated: number, tags: Record<string, string> = {}): Experiment => ({
  experimentId: id,
  name,
  artifactLocation: `file:///m/${id}`,
  lifecycleStage: "active",
  creationTime: created,
  lastUpdateTime: updated,
  tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
});
const EXPS = [
  exp("0", "Default", 1, 1),
  exp("11", "fx-exp", 3, 9, { team: "ts" }),
  exp("22", "fx-other", 3, 4),
  exp("33", "other", 2, 2, { team: "py" }),
];
const expIds = (args: Parameters<typeof searchExperimentList>[1]) => searchExperimentList(EXPS, args).items.map((e) => e.experimentId);

describe("experiment search", () => {
  it("default order is creation_time DESC, then experiment_id ASC", () => {
    expect(expIds({})).toEqual(["11", "22", "33", "0"]);
  });
  it("filters on name and tags", () => {
    expect(expIds({ filter: "name LIKE 'fx-%'", orderBy: ["name ASC"] })).toEqual(["11", "22"]);
    expect(expIds({ filter: "attribute.name ILIKE 'DEFAULT'" })).toEqual(["0"]);
    expect(expIds({ filter: "name != 'Default' AND tags.team = 'ts'" })).toEqual(["11"]);
    expect(expIds({ filter: "tags.team LIKE '%'" })).toEqual(["11", "33"]);
    expect(expIds({ filter: "creation_time >= 3" })).toEqual(["11", "22"]);
    // An explicit order without experiment_id gets experiment_id DESC as the tie-breaker, as in MLflow.
    expect(expIds({ filter: "creation_time >= 3", orderBy: ["creation_time DESC"] })).toEqual(["22", "11"]);
    expect(invalid(() => expIds({ filter: "metrics.a > 1" })).message).toBe(
      "Invalid entity type 'metrics'. Valid values are ['attribute', 'tag']",
    );
    expect(invalid(() => expIds({ filter: "experiment_id = '1'" })).message).toContain("Invalid attribute key 'experiment_id'");
  });
  it("orders by name, creation_time, last_update_time, experiment_id", () => {
    expect(expIds({ orderBy: ["name DESC"] })).toEqual(["33", "22", "11", "0"]);
    expect(expIds({ orderBy: ["last_update_time DESC"] })).toEqual(["11", "22", "33", "0"]);
    expect(expIds({ orderBy: ["creation_time ASC"] })).toEqual(["0", "33", "22", "11"]);
    expect(expIds({ orderBy: ["experiment_id ASC"] })).toEqual(["0", "11", "22", "33"]);
  });
  it("pages", () => {
    const p1 = searchExperimentList(EXPS, { maxResults: 2, orderBy: ["experiment_id ASC"] });
    expect(p1.nextPageToken).toBe("eyJvZmZzZXQiOiAyfQ==");
    const p2 = searchExperimentList(EXPS, { maxResults: 2, orderBy: ["experiment_id ASC"], pageToken: p1.nextPageToken });
    expect(p2.items.map((e) => e.experimentId)).toEqual(["22", "33"]);
    expect(p2.nextPageToken).toBeUndefined();
  });
});

const mv = (name: string, version: string, runId: string | undefined, updated: number): ModelVersion => ({
  name,
  version,
  source: `runs:/${runId}/model`,
  tags: [],
  aliases: [],
  lastUpdatedTimestamp: updated,
  creationTimestamp: updated,
  ...(runId ? { runId } : {}),
});
const rm = (name: string, tags: Record<string, string> = {}): RegisteredModel => ({
  name,
  latestVersions: [],
  aliases: [],
  tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
});

describe("registry search", () => {
  it("registered models by name and tags, ordered by name", () => {
    const models = [rm("zeta"), rm("fx-model", { domain: "vision" }), rm("fx-alpha")];
    const names = (filter?: string) => searchRegisteredModelList(models, { filter }).items.map((m) => m.name);
    expect(names()).toEqual(["fx-alpha", "fx-model", "zeta"]);
    expect(names("name = 'zeta'")).toEqual(["zeta"]);
    expect(names("name LIKE 'fx-%'")).toEqual(["fx-alpha", "fx-model"]);
    expect(names("tags.domain = 'vision'")).toEqual(["fx-model"]);
    expect(invalid(() => names("params.x = 'y'")).message).toContain("Invalid entity type 'params'");
  });
  it("model versions by name, run_id (= and IN), newest first", () => {
    const versions = [mv("m", "1", "r1", 10), mv("m", "2", undefined, 20), mv("n", "1", "r1", 15)];
    const keys = (filter?: string) => searchModelVersionList(versions, { filter }).items.map((v) => `${v.name}/${v.version}`);
    expect(keys()).toEqual(["m/2", "n/1", "m/1"]);
    expect(keys("name = 'm'")).toEqual(["m/2", "m/1"]);
    expect(keys("run_id = 'r1'")).toEqual(["n/1", "m/1"]);
    expect(keys("run_id IN ('r1', 'r9') AND name LIKE 'n%'")).toEqual(["n/1"]);
    expect(keys("name ILIKE 'M'")).toEqual(["m/2", "m/1"]);
  });
});

describe("agrees with the recorded MLflow server on which filters are valid", () => {
  it("every recorded runs/experiments/registry search filter and order_by", async () => {
    const { promises: fs } = await import("node:fs");
    const { join } = await import("node:path");
    const { WIRE } = await import("./file-store-helpers.js");
    const { EXPERIMENT_GRAMMAR, MODEL_VERSION_GRAMMAR, REGISTERED_MODEL_GRAMMAR } = await import("../../tracking/search/index.js");
    const grammars: Record<string, typeof RUN_GRAMMAR> = {
      "/api/2.0/mlflow/runs/search": RUN_GRAMMAR,
      "/api/2.0/mlflow/experiments/search": EXPERIMENT_GRAMMAR,
      "/api/2.0/mlflow/registered-models/search": REGISTERED_MODEL_GRAMMAR,
      "/api/2.0/mlflow/model-versions/search": MODEL_VERSION_GRAMMAR,
    };
    let checked = 0;
    for (const f of (await fs.readdir(join(WIRE, "rest"))).filter((n) => /^\d{3}-/.test(n))) {
      const ex = JSON.parse(await fs.readFile(join(WIRE, "rest", f), "utf8"));
      const grammar = grammars[ex.request.path];
      if (!grammar) continue;
      const args = { ...(ex.request.query ?? {}), ...(typeof ex.request.body === "object" ? ex.request.body : {}) };
      if (args.filter === undefined && args.order_by === undefined) continue;
      // 011 fails on its missing max_results (the server reads 0), not on its filter.
      if (ex.response.status !== 200 && /max_results/.test(ex.response.body.message)) continue;
      const parseAll = () => {
        parseFilter(args.filter, grammar);
        for (const o of [args.order_by ?? []].flat()) parseOrderBy(o, grammar);
      };
      if (ex.response.status === 200) expect(parseAll, f).not.toThrow();
      else expect(invalid(parseAll).code, f).toBe(ex.response.body.error_code);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});
