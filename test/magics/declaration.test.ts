// What cells are type-checked against (MLFLOW_DECLARATION) must promise nothing the real
// `mlflow` object lacks, and must declare every member it has: checked by the TypeScript
// compiler over the real MlflowApi type, so the two cannot drift apart unnoticed.

import path from "node:path";
import { describe, expect, it } from "vitest";
import { MLFLOW_DECLARATION } from "../../magics/api.js";
import { REPO_ROOT } from "../support/paths.js";
import { typeCheck } from "../support/type-check.js";

function diagnostics(source: string): string[] {
  return typeCheck(path.join(REPO_ROOT, "test", "magics", "__declaration_check.ts"), source).map((d) => d.text);
}

describe("MLFLOW_DECLARATION", () => {
  it("matches the real mlflow object: every declared member exists with a compatible type, and every member is declared", () => {
    // The declaration is a script of global interfaces; inside a module they are local names.
    const declared = MLFLOW_DECLARATION.replace("declare const mlflow: MlflowApi;", "").replace(
      /\binterface MlflowApi\b/,
      "interface DeclaredApi",
    );
    const source = `
import type { MlflowApi as RealApi } from "../../magics/api.js";
${declared}
declare const real: RealApi;
// The real object can stand wherever the declaration is used.
export const usable: DeclaredApi = real;
type Undeclared = Exclude<keyof RealApi, keyof DeclaredApi>;
type Unreal = Exclude<keyof DeclaredApi, keyof RealApi>;
export const undeclared: [Undeclared] extends [never] ? "none" : Undeclared = "none";
export const unreal: [Unreal] extends [never] ? "none" : Unreal = "none";
`;
    expect(diagnostics(source)).toEqual([]);
  }, 120_000);

  it("catches a declared member the object lacks (the check can fail)", () => {
    const declared = MLFLOW_DECLARATION.replace("declare const mlflow: MlflowApi;", "").replace(
      /\binterface MlflowApi \{/,
      "interface DeclaredApi {\n  noSuchCall(): void;",
    );
    const source = `
import type { MlflowApi as RealApi } from "../../magics/api.js";
${declared}
declare const real: RealApi;
export const usable: DeclaredApi = real;
`;
    expect(diagnostics(source).join("\n")).toMatch(/noSuchCall/);
  }, 120_000);

  it("documents its calls, so inspect (Shift+Tab) shows them", () => {
    const body = MLFLOW_DECLARATION.slice(MLFLOW_DECLARATION.search(/interface MlflowApi \{/));
    const members = [...body.matchAll(/^\s{2}(?:readonly )?(\w+)[(?:<]/gm)].map((m) => m[1]!);
    const documented = new Set([...body.matchAll(/\/\*\*[^]*?\*\/\s*\n\s{2}(?:readonly )?(\w+)/g)].map((m) => m[1]!));
    const undocumented = members.filter((m) => !documented.has(m));
    expect(undocumented).toEqual([]);
  });
});
