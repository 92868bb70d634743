// Where in a cell a position of its running JavaScript is, for tracebacks: each cell runs
// as a script named after its execution count (`In[3]`), and a frame `In[3]:7:12` becomes
// the line and column of the TypeScript in that cell, through the maps the compiler wrote
// (cell-source-maps.ts). Maps are read only when an error is shown.
import { createRequire } from "node:module";
import type { CellSourceMaps } from "./cell-source-maps.js";

type TraceMapping = typeof import("@jridgewell/trace-mapping");

/** Scripts remembered: a frame can be in a function defined by an earlier cell. */
const KEEP = 1000;
/** Lines the runner puts before the cell's code (see wrap() in executor.ts). */
const WRAPPER_LINES = 1;
/** Lines tslab puts before the cell's code in the file it compiles ("export {};"). */
const PREFIX_LINES = 1;

interface Script {
  maps: CellSourceMaps;
  /** The cell line its code starts at (after a magic line, say). */
  firstLine: number;
}

let traceMapping: TraceMapping | undefined;

export class CellPositions {
  private readonly scripts = new Map<string, Script>();

  remember(name: string, maps: CellSourceMaps | undefined, firstLine: number): void {
    this.scripts.delete(name);
    if (!maps) return;
    this.scripts.set(name, { maps, firstLine });
    if (this.scripts.size > KEEP) this.scripts.delete(this.scripts.keys().next().value!);
  }

  /** The cell line and column of a position in a script, if its maps know it. */
  locate(name: string, line: number, column: number): { line: number; column: number } | undefined {
    const script = this.scripts.get(name);
    if (!script) return undefined;
    traceMapping ??= createRequire(import.meta.url)("@jridgewell/trace-mapping") as TraceMapping;
    const { TraceMap, originalPositionFor } = traceMapping;
    // V8 columns count from 1, source maps' from 0.
    const esModule = originalPositionFor(new TraceMap(script.maps.commonjs), { line: line - WRAPPER_LINES, column: column - 1 });
    if (esModule.line === null) return undefined;
    const source = originalPositionFor(new TraceMap(script.maps.typescript), { line: esModule.line, column: esModule.column });
    if (source.line === null || source.line <= PREFIX_LINES) return undefined;
    return { line: script.firstLine + source.line - PREFIX_LINES - 1, column: source.column + 1 };
  }

  /**
   * A stack frame line with its script positions in cell terms. A position in a script whose
   * maps do not know it (the runner's own call of the cell) drops the frame; in a script
   * without maps, only the position is dropped.
   */
  frame(text: string): string | undefined {
    let dropped = false;
    const mapped = text.replace(/(In\[[^\]]*\]|<cell>):(\d+):(\d+)/g, (_, name: string, line: string, column: string) => {
      if (!this.scripts.has(name)) return name;
      let at: { line: number; column: number } | undefined;
      try {
        at = this.locate(name, Number(line), Number(column));
      } catch {
        // A map that cannot be read must not cost the user the error itself.
      }
      if (!at) dropped = true;
      return at ? `${name}:${at.line}:${at.column}` : name;
    });
    return dropped ? undefined : mapped;
  }
}
