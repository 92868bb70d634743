// The architecture's arrows, checked on the sources: outside tracking/, code reaches
// tracking/ only through its public entries (index.ts, and light.ts for start paths);
// tracking/ imports nothing of ours; kernel/ and protocol/ import no MLflow part. Every
// kind of import counts: static, `export ... from`, `import type`, `import("...")` calls
// and `typeof import("...")` types.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT as repoRoot } from "../support/paths.js";

const TRACKING = path.join(repoRoot, "tracking");
const PUBLIC_ENTRIES = ["index.ts", "light.ts"].map((f) => path.join(TRACKING, f));

/** Every module specifier in a TypeScript source, whatever the import form. */
function importSpecifiers(fileName: string, source: string): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
      found.push(node.moduleSpecifier.text);
    else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    )
      found.push(node.arguments[0].text);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
      found.push(node.argument.literal.text);
    else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    )
      found.push(node.moduleReference.expression.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The source file a relative specifier names (`.js` written, `.ts` on disk); undefined for packages and node:. */
function target(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  return path.resolve(path.dirname(from), spec).replace(/\.(c|m)?js$/, ".$1ts");
}

const sources = (dir: string): string[] =>
  readdirSync(path.join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(c|m)?ts$/.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => path.join(e.parentPath, e.name));

interface Edge {
  file: string;
  spec: string;
  to: string;
}
const edgesOf = (dirs: string[]): Edge[] =>
  dirs.flatMap(sources).flatMap((file) =>
    importSpecifiers(file, readFileSync(file, "utf8")).flatMap((spec) => {
      const to = target(file, spec);
      return to ? [{ file: path.relative(repoRoot, file), spec, to }] : [];
    }),
  );
const inside = (file: string, dir: string) => !path.relative(path.join(repoRoot, dir), file).startsWith("..");
const show = (edges: Edge[]) => edges.map((e) => `${e.file} imports ${e.spec}`);

describe("import boundaries", () => {
  it("finds every import form (the scanner itself)", () => {
    const src = [
      'import { a } from "../tracking/errors.js";',
      'import type { B } from "../tracking/entities.js";',
      'export { c } from "../tracking/rest/store.js";',
      'import "../tracking/side-effect.js";',
      'const d = await import("../tracking/file-store/index.js");',
      'type E = typeof import("../tracking/logging/logger.js");',
      '// import { f } from "../tracking/in-a-comment.js";',
      'const s = "import x from \\"../tracking/in-a-string.js\\"";',
    ].join("\n");
    expect(importSpecifiers("x.ts", src)).toEqual([
      "../tracking/errors.js",
      "../tracking/entities.js",
      "../tracking/rest/store.js",
      "../tracking/side-effect.js",
      "../tracking/file-store/index.js",
      "../tracking/logging/logger.js",
    ]);
  });

  it("outside tracking/, only tracking/index.ts and tracking/light.ts are imported", () => {
    const edges = edgesOf(["cli", "kernel", "magics", "models", "charts", "jupyter-client", "protocol"]);
    expect(edges.length).toBeGreaterThan(100); // the scan sees the code
    const deep = edges.filter((e) => inside(e.to, "tracking") && !PUBLIC_ENTRIES.includes(e.to));
    expect(show(deep)).toEqual([]);
  });

  it("tracking/ imports nothing of ours outside tracking/", () => {
    const out = edgesOf(["tracking"]).filter((e) => !inside(e.to, "tracking"));
    expect(show(out)).toEqual([]);
  });

  it("kernel/, protocol/ and jupyter-client/ import no MLflow part (tracking, magics, charts, models)", () => {
    const mlflow = ["tracking", "magics", "charts", "models"];
    const out = edgesOf(["kernel", "protocol", "jupyter-client"]).filter((e) => mlflow.some((d) => inside(e.to, d)));
    expect(show(out)).toEqual([]);
  });

  it("light.ts stays light: it reaches at most a few modules of tracking/", () => {
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importSpecifiers(file, readFileSync(file, "utf8"))) {
        const to = target(file, spec);
        if (to) walk(to);
      }
    };
    walk(path.join(TRACKING, "light.ts"));
    expect([...seen].map((f) => path.relative(TRACKING, f)).sort()).toEqual([
      "atomic-write.ts",
      "errors.ts",
      "light.ts",
      "tracking-uri.ts",
    ]);
  });
});
