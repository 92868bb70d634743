// Completion and inspection of magic lines, from the magic table: `%mlflow_` completes to the
// magics' names, `%%mlflow_run --` to that magic's options, and inspecting a magic line shows
// the magic's help. Anything else (TypeScript, including a magic cell's body) is left to the
// kernel's compiler by answering undefined.

import type { CompletionResult, MimeBundle } from "../kernel/extensions.js";
import type { MagicRegistry } from "./registry.js";

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
    const matches = registry.list()
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
  const matches = Object.keys(magic.options).map((o) => "--" + o).filter((o) => o.startsWith(word)).sort();
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
