// The onnx flavour on models a Python team built: Debian's python3-onnx builds them (a linear
// model y = X·w + b, a model with two outputs, one with two inputs, one whose weights sit in
// an external data file) and writes the MLmodel as mlflow.onnx.save_model does; we load them
// with onnxruntime-node and predict the numbers numpy computed, from records, dataframe_split,
// column objects and tensors, refuse what the signature refuses, serve them as MLflow's
// scoring server answers, and name the file or the package when the model cannot load.

import { execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModelFromDir, parseScoringRequest, startScoringServer, type LoadedModel } from "../../models/index.js";
import { REPO_ROOT } from "../support/paths.js";

const root = mkdtempSync(join(tmpdir(), "models-onnx-"));
const models = join(root, "models");
const BUILDER = join(REPO_ROOT, "test", "models", "fixtures", "onnx_models.py");
let expected: any;
afterAll(() => rm(root, { recursive: true, force: true }));

beforeAll(async () => {
  const { stdout } = await promisify(execFile)("/usr/bin/python3", [BUILDER, models], { timeout: 60_000 });
  expected = JSON.parse(stdout.trim().split("\n").pop()!);
}, 60_000);

const closeTo = (got: number[], want: number[], digits = 5) => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));
};
const load = (name: string) => loadModelFromDir(join(models, name));
const records = (rows: number[][], names: string[]) => rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]])));

/** A copy of a built model with its MLmodel's onnx flavour changed by `edit`. */
function variant(name: string, as: string, edit: (flavor: Record<string, any>) => void): string {
  const dir = join(root, as);
  cpSync(join(models, name), dir, { recursive: true });
  const doc = parse(readFileSync(join(dir, "MLmodel"), "utf8"));
  edit(doc.flavors.onnx);
  writeFileSync(join(dir, "MLmodel"), stringify(doc));
  return dir;
}

describe("onnx flavour: a model with a column signature (a DataFrame in MLflow's terms)", () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await load("linear");
  });

  it("is loaded as onnx although the MLmodel also has python_function", () => {
    expect(Object.keys(model.metadata.mlmodel.flavors).sort()).toEqual(["onnx", "python_function"]);
    expect(model.metadata.flavor).toBe("onnx");
    expect(model.metadata.mlmodel.flavors.onnx).toMatchObject({ data: "model.onnx", onnx_version: expected.onnx_version });
  });

  it("predicts records as one [rows, 3] tensor in the signature's column order; answers records by output name", async () => {
    const { rows, y } = expected.linear;
    // Keys in another order than the signature's: the signature decides the column order.
    const shuffled = records(rows, ["x1", "x2", "x3"]).map((r) => ({ x3: r.x3, x1: r.x1, x2: r.x2 }));
    const out = (await model.predict(shuffled)) as { y: number }[];
    expect(out.every((r) => Object.keys(r).join() === "y")).toBe(true);
    closeTo(
      out.map((r) => r.y),
      y,
    );
  });

  it("predicts a dataframe_split request and a column object the same", async () => {
    const { rows, y } = expected.linear;
    const body = JSON.stringify({ dataframe_split: { columns: ["x1", "x2", "x3"], data: rows } });
    const request = parseScoringRequest(body, "application/json", model.metadata.signature?.inputs);
    closeTo(
      ((await model.predict(request.input)) as { y: number }[]).map((r) => r.y),
      y,
    );
    const columns = {
      x1: rows.map((r: number[]) => r[0]),
      x2: rows.map((r: number[]) => r[1]),
      x3: new Float64Array(rows.map((r: number[]) => r[2])),
    };
    closeTo(
      ((await model.predict(columns)) as { y: number }[]).map((r) => r.y),
      y,
    );
  });

  it("refuses a wrong column and a wrong type through the signature, naming them", async () => {
    await expect(model.predict([{ x1: 1, x2: 2, x4: 3 }])).rejects.toThrow(/required column "x3" \(double\) is missing in record 0/);
    await expect(model.predict([{ x1: 1, x2: "2", x3: 3 }])).rejects.toThrow(
      /column "x2" expects double but got string \("2"\) in record 0/,
    );
    await expect(model.predict([{ x1: 1, x2: 2, x3: 3, x9: 4 }])).rejects.toThrow(
      /column "x9" \(number \(4\)\) in record 0 is not in the signature/,
    );
  });

  it('serves {"predictions": records} for dataframe_split, and 400 for a missing column', async () => {
    const server = await startScoringServer({ model });
    try {
      const { rows, y } = expected.linear;
      const res = await fetch(`${server.url}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ dataframe_split: { columns: ["x1", "x2", "x3"], data: rows } }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: { y: number }[] };
      closeTo(
        body.predictions.map((r) => r.y),
        y,
      );
      const bad = await fetch(`${server.url}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ dataframe_records: [{ x1: 1, x2: 2 }] }),
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE", message: expect.stringMatching(/"x3"/) });
    } finally {
      await server.close();
    }
  });
});

describe("onnx flavour: tensor input", () => {
  it("feeds nested arrays and a flat Float32Array to the only input; answers {output: nested arrays}", async () => {
    const model = await load("linear-tensor");
    const { rows, y } = expected.linear;
    const nested = (await model.predict(rows)) as { y: number[][] };
    expect(nested.y.map((r) => r.length)).toEqual([1, 1, 1, 1]);
    closeTo(nested.y.flat(), y);
    const flat = (await model.predict(Float32Array.from(rows.flat()))) as { y: number[][] };
    closeTo(flat.y.flat(), y);
  });

  it("refuses a tensor of the wrong dtype or shape through the signature", async () => {
    const model = await load("linear-tensor");
    await expect(model.predict(new Float64Array([1, 2, 3]))).rejects.toThrow(/tensor input expects dtype float32 but got float64/);
    await expect(model.predict([["1", "2", "3"]])).rejects.toThrow(/tensor input expects dtype float32 but got string values/);
    await expect(model.predict([[1, 2, 3, 4]])).rejects.toThrow(/expects shape \[-1, 3\] \(-1: any size\) but got \[1, 4\]/);
  });

  it("answers every output of a two-output model by name, in its shape; serves them as MLflow's server does", async () => {
    const model = await load("two-outputs");
    const { rows, total, diff } = expected.two_outputs;
    const out = (await model.predict({ X: rows })) as Record<string, number[][]>;
    expect(Object.keys(out)).toEqual(["total", "diff"]);
    closeTo(out.total!.flat(), total.flat());
    closeTo(out.diff!.flat(), diff.flat());
    const server = await startScoringServer({ model });
    try {
      const res = await fetch(`${server.url}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: { X: rows } }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ predictions: { total, diff } });
    } finally {
      await server.close();
    }
  });

  it("loads weights that save_model put in an external data file beside model.onnx", async () => {
    const { rows, y, files } = expected.wide;
    // model.onnx, MLmodel and the weights file named by a uuid.
    expect(files).toHaveLength(3);
    const model = await load("wide");
    const out = (await model.predict({ X: rows })) as { y: number[][] };
    closeTo(out.y.flat(), y, 3);
  });
});

describe("onnx flavour: a classifier as skl2onnx converts one", () => {
  it("answers its int64 labels as numbers and leaves out the ZipMap output onnxruntime-node cannot return", async () => {
    const model = await load("classifier");
    const { rows, output_label } = expected.classifier;
    expect(await model.predict(records(rows, ["a", "b", "c"]))).toEqual(output_label.map((l: number) => ({ output_label: l })));
    const server = await startScoringServer({ model });
    try {
      const res = await fetch(`${server.url}/invocations`, {
        method: "POST",
        headers: { "content-type": "text/csv" },
        body: `a,b,c\n${rows.map((r: number[]) => r.join(",")).join("\n")}\n`,
      });
      expect(await res.json()).toEqual({ predictions: output_label.map((l: number) => ({ output_label: l })) });
    } finally {
      await server.close();
    }
  });
});

describe("onnx flavour: a model with two inputs", () => {
  it("feeds each input from the column of its name", async () => {
    const model = await load("pair");
    const { columns, s } = expected.pair;
    const out = (await model.predict(columns)) as { s: number }[];
    closeTo(
      out.map((r) => r.s),
      s,
    );
    const rows = columns.a.map((a: number, i: number) => ({ b: columns.b[i], a }));
    closeTo(
      ((await model.predict(rows)) as { s: number }[]).map((r) => r.s),
      s,
    );
  });
});

describe("onnx flavour: session options and providers from the MLmodel", () => {
  it("applies MLflow's onnx_session_options and runs on CPU whatever providers list", async () => {
    const dir = variant("linear", "options", (f) => {
      f.onnx_session_options = {
        intra_op_num_threads: 1,
        inter_op_num_threads: 1,
        execution_mode: "SEQUENTIAL",
        graph_optimization_level: 99,
      };
      f.providers = ["CUDAExecutionProvider"];
    });
    const model = await loadModelFromDir(dir);
    closeTo(
      ((await model.predict(records(expected.linear.rows, ["x1", "x2", "x3"]))) as { y: number }[]).map((r) => r.y),
      expected.linear.y,
    );
  });

  it("refuses an option value MLflow refuses, naming it and what is accepted", async () => {
    const dir = variant("linear", "bad-options", (f) => {
      f.onnx_session_options = { graph_optimization_level: 5 };
    });
    await expect(loadModelFromDir(dir)).rejects.toThrow(/Invalid graph_optimization_level 5 .*expected 0, 1, 2 or 99/);
  });
});

describe("onnx flavour: models that cannot load", () => {
  it("names the file when model.onnx is corrupt", async () => {
    const dir = variant("linear", "corrupt", () => {});
    writeFileSync(join(dir, "model.onnx"), "this is not a protobuf");
    await expect(loadModelFromDir(dir)).rejects.toThrow(
      new RegExp(
        `Cannot load the ONNX model file ${join(dir, "model.onnx").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: .*expected an ONNX model`,
      ),
    );
  });

  it("says the folder is incomplete when the flavour's data file is missing", async () => {
    const dir = variant("linear", "missing", (f) => {
      f.data = "gone.onnx";
    });
    await expect(loadModelFromDir(dir)).rejects.toThrow(/has no gone\.onnx: the folder is incomplete/);
  });

  it("names onnxruntime-node and its install command when the package cannot be found", async () => {
    // A Node process in which onnxruntime-node resolves nowhere (a resolve hook stands for a
    // machine where the optional dependency did not install), loading from dist/.
    const hooks = `export async function resolve(s, c, next) {
      if (s === "onnxruntime-node" || s.includes("/onnxruntime-node/")) { const e = new Error("Cannot find package 'onnxruntime-node'"); e.code = "ERR_MODULE_NOT_FOUND"; throw e; }
      return next(s, c); }`;
    const register = `import { register } from "node:module"; register("data:text/javascript,${encodeURIComponent(hooks)}");`;
    const script = `import { loadModelFromDir } from ${JSON.stringify(join(REPO_ROOT, "dist", "models", "index.js"))};
      try { await loadModelFromDir(${JSON.stringify(join(models, "linear"))}, { fromDirs: [${JSON.stringify(root)}] }); console.log(JSON.stringify({ loaded: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const child = spawn(
      process.execPath,
      ["--import", `data:text/javascript,${encodeURIComponent(register)}`, "--input-type=module", "-e", script],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code, err).toBe(0);
    const answer = JSON.parse(out.trim().split("\n").pop()!);
    expect(answer.code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(answer.message).toContain("needs the package onnxruntime-node, which is not installed here");
    expect(answer.message).toContain("ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node");
  });
});
