// Terminal colours in exported pages: basic colours as the page's classes, 256-colour and
// truecolour as inline colours, text escaped, only http(s) links.
import { describe, expect, it } from "vitest";
import { ansiToHtml } from "../../cli/html/ansi.js";

describe("ansiToHtml", () => {
  it("maps the 16 basic colours to the page's classes", () => {
    expect(ansiToHtml("\x1b[31mError\x1b[0m: x")).toBe('<span class="ansi-red-fg">Error</span>: x');
    expect(ansiToHtml("\x1b[92mok\x1b[0m")).toBe('<span class="ansi-bright-green-fg">ok</span>');
    expect(ansiToHtml("\x1b[41mbg\x1b[0m")).toBe('<span class="ansi-red-bg">bg</span>');
  });

  it("keeps 256-colour and truecolour text coloured", () => {
    expect(ansiToHtml("\x1b[38;5;208morange\x1b[0m")).toBe('<span style="color:rgb(255,135,0)">orange</span>');
    expect(ansiToHtml("\x1b[38;2;10;20;30mtc\x1b[0m")).toBe('<span style="color:rgb(10,20,30)">tc</span>');
  });

  it("escapes the text and allows no script links", () => {
    expect(ansiToHtml('<img src=x onerror=alert(1)> & "q"')).not.toContain("<img");
    const link = ansiToHtml("\x1b]8;;javascript:alert(1)\x07click\x1b]8;;\x07");
    expect(link).not.toContain("javascript:");
    expect(ansiToHtml("\x1b]8;;https://mlflow.org\x07docs\x1b]8;;\x07")).toBe('<a href="https://mlflow.org">docs</a>');
  });

  it("starts every call with no colour carried over", () => {
    ansiToHtml("\x1b[31munterminated");
    expect(ansiToHtml("plain")).toBe("plain");
  });
});
