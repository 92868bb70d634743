// Python's `str(float)` and `float(str)` for metric files: MLflow writes metric values as
// Python prints them (`42.0`, `1e-05`, `nan`, `inf`), and reads them back with `float()`,
// which JavaScript's `String(n)` / `parseFloat` do not match.

/** Formats a number exactly as Python's `repr(float(x))`. */
export function formatPyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the shortest digits that round-trip,
  // the same digits Python's repr chooses; only the layout rules differ.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential());
  if (!m) throw new Error(`unexpected exponent form for ${x}`);
  const [, sign, first, rest = "", expText] = m;
  const digits = first + rest;
  const exp = Number(expText); // value = d.ddd × 10^exp
  const decpt = exp + 1; // value = 0.dddd × 10^decpt
  // Python switches to exponent form when decpt <= -4 or decpt > 16.
  if (decpt <= -4 || decpt > 16) {
    const mantissa = rest ? `${first}.${rest}` : first;
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${mantissa}e${exp < 0 ? "-" : "+"}${e}`;
  }
  let body: string;
  if (decpt <= 0) body = "0." + "0".repeat(-decpt) + digits;
  else if (decpt >= digits.length) body = digits + "0".repeat(decpt - digits.length) + ".0";
  else body = digits.slice(0, decpt) + "." + digits.slice(decpt);
  return sign + body;
}

// Python's float literal: digits with single `_` separators, optional fraction, optional exponent.
const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_FLOAT = new RegExp(String.raw`^[+-]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`);

/** Parses a float as Python's `float()` does (nan, inf, infinity in any case); undefined if invalid. */
export function parsePyFloat(text: string): number | undefined {
  const s = text.trim();
  const lower = s.toLowerCase();
  const unsigned = lower.replace(/^[+-]/, "");
  const negative = lower.startsWith("-");
  if (unsigned === "nan") return NaN;
  if (unsigned === "inf" || unsigned === "infinity") return negative ? -Infinity : Infinity;
  if (!PY_FLOAT.test(s)) return undefined;
  return Number(s.replace(/_/g, ""));
}
