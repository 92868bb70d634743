// Rewrites a top-level-await cell so each step between awaits can be stopped.
//
// Node's breakOnSigint only guards code running synchronously inside
// vm.runInThisContext. In `await load(); while (true) {}` the loop runs later,
// as a promise continuation, where no interrupt can reach it. Turning the
// cell's own awaits into `yield`s makes the cell a generator that the executor
// resumes step by step, each step inside a breakOnSigint-guarded script. Only
// the cell's top-level awaits change; nested async functions keep native
// semantics. Cells this cannot express (top-level `for await`) are left alone.
import vm from "node:vm";
import type * as TS from "@tslab/typescript-for-tslab";

type Ts = typeof import("@tslab/typescript-for-tslab");

const PREFIX = "(async function () {\n";

export type AwaitRewrite =
  /** No top-level await: run the body as a plain function. */
  | { kind: "none" }
  /** Top-level awaits rewritten: run `output` as a generator (see executor's drive). */
  | { kind: "yield"; output: string }
  /** Top-level awaits that must stay native (`for await`): run the body as an async function. */
  | { kind: "async" };

/** How to run a cell body that may contain top-level awaits. */
export function rewriteAwaits(ts: Ts, body: string): AwaitRewrite {
  if (!/\bawait\b/.test(body)) return { kind: "none" };
  const text = PREFIX + body + "\n})";
  const sf = ts.createSourceFile("cell.js", text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const outer = (sf.statements[0] as TS.ExpressionStatement | undefined)?.expression;
  const fn = outer && ts.isParenthesizedExpression(outer) ? outer.expression : undefined;
  if (!fn || !ts.isFunctionExpression(fn)) return { kind: "async" };

  const edits: { at: number; del: number; text: string }[] = [];
  let unsupported = false;
  const visit = (node: TS.Node): void => {
    if (node !== fn && ts.isFunctionLike(node)) return; // nested functions keep their own awaits
    if (ts.isForOfStatement(node) && node.awaitModifier) unsupported = true;
    if (ts.isAwaitExpression(node)) {
      const start = node.getStart(sf);
      edits.push({ at: start, del: "await".length, text: "(yield" }, { at: node.end, del: 0, text: ")" });
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(fn.body, visit);
  // tslab does not flag a lone top-level `for await` as top-level await: say so here.
  if (unsupported) return { kind: "async" };
  if (edits.length === 0) return { kind: "none" };

  let out = text;
  // Right to left, so earlier positions stay valid; equal positions are identical ")" inserts.
  edits.sort((a, b) => b.at - a.at);
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at + e.del);
  const rewritten = out.slice(PREFIX.length, out.length - "\n})".length);
  try {
    // A cell that uses `yield` as a name cannot become a generator: keep it native.
    new vm.Script(`(function* () {\n${rewritten}\n})`);
  } catch {
    return { kind: "async" };
  }
  return { kind: "yield", output: rewritten };
}
