// Splits a cell into its magics and its TypeScript: `%name args` lines at the top are
// line magics, a `%%name args` line makes the rest of the cell that magic's body.
// Arguments are tokenized like a shell would (quotes, escapes) by shell-quote, with no
// variable expansion, so `--filter "metrics.acc > 0.9"` reaches the magic intact.

import { parse as shellParse } from "shell-quote";

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

/** Tokenizes an argument string the way a POSIX shell would, without expanding `$VAR`. */
export function tokenize(args: string): string[] {
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
