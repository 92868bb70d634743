// Type and syntax errors as the cell shows them: each names the cell and the line and column
// the user sees, as runtime tracebacks do (`In[3]:2:7`, lines counting any magic line above
// the code), then the source line with a caret under the column, as tsc prints them.
import { readFileSync } from "node:fs";
import type { Diagnostic } from "./compiler/index.js";
import type { ErrorContent } from "../protocol/messages.js";

/** Where the compiled code is: the script's name in tracebacks and the cell line it starts at. */
export interface CodeLocation {
  name: string;
  firstLine: number;
}

/**
 * The error output for diagnostics of `src` (the code compiled, which starts at cell line
 * `where.firstLine`). A diagnostic in a local module the cell imports names that file.
 */
export function compileError(diags: readonly Diagnostic[], src: string, where: CodeLocation): ErrorContent {
  const srcLines = src.split("\n");
  const blocks = diags.map((d) => {
    const file = d.fileName;
    const line = file ? d.start.line + 1 : where.firstLine + d.start.line;
    const header = `${file ?? where.name}:${line}:${d.start.character + 1} - error TS${d.code}: ${d.messageText}`;
    const text = file ? fileLine(file, d.start.line) : srcLines[d.start.line];
    return { header, lines: text === undefined ? [header] : [header, "", ...excerpt(text, d.start.character)] };
  });
  // Blocks apart by a blank line, as tsc separates its diagnostics.
  const traceback = blocks.flatMap((b, i) => (i === 0 ? b.lines : ["", ...b.lines]));
  return { ename: "TypeScriptError", evalue: blocks[0]?.header ?? "", traceback };
}

/** The line, indented, and a caret under `column` (tabs kept, so the caret lines up). */
function excerpt(text: string, column: number): string[] {
  const line = text.replace(/\r$/, "");
  const under = line.slice(0, column).replace(/[^\t]/g, " ");
  return [`  ${line}`, `  ${under}^`];
}

/** A line of a local module's source; undefined when it cannot be read (the header still names it). */
function fileLine(file: string, index: number): string | undefined {
  try {
    return readFileSync(file, "utf8").split("\n")[index];
  } catch {
    return undefined;
  }
}
