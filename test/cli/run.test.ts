// `tslab-mlflow run` end to end: the compiled CLI starts our kernel over ZeroMQ, executes
// notebooks built in temp dirs, and tracks into a temp file store read back via tracking/.
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rmTempDir } from "../support/paths.js";
import { waitForFile } from "../support/wait-for-file.js";
import { code, markdown, notebook, readJson, writeNotebook } from "./notebooks.js";
import { exists, readRun, runIdOf, runNotebookCli, runStatusOf, sourceOf, workspace } from "./run-helpers.js";

const SLOW = 240_000;
const ws = workspace("run");
afterAll(() => rmTempDir(ws.dir));

describe("run with parameters", () => {
  it(
    "injects typed parameters after the parameters cell, executes, and tracks one run with a nested run",
    async () => {
      const input = writeNotebook(
        ws.dir,
        "params.ipynb",
        notebook([
          markdown("# Parameters demo"),
          code(
            'const alpha = 0.1;\nconst epochs: number = 5;\nconst label = "default";\nconst layers: number[] = [8];\n' +
              'const opts = { dropout: 0.0 };\nlet verbose = false;\nconst raw = "x";',
            { tags: ["parameters"] },
          ),
          code("const alpha = 99; // left by an earlier run", { tags: ["injected-parameters"] }),
          code("console.log(JSON.stringify({ alpha, epochs, label, layers, opts, verbose, raw }));"),
          code("alpha * 2"),
          code('%%mlflow_run child\nconsole.log("inside the child run");'),
        ]),
      );
      fs.writeFileSync(path.join(ws.dir, "params.yaml"), "epochs: 20\nlayers: [64, 32]\nopts:\n  dropout: 0.25\n");

      const r = await runNotebookCli(ws, [
        "params.ipynb",
        "-p",
        "alpha",
        "0.5",
        "-p",
        "label",
        "hello",
        "-p",
        "verbose",
        "true",
        "-r",
        "raw",
        "007",
        "-f",
        "params.yaml",
        "--experiment",
        "nb-tests",
      ]);
      expect(r.stderr).not.toMatch(/failed|error/i);
      expect(r.status).toBe(0);

      const out = path.join(ws.dir, "params.out.ipynb");
      const nb = readJson(out);
      // The stale injected cell is gone; the new one sits right after the parameters cell.
      expect(nb.cells.map((c: any) => c.metadata.tags ?? [])).toEqual([[], ["parameters"], ["injected-parameters"], [], [], []]);
      expect(sourceOf(nb.cells[2])).toBe(
        "// Parameters injected by `tslab-mlflow run`\n" +
          "const epochs: number = 20;\nconst layers: number[] = [64, 32];\nconst opts = { dropout: 0.25 };\n" +
          'const alpha = 0.5;\nconst label = "hello";\nlet verbose = true;\nconst raw = "007";',
      );
      // The injected consts override the defaults in the cells below.
      expect(nb.cells[3].outputs).toEqual([
        {
          name: "stdout",
          output_type: "stream",
          text: ['{"alpha":0.5,"epochs":20,"label":"hello","layers":[64,32],"opts":{"dropout":0.25},"verbose":true,"raw":"007"}\n'],
        },
      ]);
      expect(nb.cells[4].outputs).toEqual([
        { data: { "text/plain": ["1"] }, execution_count: 4, metadata: {}, output_type: "execute_result" },
      ]);
      expect(nb.cells.filter((c: any) => c.cell_type === "code").map((c: any) => c.execution_count)).toEqual([1, 2, 3, 4, 5]);
      for (const c of nb.cells.slice(1)) {
        expect(Object.keys(c.metadata.execution).sort()).toEqual([
          "iopub.execute_input",
          "iopub.status.busy",
          "iopub.status.idle",
          "shell.execute_reply",
        ]);
        expect(c.metadata.execution["iopub.status.busy"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      }
      const meta = nb.metadata.tslab_mlflow;
      expect(meta.parameters).toEqual({
        epochs: 20,
        layers: [64, 32],
        opts: { dropout: 0.25 },
        alpha: 0.5,
        label: "hello",
        verbose: true,
        raw: "007",
      });
      expect(meta.status).toBe("FINISHED");
      expect(nb.metadata.language_info.name).toBe("typescript");

      // The tracked run.
      const { run, tags, params, artifacts, client } = await readRun(ws, runIdOf(out));
      expect(run.info.status).toBe("FINISHED");
      expect(run.info.runName).toBe("params");
      expect((await client.getExperiment(run.info.experimentId)).name).toBe("nb-tests");
      expect(params).toEqual({
        epochs: "20",
        layers: "[64,32]",
        opts: '{"dropout":0.25}',
        alpha: "0.5",
        label: "hello",
        verbose: "true",
        raw: "007",
      });
      expect(tags["mlflow.source.type"]).toBe("NOTEBOOK");
      expect(tags["mlflow.source.name"]).toBe(input);
      expect(artifacts).toContain("params.out.ipynb");
      const artifact = Buffer.from(await client.downloadArtifact(run.info.runId, "params.out.ipynb")).toString("utf8");
      expect(artifact).toBe(fs.readFileSync(out, "utf8"));
      // The same notebook as a page for MLflow's artifact preview.
      expect(artifacts).toContain("params.out.html");
      const page = Buffer.from(await client.downloadArtifact(run.info.runId, "params.out.html")).toString("utf8");
      expect(page).toContain("<title>params.out</title>");
      expect(page).toContain("inside the child run");

      // `%%mlflow_run --nested` inside became a child of the notebook's run.
      const children = await client.searchRuns({
        experimentIds: [run.info.experimentId],
        filter: `tags.mlflow.parentRunId = '${run.info.runId}'`,
      });
      expect(children.items.map((c) => [c.info.runName, c.info.status])).toEqual([["child", "FINISHED"]]);
      await client.close();
    },
    SLOW,
  );

  it(
    "injects at the top and says so when there is no parameters cell",
    async () => {
      const own = workspace("run-noparams");
      writeNotebook(own.dir, "noparams.ipynb", notebook([code("console.log(typeof seed, seed)")]));
      const r = await runNotebookCli(own, ["noparams.ipynb", "-p", "seed", "42", "--no-tracking", "-o", "np-out.ipynb"]);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('has no cell tagged "parameters"');
      const nb = readJson(path.join(own.dir, "np-out.ipynb"));
      expect(nb.cells[0].metadata.tags).toEqual(["injected-parameters"]);
      expect(nb.cells[1].outputs[0].text).toEqual(["number 42\n"]);
      // --no-tracking: no store was created.
      expect(exists(own.store)).toBe(false);
      rmTempDir(own.dir);
    },
    SLOW,
  );
});

describe("run failures", () => {
  const failing = () =>
    writeNotebook(
      ws.dir,
      "failing.ipynb",
      notebook([code('console.log("before")'), code('const x = 1;\nthrow new Error("boom in cell")'), code('console.log("after")')]),
    );

  it(
    "stops at a failing cell, writes the error into it, exits 1 and marks the run FAILED",
    async () => {
      failing();
      const r = await runNotebookCli(ws, ["failing.ipynb"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("Cell 1 failed: const x = 1;");
      expect(r.stderr).toContain("boom in cell");
      const out = path.join(ws.dir, "failing.out.ipynb");
      const nb = readJson(out);
      const err = nb.cells[1].outputs.find((o: any) => o.output_type === "error");
      expect(err.evalue).toContain("boom in cell");
      expect(nb.cells[2].execution_count).toBeNull();
      expect(nb.cells[2].outputs).toEqual([]);
      const { run, artifacts, client } = await readRun(ws, runIdOf(out));
      expect(run.info.status).toBe("FAILED");
      expect(artifacts).toContain("failing.out.ipynb");
      await client.close();
    },
    SLOW,
  );

  it(
    "--allow-errors runs the rest but still exits 1 with the run FAILED",
    async () => {
      failing();
      const r = await runNotebookCli(ws, ["failing.ipynb", "--allow-errors", "-o", "allow.out.ipynb"]);
      expect(r.status).toBe(1);
      const nb = readJson(path.join(ws.dir, "allow.out.ipynb"));
      expect(nb.cells[2].outputs[0].text).toEqual(["after\n"]);
      expect(await runStatusOf(ws, path.join(ws.dir, "allow.out.ipynb"))).toBe("FAILED");
    },
    SLOW,
  );

  it(
    "a cell tagged raises-exception may fail: exit 0, FINISHED",
    async () => {
      writeNotebook(
        ws.dir,
        "expected.ipynb",
        notebook([code('throw new Error("expected")', { tags: ["raises-exception"] }), code('console.log("after")')]),
      );
      const r = await runNotebookCli(ws, ["expected.ipynb"]);
      expect(r.status).toBe(0);
      const out = path.join(ws.dir, "expected.out.ipynb");
      const nb = readJson(out);
      expect(nb.cells[0].outputs.some((o: any) => o.output_type === "error")).toBe(true);
      expect(nb.cells[1].outputs[0].text).toEqual(["after\n"]);
      expect(await runStatusOf(ws, out)).toBe("FINISHED");
    },
    SLOW,
  );

  it(
    "--timeout interrupts a cell that never ends, stops, exits 1 and marks the run KILLED",
    async () => {
      writeNotebook(
        ws.dir,
        "hang.ipynb",
        notebook([code('console.log("start");\nawait new Promise(() => {});'), code('console.log("never")')]),
      );
      const r = await runNotebookCli(ws, ["hang.ipynb", "--timeout", "3"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("Cell 0 timed out");
      const out = path.join(ws.dir, "hang.out.ipynb");
      const nb = readJson(out);
      expect(nb.cells[0].outputs.at(-1)).toMatchObject({ output_type: "error", ename: "CellTimeoutError" });
      expect(nb.cells[1].execution_count).toBeNull();
      expect(await runStatusOf(ws, out)).toBe("KILLED");
    },
    SLOW,
  );

  it(
    "Ctrl-C interrupts the running cell, stops, exits 130 and marks the run KILLED",
    async () => {
      const marker = path.join(ws.dir, "sigint-started");
      writeNotebook(
        ws.dir,
        "sigint.ipynb",
        notebook([
          code(`require("fs").writeFileSync(${JSON.stringify(marker)}, "1");\nawait new Promise(() => {});`),
          code('console.log("never")'),
        ]),
      );
      const log = path.join(ws.dir, "sigint-kernel.log");
      const { spawn } = await import("node:child_process");
      const { CLI_MAIN } = await import("../support/paths.js");
      const child = spawn(process.execPath, [CLI_MAIN, "run", "sigint.ipynb", "--kernel-log", log], { cwd: ws.dir, env: ws.env });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
      // Once the cell has written its marker, it is running.
      await waitForFile(marker);
      child.kill("SIGINT");
      expect(await closed).toBe(130);
      expect(stderr).toContain("Interrupting the running cell");
      const out = path.join(ws.dir, "sigint.out.ipynb");
      const nb = readJson(out);
      expect(nb.cells[0].outputs.some((o: any) => o.output_type === "error")).toBe(true);
      expect(nb.cells[1].execution_count).toBeNull();
      expect(await runStatusOf(ws, out)).toBe("KILLED");
    },
    SLOW,
  );

  it(
    "reports a kernel that dies, exits 1 and marks the run FAILED",
    async () => {
      writeNotebook(
        ws.dir,
        "dies.ipynb",
        notebook([code('process.stderr.write("last words\\n");\nprocess.kill(process.pid, "SIGKILL");'), code("1")]),
      );
      const log = path.join(ws.dir, "dies-kernel.log");
      const r = await runNotebookCli(ws, ["dies.ipynb", "--kernel-log", log]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("Cell 0 killed the kernel");
      expect(r.stderr).toMatch(/kernel died/i);
      expect(exists(log)).toBe(true);
      const out = path.join(ws.dir, "dies.out.ipynb");
      const nb = readJson(out);
      expect(nb.cells[0].outputs.at(-1)).toMatchObject({ output_type: "error", ename: "DeadKernelError" });
      expect(await runStatusOf(ws, out)).toBe("FAILED");
    },
    SLOW,
  );
});

describe("run: bad command lines exit 2 without starting a kernel", () => {
  const bad = workspace("run-bad");
  afterAll(() => rmTempDir(bad.dir));
  writeNotebook(bad.dir, "ok.ipynb", notebook([code("1")]));
  fs.writeFileSync(path.join(bad.dir, "list.ipynb"), "[1, 2]");
  fs.writeFileSync(path.join(bad.dir, "list.yaml"), "- 1\n- 2\n");

  it.each([
    ["a missing notebook", ["missing.ipynb"], /notebook not found: missing\.ipynb/],
    ["not a notebook", ["list.ipynb"], /list\.ipynb is not a notebook/],
    ["a bad parameter name", ["ok.ipynb", "-p", "1x", "3"], /bad parameter name "1x"/],
    ["a parameter without a value", ["ok.ipynb", "-p", "alpha"], /'-p' needs a name and a value/],
    ["an unknown option", ["ok.ipynb", "--bogus"], /unknown option '--bogus'/],
    ["a bad timeout", ["ok.ipynb", "--timeout", "soon"], /'soon' is invalid\. expected a positive number of seconds/],
    ["a missing parameters file", ["ok.ipynb", "-f", "nope.yaml"], /cannot read parameters file nope\.yaml/],
    ["a parameters file that is not a mapping", ["ok.ipynb", "-f", "list.yaml"], /list\.yaml must be a YAML mapping/],
    ["a --cwd that is not a directory", ["ok.ipynb", "--cwd", "ok.ipynb"], /bad --cwd "ok\.ipynb": not a directory/],
    [
      "a --output in a missing directory",
      ["ok.ipynb", "-o", "no/such/dir/x.ipynb"],
      /bad --output "no\/such\/dir\/x\.ipynb": directory .* does not exist/,
    ],
    ["a -p followed by another option", ["ok.ipynb", "-p", "--timeout", "3"], /'-p' needs a name and a value/],
    ["an unsupported tracking URI", ["ok.ipynb"], /Unsupported tracking URI "ftp:\/\/x"/, { MLFLOW_TRACKING_URI: "ftp://x" }],
  ])("%s", async (_label, args, message, extraEnv?: Record<string, string>) => {
    const log = path.join(bad.dir, "kernel.log");
    const r = await runNotebookCli({ ...bad, env: { ...bad.env, ...extraEnv } }, [...args, "--kernel-log", log]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
    // No kernel (its log would exist), no run, no output notebook.
    expect(exists(log)).toBe(false);
    expect(exists(bad.store)).toBe(false);
    expect(fs.readdirSync(bad.dir).filter((f) => f.endsWith(".out.ipynb"))).toEqual([]);
  });
});
