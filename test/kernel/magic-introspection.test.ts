// is_complete, completion and inspection of magic cells, through the kernel with the magics
// extension over real ZeroMQ: the extension seam's `isComplete` and `typescriptStart` hooks.
// A magic cell's TypeScript (a %%mlflow_run body, the code under line magics) is checked
// and completed as a plain cell's, without its magic lines; a magic line that cannot
// parse is "invalid"; positions are the cell's own (code points), magic lines included.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../protocol/messages.js";
import { KernelClient, startKernelIn } from "../support/kernel.js";
import { makeTempDir, rmTempDir } from "../support/paths.js";

let work: string;
let kernel: KernelClient;

type Content = Record<string, any>;
const content = (m: Message) => m.content as Content;

beforeAll(async () => {
  work = makeTempDir("kernel-magic-introspection");
  kernel = await startKernelIn(work);
  // The magics' introspection loads as the extension activates; a first magic waits for it.
  expect((await kernel.execute("%mlflow_status", { timeout: 60_000 })).reply.content.status).toBe("ok");
}, 90_000);
afterAll(async () => {
  await kernel?.close();
  rmTempDir(work);
});

const isComplete = async (code: string) => content(await kernel.request("shell", "is_complete_request", { code }));
const complete = async (code: string, cursor_pos = [...code].length) =>
  content(await kernel.request("shell", "complete_request", { code, cursor_pos }));
const inspect = async (code: string, cursor_pos = [...code].length) =>
  content(await kernel.request("shell", "inspect_request", { code, cursor_pos, detail_level: 0 }));

describe("is_complete of magic cells", () => {
  it("checks a %%mlflow_run body as TypeScript, as the same code in a plain cell", async () => {
    const open = "for (let i = 0; i < 3; i++) {";
    const body = await isComplete(`%%mlflow_run --param lr=0.1\n${open}`);
    expect(body).toMatchObject({ status: "incomplete" });
    expect(body.indent).not.toBe("");
    expect(body).toEqual(await isComplete(open));

    expect(await isComplete(`%%mlflow_run\n${open}\n  console.log(i);\n}`)).toEqual({ status: "complete" });
    // The code under line magics is TypeScript too.
    expect(await isComplete(`%mlflow_status\n${open}`)).toEqual(body);
  });

  it("says a line magic alone is complete, and a cell magic still waiting for its body incomplete", async () => {
    expect(await isComplete("%mlflow_status")).toEqual({ status: "complete" });
    expect(await isComplete("%mlflow_experiment 'my experiment'\n\n")).toEqual({ status: "complete" });
    expect(await isComplete("%%mlflow_run --param lr=0.1")).toEqual({ status: "incomplete", indent: "" });
  });

  it("says a magic line with a quote never closed is invalid, whatever follows", async () => {
    expect(await isComplete('%mlflow_experiment "my experiment')).toEqual({ status: "invalid" });
    expect(await isComplete("%%mlflow_run --tag 'team=a\nconst x = 1;")).toEqual({ status: "invalid" });
  });

  it("still checks plain cells as TypeScript", async () => {
    expect(await isComplete("const x = 1;")).toEqual({ status: "complete" });
    expect((await isComplete("function f() {")).status).toBe("incomplete");
  });
});

describe("completion and inspection inside a magic cell's body", () => {
  it("completes TypeScript in a %%mlflow_run body, at the cell's own positions", async () => {
    const code = "%%mlflow_run\nconst xs = [1];\nxs.";
    const r = await complete(code);
    expect(r.status).toBe("ok");
    expect(r.matches).toEqual(expect.arrayContaining(["map", "push", "filter"]));
    expect([r.cursor_start, r.cursor_end]).toEqual([code.length, code.length]);
  });

  it("completes the body whatever the magic line says: its `/*` is no comment to TypeScript", async () => {
    const code = "%%mlflow_run --param files=data/*.csv\nconst xs = [1];\nxs.";
    const r = await complete(code);
    expect(r.matches).toEqual(expect.arrayContaining(["map", "push", "filter"]));
    expect([r.cursor_start, r.cursor_end]).toEqual([code.length, code.length]);
    expect(await isComplete(code.replace("xs.", "xs.map((x) => {"))).toMatchObject({ status: "incomplete" });
  });

  it("counts the magic line's non-ASCII arguments in code points when it shifts the cursor back", async () => {
    // "🚀" is one code point and two UTF-16 units: a shift in the wrong unit lands off by one.
    const code = "%%mlflow_run 'fusée 🚀' --param glob=*/*.csv\nconst xs = [1];\nxs.fi";
    const r = await complete(code);
    const points = [...code].length;
    expect(r.matches).toEqual(expect.arrayContaining(["filter", "find"]));
    expect([r.cursor_start, r.cursor_end]).toEqual([points - 2, points]);
  });

  it("completes under line magics, and a magic's name on its own line as before", async () => {
    const r = await complete("%mlflow_experiment runs/*\nconst s = 'abc';\ns.toUpp");
    expect(r.matches).toContain("toUpperCase");
    expect((await complete("%%mlflow_r")).matches).toContain("%%mlflow_run");
  });

  it("inspects a name in the body", async () => {
    const r = await inspect("%%mlflow_run --param glob=*/*.csv\nconst answer = 42;\nanswer");
    expect(r.found).toBe(true);
    expect(r.data["text/plain"]).toMatch(/const answer: 42/);
  });
});
