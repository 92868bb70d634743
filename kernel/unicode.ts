// Jupyter counts cursor positions in Unicode code points; JavaScript strings
// index UTF-16 code units. These convert between the two.

/** UTF-16 index of the `cp`-th code point of `s` (clamped to the string). */
export function fromCodePoints(s: string, cp: number): number {
  let i = 0;
  for (let n = 0; n < cp && i < s.length; n++) i += unitsAt(s, i);
  return i;
}

/** Code-point count of the first `index` UTF-16 units of `s`. */
export function toCodePoints(s: string, index: number): number {
  let n = 0;
  for (let i = 0; i < index && i < s.length; n++) i += unitsAt(s, i);
  return n;
}

/** UTF-16 units of the code point at index `i`: 2 for a surrogate pair, else 1. */
function unitsAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}
