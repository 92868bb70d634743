// Finds a cell's top-level `const` declarations initialised with a literal number, string or
// boolean (`const lr = 0.01`), which autologging records as params. Uses the TypeScript
// compiler's parser (tslab's own fork, already loaded by the kernel) rather than regexes, so
// comments, strings and nested scopes cannot fool it.

import { createRequire } from "node:module";
import type TS from "@tslab/typescript-for-tslab";

// Loading the compiler costs about a second: do it on first use, not at kernel start.
let tsModule: typeof TS | undefined;
const loadTs = (): typeof TS => (tsModule ??= createRequire(import.meta.url)("@tslab/typescript-for-tslab") as typeof TS);

export type Literal = number | string | boolean;
export interface CellParam {
  name: string;
  value: Literal;
}

function literalValue(ts: typeof TS, node: TS.Expression): Literal | undefined {
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) {
    node = node.expression;
  }
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (ts.isPrefixUnaryExpression(node) && ts.isNumericLiteral(node.operand)) {
    if (node.operator === ts.SyntaxKind.MinusToken) return -Number(node.operand.text);
    if (node.operator === ts.SyntaxKind.PlusToken) return Number(node.operand.text);
  }
  return undefined;
}

/** The literal top-level consts of a cell, in source order. Code that does not parse yields what it can. */
export function cellParams(source: string): CellParam[] {
  const ts = loadTs();
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: CellParam[] = [];
  for (const stmt of file.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    if (!(stmt.declarationList.flags & ts.NodeFlags.Const)) continue;
    if (stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)) continue;
    for (const decl of stmt.declarationList.declarations) {
      if (!ts.isIdentifier(decl.name) || !decl.initializer) continue;
      const value = literalValue(ts, decl.initializer);
      if (value !== undefined) out.push({ name: decl.name.text, value });
    }
  }
  return out;
}

/** MLflow stores params as strings; numbers keep JavaScript's shortest round-trip form. */
export const paramString = (v: Literal): string => String(v);
