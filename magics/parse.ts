// Splits a cell into its magics and its TypeScript: `%name args` lines at the top are
// line magics, a `%%name args` line makes the rest of the cell that magic's body.
// Arguments are tokenized like a shell would (quotes, escapes) by shell-quote, with no
// variable expansion, so `--filter "metrics.acc > 0.9"` reaches the magic intact.

import { parse as shellParse } from "shell-quote";
import { MagicError } from "./registry.js";

export interface MagicCall {
  name: string;
  kind: "line" | "cell";
  /** Shell-style tokens after the name. */
  argv: string[];
  /** `%name?` / `%%name?`: show the magic's help instead of running it. */
  help: boolean;
  /** The magic's line as written, for error messages. */
  line: string;
}

export interface ParsedCell {
  lineMagics: MagicCall[];
  cellMagic?: MagicCall;
  /** What remains for TypeScript: the cell magic's body, or the code after the line magics. */
  code: string;
}

const MAGIC_LINE = /^(%%?)([A-Za-z_][\w-]*)(\?)?(?:\s+(.*))?$/s;

/** True when a cell starts (after blank lines) with something magic-shaped. */
export function hasMagic(source: string): boolean {
  return /^\s*%/.test(source);
}

/**
 * Refuses a quote that is never closed (and a trailing backslash): shell-quote would read
 * `--tag "a=1` as `a=1` and quietly keep going, so the line would not mean what it says.
 */
export function checkQuotes(args: string): void {
  let quote: "'" | '"' | undefined;
  let openedAt = -1;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === "\\") {
      if (i === args.length - 1)
        throw new MagicError("BAD_ARGUMENT", `Bad magic arguments ${JSON.stringify(args)}: a trailing backslash escapes nothing.`);
      i++;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
      openedAt = i;
    } else if (c === "#" && (i === 0 || /\s/.test(args[i - 1]!))) {
      return; // a comment: the rest of the line is not read
    }
  }
  if (quote) {
    throw new MagicError(
      "BAD_ARGUMENT",
      `Unbalanced quote in ${JSON.stringify(args)}: the ${quote === '"' ? "double" : "single"} quote at character ${openedAt + 1} is never closed. Close it, or escape it as \\${quote}.`,
    );
  }
}

/** Tokenizes an argument string the way a POSIX shell would, without expanding `$VAR`; unbalanced quotes are refused. */
export function tokenize(args: string): string[] {
  checkQuotes(args);
  const out: string[] = [];
  for (const entry of shellParse(args, (name) => "$" + name)) {
    if (typeof entry === "string") out.push(entry);
    else if ("comment" in entry) break;
    else if ("pattern" in entry) out.push(entry.pattern);
    // Shell operators such as `>` or `|` carry no meaning here: keep them as words.
    else if ("op" in entry) out.push(entry.op);
  }
  return out;
}

function parseLine(line: string): MagicCall | undefined {
  const m = MAGIC_LINE.exec(line.trim());
  if (!m) return undefined;
  return {
    name: m[2]!,
    kind: m[1] === "%%" ? "cell" : "line",
    argv: tokenize(m[4] ?? ""),
    help: m[3] === "?",
    line: line.trim(),
  };
}

/**
 * Reads the magics at the top of a cell. Blank lines between line magics are allowed; the
 * first other line ends them. A `%%name` line (first, or right after line magics) takes the
 * rest of the cell as its body.
 */
export function parseCell(source: string): ParsedCell {
  const lines = source.split("\n");
  const lineMagics: MagicCall[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.trim() === "") continue;
    if (!text.trimStart().startsWith("%")) break;
    const call = parseLine(text);
    if (!call) break;
    if (call.kind === "cell") {
      return { lineMagics, cellMagic: call, code: lines.slice(i + 1).join("\n") };
    }
    lineMagics.push(call);
  }
  return { lineMagics, code: lines.slice(i).join("\n") };
}
