// Where in the user's TypeScript a position of running JavaScript is, for tracebacks. Each
// cell runs as a script named after its execution count (`In[3]`), and a local module it
// imports (./helper.ts) as the file tslab emitted for it (./helper.js); a frame at `In[3]:7:12`
// or `/work/helper.js:4:9` becomes the line and column of the TypeScript, through the maps
// the compiler wrote (compiler/cell-source-maps.ts). Maps are read only when an error is shown.
import { createRequire } from "node:module";
import type { CellSourceMaps } from "./compiler/index.js";

type TraceMapping = typeof import("@jridgewell/trace-mapping");

/** Scripts remembered: a frame can be in a function defined by an earlier cell. */
const KEEP = 1000;

/** How a script's JavaScript lines up with the TypeScript it came from. */
export interface ScriptLayout {
  /** Lines the runner puts before the emitted code (a cell's function wrapper: 1). */
  wrapperLines: number;
  /** Lines tslab puts before the source in the file it compiles (a cell's "export {};": 1). */
  prefixLines: number;
  /** The line of the cell (or file) the source starts at (after a magic line, say). */
  firstLine: number;
}

export const CELL_LAYOUT: ScriptLayout = { wrapperLines: 1, prefixLines: 1, firstLine: 1 };
export const MODULE_LAYOUT: ScriptLayout = { wrapperLines: 0, prefixLines: 0, firstLine: 1 };

interface Script extends ScriptLayout {
  maps: CellSourceMaps;
}

/** A script position in a frame: a cell's name (`In[3]`, `<cell>`) or an emitted .js file's path. */
const POSITION = /(In\[[^\]]*\]|<cell>|\/[^():]+\.js):(\d+):(\d+)/g;
const isCell = (name: string) => !name.startsWith("/");

let traceMapping: TraceMapping | undefined;

export class CellPositions {
  private readonly scripts = new Map<string, Script>();

  remember(name: string, maps: CellSourceMaps | undefined, layout: ScriptLayout): void {
    this.scripts.delete(name);
    if (!maps) return;
    this.scripts.set(name, { maps, ...layout });
    if (this.scripts.size > KEEP) this.scripts.delete(this.scripts.keys().next().value!);
  }

  /** The TypeScript line and column (and file extension) of a position in a script, if its maps know it. */
  locate(name: string, line: number, column: number): { line: number; column: number; source: string } | undefined {
    const script = this.scripts.get(name);
    if (!script) return undefined;
    traceMapping ??= createRequire(import.meta.url)("@jridgewell/trace-mapping") as TraceMapping;
    const { TraceMap, originalPositionFor } = traceMapping;
    // V8 columns count from 1, source maps' from 0.
    let emitted = { line: line - script.wrapperLines, column: column - 1 };
    if (script.maps.commonjs) {
      const esModule = originalPositionFor(new TraceMap(script.maps.commonjs), emitted);
      if (esModule.line === null) return undefined;
      emitted = { line: esModule.line, column: esModule.column };
    }
    const source = originalPositionFor(new TraceMap(script.maps.typescript), emitted);
    if (source.line === null || source.line <= script.prefixLines) return undefined;
    return { line: script.firstLine + source.line - script.prefixLines - 1, column: source.column + 1, source: source.source ?? "" };
  }

  /**
   * A stack frame line with its script positions in TypeScript terms. A cell position its
   * maps do not know (the runner's own call of the cell) drops the frame; a cell without
   * maps keeps only its name; any other file keeps its position.
   */
  frame(text: string): string | undefined {
    let dropped = false;
    const mapped = text.replace(POSITION, (whole, name: string, line: string, column: string) => {
      if (!this.scripts.has(name)) return isCell(name) ? name : whole;
      let at: ReturnType<CellPositions["locate"]>;
      try {
        at = this.locate(name, Number(line), Number(column));
      } catch {
        // A map that cannot be read must not cost the user the error itself.
      }
      if (!at) {
        if (isCell(name)) dropped = true;
        return isCell(name) ? name : whole;
      }
      // A local module is shown as its TypeScript file (helper.js -> helper.ts).
      const shown = isCell(name) ? name : name.replace(/\.js$/, /\.[cm]?tsx?$/.exec(at.source)?.[0] ?? ".ts");
      return `${shown}:${at.line}:${at.column}`;
    });
    return dropped ? undefined : mapped;
  }
}
