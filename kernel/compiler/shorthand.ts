// Fixes `{ s }` shorthand properties that name a variable from an earlier cell.
//
// tslab's converter rewrites references to earlier cells' variables as
// `exports.s`, but misses shorthand properties, so `const o = { s }` threw
// ReferenceError. This pass runs on the emitted JavaScript (in the compiler
// worker, where TypeScript is loaded) and rewrites such a shorthand to
// `s: exports.s` unless an enclosing scope of the cell declares `s` itself.
import type * as TS from "@tslab/typescript-for-tslab";

type Ts = typeof import("@tslab/typescript-for-tslab");

/** Top-level names declared by earlier cells (from the accumulated .d.ts text). */
export function declaredNames(ts: Ts, decls: string): Set<string> {
  const names = new Set<string>();
  const sf = ts.createSourceFile("__prev__.d.ts", decls, ts.ScriptTarget.ES2022, false);
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) bindingNames(ts, d.name, names);
    } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) {
      names.add(st.name.text);
    } else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      if (c.name) names.add(c.name.text);
      const b = c.namedBindings;
      if (b && ts.isNamespaceImport(b)) names.add(b.name.text);
      if (b && ts.isNamedImports(b)) for (const e of b.elements) names.add(e.name.text);
    }
  }
  return names;
}

/**
 * Whether a cell's source has a shorthand property: only then can its JavaScript have one to fix
 * (the emit writes none of its own). Asked of the cell as already parsed for its names
 * (one-program-per-cell.ts), it spares parsing the JavaScript of most cells (~0.5 ms of a 30-line
 * function's conversion: a test of the text matched any parameter list).
 */
export function hasShorthandProperty(ts: Ts, cell: TS.SourceFile): boolean {
  const visit = (node: TS.Node): boolean => ts.isShorthandPropertyAssignment(node) || ts.forEachChild(node, visit) === true;
  return visit(cell);
}

/**
 * For the JavaScript of a cell with a shorthand property (`hasShorthandProperty`). `prevNames` is
 * asked for only when the JavaScript has one: finding the names parses every earlier cell's
 * declarations (~1 ms for a notebook's worth).
 */
export function fixShorthands(ts: Ts, js: string, prevNames: () => ReadonlySet<string>): string {
  const sf = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true);
  const shorthands: TS.ShorthandPropertyAssignment[] = [];
  const visit = (node: TS.Node): void => {
    if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer) shorthands.push(node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (shorthands.length === 0) return js;
  const names = prevNames();
  const edits: { start: number; end: number; text: string }[] = [];
  for (const node of shorthands) {
    const n = node.name.text;
    if (names.has(n) && !declaredAbove(ts, node, n)) edits.push({ start: node.getStart(sf), end: node.end, text: `${n}: exports.${n}` });
  }
  let out = js;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function declaredAbove(ts: Ts, node: TS.Node, name: string): boolean {
  for (let n: TS.Node | undefined = node.parent; n; n = n.parent) {
    if (ts.isFunctionLike(n)) {
      const names = new Set<string>();
      for (const p of n.parameters) bindingNames(ts, p.name, names);
      if ((ts.isFunctionExpression(n) || ts.isFunctionDeclaration(n)) && n.name?.text === name) return true;
      if (names.has(name)) return true;
    }
    if (ts.isClassExpression(n) && n.name?.text === name) return true;
    if (ts.isCatchClause(n) && n.variableDeclaration) {
      const names = new Set<string>();
      bindingNames(ts, n.variableDeclaration.name, names);
      if (names.has(name)) return true;
    }
    if (
      (ts.isForStatement(n) || ts.isForInStatement(n) || ts.isForOfStatement(n)) &&
      n.initializer &&
      ts.isVariableDeclarationList(n.initializer)
    ) {
      const names = new Set<string>();
      for (const d of n.initializer.declarations) bindingNames(ts, d.name, names);
      if (names.has(name)) return true;
    }
    if (ts.isBlock(n) || ts.isSourceFile(n) || ts.isCaseClause(n) || ts.isDefaultClause(n)) {
      for (const st of n.statements) {
        if (ts.isVariableStatement(st)) {
          const names = new Set<string>();
          for (const d of st.declarationList.declarations) bindingNames(ts, d.name, names);
          if (names.has(name)) return true;
        } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name?.text === name) {
          return true;
        }
      }
    }
  }
  return false;
}

function bindingNames(ts: Ts, name: TS.BindingName, into: Set<string>): void {
  if (ts.isIdentifier(name)) {
    into.add(name.text);
    return;
  }
  for (const el of name.elements) {
    if (!ts.isOmittedExpression(el)) bindingNames(ts, el.name, into);
  }
}
