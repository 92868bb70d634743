// Splits an MLflow search filter or order_by clause into tokens. MLflow parses these with
// sqlparse; we need only the subset its search grammar accepts: identifiers (with
// "double-quoted" or `backticked` parts, e.g. tags."my tag"), 'strings', numbers,
// comparators, parentheses, commas and the keywords AND / IN / NOT / LIKE / ILIKE.

import { invalidParameter } from "../errors.js";

export type TokenKind = "name" | "string" | "number" | "op" | "lparen" | "rparen" | "comma";

export interface Token {
  kind: TokenKind;
  /** The source text of the token, quotes included. */
  text: string;
  /** For `string`: the unquoted value; for a fully quoted `name`: the unquoted value too. */
  value?: string;
  /** Offset in the source, for error messages. */
  pos: number;
}

const NAME_CHAR = /[A-Za-z0-9_.]/;
const NAME_START = /[A-Za-z_"`]/;
const OP_CHAR = /[<>=!~]/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

/** Reads a quoted run starting at `i`; returns [value, end index after the closing quote]. */
function readQuoted(src: string, i: number, what: string): [string, number] {
  const q = src[i]!;
  let out = "";
  let j = i + 1;
  for (;;) {
    if (j >= src.length) throw invalidParameter(`Unterminated ${what} starting at position ${i} in '${src}'.`);
    const c = src[j]!;
    if (c === "\\" && q === "'" && j + 1 < src.length) {
      out += src[j + 1];
      j += 2;
      continue;
    }
    if (c === q) {
      if (src[j + 1] === q) {
        out += q;
        j += 2;
        continue;
      } // doubled quote = literal quote
      return [out, j + 1];
    }
    out += c;
    j++;
  }
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === "(") {
      tokens.push({ kind: "lparen", text: c, pos });
      i++;
      continue;
    }
    if (c === ")") {
      tokens.push({ kind: "rparen", text: c, pos });
      i++;
      continue;
    }
    if (c === ",") {
      tokens.push({ kind: "comma", text: c, pos });
      i++;
      continue;
    }
    if (c === "'") {
      const [value, end] = readQuoted(src, i, "string");
      tokens.push({ kind: "string", text: src.slice(pos, end), value, pos });
      i = end;
      continue;
    }
    if (OP_CHAR.test(c)) {
      let j = i;
      while (j < src.length && OP_CHAR.test(src[j]!)) j++;
      tokens.push({ kind: "op", text: src.slice(i, j), pos });
      i = j;
      continue;
    }
    const num = NUMBER.exec(src.slice(i));
    if (num && /[\d+\-.]/.test(c) && !(c === "." && !/\d/.test(src[i + 1] ?? ""))) {
      const end = i + num[0].length;
      // "1abc" is not a number followed by a name: treat it as a (bad) name.
      if (end >= src.length || !/[A-Za-z_]/.test(src[end]!)) {
        tokens.push({ kind: "number", text: num[0], pos });
        i = end;
        continue;
      }
    }
    if (NAME_START.test(c) || /\d/.test(c)) {
      // A name is a run of bare characters and quoted parts with no space between them.
      let j = i;
      let quotedParts = 0,
        bare = false,
        value = "";
      while (j < src.length) {
        const d = src[j]!;
        // 'single' quotes count as part of a name only right after a dot (params.'my key').
        if (d === '"' || d === "`" || (d === "'" && src[j - 1] === "." && j > i)) {
          const [v, end] = readQuoted(src, j, d === "`" ? "backticked name" : "quoted name");
          value += v;
          quotedParts++;
          j = end;
        } else if (NAME_CHAR.test(d)) {
          value += d;
          bare = true;
          j++;
        } else break;
      }
      const text = src.slice(i, j);
      tokens.push({ kind: "name", text, pos, ...(quotedParts === 1 && !bare ? { value } : {}) });
      i = j;
      continue;
    }
    throw invalidParameter(`Invalid character '${c}' at position ${pos} in '${src}'.`);
  }
  return tokens;
}

/** Removes one pair of surrounding quotes (' " or `) as MLflow does for keys. */
export function unquote(text: string): string {
  if (text.length >= 2) {
    const q = text[0];
    if ((q === '"' || q === "'" || q === "`") && text.endsWith(q!)) return text.slice(1, -1);
  }
  return text;
}
