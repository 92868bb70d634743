// Terminal colour codes in stream and error outputs (tracebacks carry them): turned into
// coloured <span>s for HTML (by ansi_up), or stripped for Markdown and terminal-free logs.

import { AnsiUp } from "ansi_up";

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

/**
 * Escapes text for HTML and turns terminal colour codes into spans: the 16 basic colours as
 * classes (see the page CSS), 256-colour and truecolour as inline colours, OSC 8 links to http(s)
 * as links. A fresh converter per call: it keeps colour state between calls.
 */
export function ansiToHtml(text: string): string {
  const converter = new AnsiUp();
  converter.use_classes = true;
  return converter.ansi_to_html(text);
}

/** What Jupyter shows for "\r" overwrites (progress bars): the text after a line's last "\r". */
export function applyCarriageReturns(text: string): string {
  return text.replace(/\r+\n/g, "\n").replace(/^[^\n]*\r/gm, "");
}
