// Terminal colour codes in stream and error outputs (tracebacks carry them): turned into
// coloured <span>s for HTML, or stripped for Markdown and terminal-free logs.

// CSI sequences (colours, cursor moves) and OSC sequences (titles, hyperlinks).
const ANSI_PATTERN = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, "");
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}
const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

const COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  underline?: boolean;
}

/** Escapes text for HTML and turns SGR colour codes into classed spans (see page CSS). */
export function ansiToHtml(text: string): string {
  let style: Style = {};
  let out = "";
  let last = 0;
  const open = () => {
    const classes: string[] = [];
    if (style.fg) classes.push(`ansi-${style.fg}-fg`);
    if (style.bg) classes.push(`ansi-${style.bg}-bg`);
    if (style.bold) classes.push("ansi-bold");
    if (style.underline) classes.push("ansi-underline");
    return classes.length ? `<span class="${classes.join(" ")}">` : "";
  };
  const chunk = (s: string) => {
    if (!s) return;
    const tag = open();
    out += tag + escapeHtml(s) + (tag ? "</span>" : "");
  };
  for (const m of text.matchAll(ANSI_PATTERN)) {
    chunk(text.slice(last, m.index));
    last = m.index! + m[0].length;
    if (m[0].startsWith("\x1b[") && m[0].endsWith("m")) style = applySgr(style, m[0].slice(2, -1));
  }
  chunk(text.slice(last));
  return out;
}

function applySgr(prev: Style, params: string): Style {
  const style = { ...prev };
  const codes = params === "" ? [0] : params.split(";").map((p) => Number(p) || 0);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) Object.assign(style, { fg: undefined, bg: undefined, bold: false, underline: false });
    else if (c === 1) style.bold = true;
    else if (c === 4) style.underline = true;
    else if (c === 22) style.bold = false;
    else if (c === 24) style.underline = false;
    else if (c >= 30 && c <= 37) style.fg = COLOURS[c - 30];
    else if (c === 39) style.fg = undefined;
    else if (c >= 40 && c <= 47) style.bg = COLOURS[c - 40];
    else if (c === 49) style.bg = undefined;
    else if (c >= 90 && c <= 97) style.fg = `bright-${COLOURS[c - 90]}`;
    else if (c >= 100 && c <= 107) style.bg = `bright-${COLOURS[c - 100]}`;
    else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256/true colour: skipped
  }
  return style;
}

/** What Jupyter shows for "\r" overwrites (progress bars): the text after a line's last "\r". */
export function applyCarriageReturns(text: string): string {
  return text.replace(/\r+\n/g, "\n").replace(/^[^\n]*\r/gm, "");
}
