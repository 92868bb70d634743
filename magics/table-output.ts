// One table as a cell output, for every magic that shows rows (%mlflow_runs, %mlflow_models,
// %mlflow_predict's preview): a text/plain rendering whose lines fit a page, and a text/html
// one that never widens the page, both from the same cells, every value escaped.
//
// Text: columns are aligned; when the table would be wider than the page, the widest columns
// give up width first and a cut value ends in "…". HTML keeps every value whole: a long one
// (a URI, a JSON record) may break anywhere instead of stretching its column.

import { escapeHtml } from "./summary.js";

/** A column: its header, plus an optional header tooltip and an HTML rendering of its values. */
export interface TableColumn {
  header: string;
  /** The header's tooltip (e.g. "param" or "metric"). */
  title?: string;
  /** The cell's HTML for a value, instead of the escaped value (it must escape what it shows). */
  html?: (value: string) => string;
  /** Never narrowed in text (an id is copied from there, and a cut one is no use). */
  whole?: boolean;
}

export interface TableOptions {
  /** Widest text line in characters (default 120, a page or a wide terminal). */
  width?: number;
}

export const TABLE_TEXT_WIDTH = 120;
/** Narrowest a column gets when the text is squeezed (a header or value cut to this still says something). */
const MIN_COLUMN = 8;
const GAP = "  ";
/** Values longer than this may break anywhere in HTML. */
const LONG_VALUE = 40;

const ELLIPSIS = "…";
const cut = (s: string, width: number) => (s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + ELLIPSIS);

/** Column widths that fit `width`: the widest column that may shrink loses a character until the line fits or all are narrow. */
function fitWidths(natural: readonly number[], whole: readonly boolean[], width: number): number[] {
  const widths = [...natural];
  let total = widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  while (total > width) {
    let widest = -1;
    for (let c = 0; c < widths.length; c++) if (!whole[c] && (widest < 0 || widths[c]! > widths[widest]!)) widest = c;
    if (widest < 0 || widths[widest]! <= MIN_COLUMN) break; // as narrow as it gets: the line stays long
    widths[widest]!--;
    total--;
  }
  return widths;
}

/** The text and HTML renderings of a table; `rows` hold one string per column. */
export function table(
  caption: string,
  columns: readonly (string | TableColumn)[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): { "text/plain": string; "text/html": string } {
  const cols = columns.map((c): TableColumn => (typeof c === "string" ? { header: c } : c));
  for (const [i, row] of rows.entries())
    if (row.length !== cols.length) throw new RangeError(`table row ${i} has ${row.length} cells for ${cols.length} columns`);
  // Tabs and newlines would break the alignment of every later column and line.
  const flat = (s: string) => s.replace(/[\t\r\n]+/g, " ");
  const natural = cols.map((col, c) => Math.max(col.header.length, ...rows.map((r) => flat(r[c]!).length)));
  const widths = fitWidths(
    natural,
    cols.map((c) => !!c.whole),
    opts.width ?? TABLE_TEXT_WIDTH,
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((s, c) => cut(flat(s), widths[c]!).padEnd(widths[c]!))
      .join(GAP)
      .trimEnd();
  const text = [caption, line(cols.map((c) => c.header)), ...rows.map(line)].join("\n");

  const th = cols.map((c) => `<th${c.title ? ` title="${escapeHtml(c.title)}"` : ""}>${escapeHtml(c.header)}</th>`).join("");
  const td = (s: string, col: TableColumn) =>
    `<td${s.length > LONG_VALUE ? ' style="overflow-wrap:anywhere"' : ""}>${col.html ? col.html(s) : escapeHtml(s)}</td>`;
  const html =
    `<table><caption style="text-align:left">${escapeHtml(caption)}</caption><thead><tr>${th}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((s, c) => td(s, cols[c]!)).join("")}</tr>`).join("") +
    "</tbody></table>";
  return { "text/plain": text, "text/html": html };
}
