// A fast path for the flat `key: scalar` YAML that meta.yaml files hold. The general `yaml`
// library costs about a millisecond per file, which dominates reading a thousand runs and
// creating or ending one. Only a conservative subset is handled here, chosen so the result is
// exactly what the library gives (YAML 1.1 schema); anything else returns undefined and the
// caller uses the library.

// Plain scalars that are strings under every YAML 1.1 resolver: no spaces or indicators, not
// starting with a digit, sign or dot (numbers, dates, .inf), and not a boolean or null word.
const SAFE_PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@+-]*$/;
const RESERVED_WORD = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;
// Also ids such as run ids: digits and letters starting with a digit are strings, unless made
// of digits and e/x/b/o only (1e5, 12) or a prefixed int (0x1f, 0b101, 0o17).
const ID_LIKE = /^[0-9][0-9A-Za-z]*$/;
const NUMBER_LETTERS = /^[0-9eExXbBoO]*$/;
const PREFIXED_INT = /^0(?:[bB][01_]+|[xX][0-9a-fA-F_]+|[oO][0-7_]+)$/;
// The library also reads `e68` or `.5e3` as floats.
const EXP_FLOAT = /^[-+]?[0-9_]*\.?[0-9_]*[eE][-+]?[0-9]+$/;
const isSafePlain = (s: string) =>
  !s.endsWith(":") &&
  !EXP_FLOAT.test(s) &&
  ((SAFE_PLAIN.test(s) && !RESERVED_WORD.test(s)) || (ID_LIKE.test(s) && !NUMBER_LETTERS.test(s) && !PREFIXED_INT.test(s)));

// Decimal integers the library reads as safe JS numbers.
const SMALL_INT = /^-?(?:0|[1-9][0-9]{0,14})$/;
const KEY = /^([a-z_][a-z0-9_]*): ?(.*)$/;
// A single-quoted scalar on one line: `''` is the only escape.
const SINGLE_QUOTED = /^'((?:[^'\n]|'')*)'$/;

/** Parses a flat mapping of simple scalars; undefined when the text needs the full parser. */
export function parseFlatYaml(text: string): Record<string, unknown> | undefined {
  const doc: Record<string, unknown> = {};
  let any = false;
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") continue;
    const m = KEY.exec(line);
    if (!m) return undefined;
    const [, key, value] = m as unknown as [string, string, string];
    if (Object.hasOwn(doc, key) || key === "__proto__") return undefined;
    if (value !== "" && !line.startsWith(`${key}: `)) return undefined;
    let v: unknown;
    if (value === "null") v = null;
    else if (value === "[]") v = [];
    else if (SMALL_INT.test(value)) v = Number(value);
    else if (value.startsWith("'")) {
      const q = SINGLE_QUOTED.exec(value);
      if (!q) return undefined;
      v = q[1]!.replace(/''/g, "'");
    } else if (isSafePlain(value)) v = value;
    else return undefined;
    doc[key] = v;
    any = true;
  }
  return any ? doc : undefined;
}

/**
 * Writes a flat mapping with sorted keys the way `yaml.stringify` does with the store's
 * options (PyYAML style, single quotes); undefined when a value needs the library.
 */
export function stringifyFlatYaml(doc: Record<string, unknown>): string | undefined {
  let out = "";
  for (const key of Object.keys(doc).sort()) {
    if (!/^[a-z_][a-z0-9_]*$/.test(key) || RESERVED_WORD.test(key)) return undefined;
    const v = doc[key];
    let s: string;
    if (v === null) s = "null";
    else if (Array.isArray(v) && v.length === 0) s = "[]";
    else if (typeof v === "number" && Number.isSafeInteger(v) && SMALL_INT.test(String(v))) s = String(v);
    else if (typeof v === "string") {
      if (v === "") s = "''";
      else if (isSafePlain(v)) s = v;
      else if (/^[0-9]+$/.test(v))
        s = `'${v}'`; // ids such as experiment ids
      else return undefined;
    } else return undefined;
    out += `${key}: ${s}\n`;
  }
  return out;
}
