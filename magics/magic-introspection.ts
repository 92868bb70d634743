// Completion, inspection and is_complete of magic lines, from the magic table: `%mlflow_`
// completes to the magics' names, `%%mlflow_run --` to that magic's options, inspecting a
// magic line shows the magic's help, and a magic line that cannot parse is "invalid".
// Anything else (TypeScript, including a magic cell's body) is left to the kernel's
// compiler by answering undefined; `typescriptStart` tells the kernel where it begins.

import type { CompletionResult, IsCompleteReply, MimeBundle } from "../kernel/extensions.js";
import { hasMagic, parseCell, type ParsedCell } from "./parse.js";
import { MagicError, type MagicRegistry } from "./registry.js";

interface MagicLine {
  /** Offset of the line in the code. */
  start: number;
  text: string;
}

/** The magic line holding `pos`, if `pos` is in the magic lines at the top of the cell. */
function magicLineAt(code: string, pos: number): MagicLine | undefined {
  let start = 0;
  for (const text of code.split("\n")) {
    const end = start + text.length;
    const isMagic = /^\s*%/.test(text);
    if (pos >= start && pos <= end) return isMagic ? { start, text } : undefined;
    // The magics end at the first line that is neither blank nor a line magic; a cell
    // magic takes the rest of the cell as its body.
    if (text.trim() !== "" && (!isMagic || /^\s*%%/.test(text))) return undefined;
    start = end + 1;
  }
  return undefined;
}

const prefixOf = (kind: "line" | "cell") => (kind === "cell" ? "%%" : "%");

export function completeMagic<C>(registry: MagicRegistry<C>, code: string, pos: number): CompletionResult | undefined {
  const line = magicLineAt(code, pos);
  if (!line) return undefined;
  const before = line.text.slice(0, pos - line.start);
  // The magic's name: `%mlf`, `%%mlflow_r`.
  const name = /^(\s*)(%%?)([\w-]*)$/.exec(before);
  if (name) {
    const typed = name[2]! + name[3]!;
    const matches = registry
      .list()
      .map((m) => prefixOf(m.kind) + m.name)
      .filter((n) => n.startsWith(typed) || (!typed.startsWith("%%") && n.startsWith("%" + typed)))
      .sort();
    const from = line.start + name[1]!.length;
    return { matches, cursorStart: from, cursorEnd: from + typed.length + wordRest(line.text, pos - line.start) };
  }
  // An option of a known magic: `%%mlflow_run --pa`, or `--` alone, or after a space.
  const m = /^\s*%%?([\w-]+)\??\s(?:.*\s)?(-{0,2}[\w-]*)$/.exec(before);
  if (!m) return undefined;
  const magic = registry.get(m[1]!);
  const word = m[2]!;
  if (!magic || (word !== "" && !word.startsWith("-"))) return undefined;
  const matches = Object.keys(magic.options)
    .map((o) => "--" + o)
    .filter((o) => o.startsWith(word))
    .sort();
  if (matches.length === 0) return undefined;
  const from = pos - word.length;
  return { matches, cursorStart: from, cursorEnd: pos + wordRest(line.text, pos - line.start) };
}

/** The rest of the word the cursor is in (replaced by a completion, as frontends expect). */
function wordRest(text: string, at: number): number {
  return /^[\w-]*/.exec(text.slice(at))![0].length;
}

export function inspectMagic<C>(registry: MagicRegistry<C>, code: string, pos: number): MimeBundle | undefined {
  const line = magicLineAt(code, pos);
  if (!line) return undefined;
  const m = /^\s*(%%?)([\w-]*)/.exec(line.text);
  if (!m) return undefined;
  let help: string;
  try {
    help = registry.help(m[2]!);
  } catch (err) {
    // An unknown or half-typed name: say what exists.
    help = (err as Error).message + "\n\n" + registry.lsmagic();
  }
  return { "text/plain": help, "text/markdown": "```\n" + help + "\n```" };
}

/** The cell as the magics read it; undefined when a magic line cannot parse (e.g. an open quote). */
function parsed(code: string): ParsedCell | undefined {
  try {
    return parseCell(code);
  } catch (err) {
    if (err instanceof MagicError) return undefined;
    throw err;
  }
}

/**
 * Where the TypeScript of a magic cell begins: the cell magic's body, or the code under the
 * line magics (parseCell's rest is always the cell's tail). Undefined for a plain cell.
 */
export function typescriptStart(code: string): number | undefined {
  if (!hasMagic(code)) return undefined;
  const cell = parsed(code);
  if (cell) return code.length - cell.code.length;
  // A magic line that cannot parse: its TypeScript still starts after the magic lines.
  let start = 0;
  for (const text of code.split("\n")) {
    const isMagic = /^\s*%/.test(text);
    if (text.trim() !== "" && !isMagic) return start;
    start += text.length + 1;
    if (/^\s*%%/.test(text)) return Math.min(start, code.length);
  }
  return code.length;
}

/**
 * is_complete for magic cells: a magic line that cannot parse is "invalid", line magics
 * alone are "complete", and a cell magic without a body yet is "incomplete" (its body comes
 * next). Otherwise undefined: the kernel checks the TypeScript after the magics as it
 * checks a plain cell.
 */
export function isCompleteMagic(code: string): IsCompleteReply | undefined {
  if (!hasMagic(code)) return undefined;
  const cell = parsed(code);
  if (!cell) return { status: "invalid" };
  if (cell.code.trim() !== "") return undefined;
  return cell.cellMagic ? { status: "incomplete", indent: "" } : { status: "complete" };
}
