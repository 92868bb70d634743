// Which representation of a MIME bundle each export target shows, and small helpers to
// read bundle values (nbformat stores text as a string or a list of lines).

import type { IMimeBundle, MultilineString } from "@jupyterlab/nbformat";

export const VEGALITE_MIMES = [
  "application/vnd.vegalite.v5+json",
  "application/vnd.vegalite.v4+json",
  "application/vnd.vegalite.v3+json",
] as const;
export const VEGA_MIMES = ["application/vnd.vega.v5+json", "application/vnd.vega.v4+json", "application/vnd.vega.v3+json"] as const;

/** Richest first, as JupyterLab orders them (charts, then HTML, images, text). */
export const HTML_ORDER = [
  ...VEGALITE_MIMES,
  ...VEGA_MIMES,
  "text/html",
  "image/svg+xml",
  "image/png",
  "image/jpeg",
  "image/gif",
  "text/markdown",
  "text/latex",
  "application/json",
  "text/plain",
] as const;

/** Markdown for docs sites: static images beat HTML; charts come through their SVG. */
export const MARKDOWN_ORDER = [
  "image/svg+xml",
  "image/png",
  "image/jpeg",
  "image/gif",
  ...VEGALITE_MIMES,
  ...VEGA_MIMES,
  "text/markdown",
  "text/html",
  "text/latex",
  "application/json",
  "text/plain",
] as const;

/** A MIME bundle as a notebook file holds it (text values may be lists of lines). */
export type Bundle = IMimeBundle;

export function pickMime(bundle: Bundle, order: readonly string[]): string | undefined {
  return order.find((mime) => bundle[mime] !== undefined && bundle[mime] !== null);
}

export function isVegaLite(mime: string): boolean {
  return (VEGALITE_MIMES as readonly string[]).includes(mime);
}

export function isVega(mime: string): boolean {
  return (VEGA_MIMES as readonly string[]).includes(mime);
}

export function bundleText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return (value as MultilineString as string[]).join("");
  return JSON.stringify(value, null, 2);
}

/** JSON MIME values may be stored as objects or (by some writers) as JSON text. */
export function bundleJson(value: unknown): unknown {
  if (typeof value === "string" || Array.isArray(value)) return JSON.parse(bundleText(value));
  return value;
}

/** Base64 image data without nbformat's line breaks. */
export function base64Data(value: unknown): string {
  return bundleText(value).replace(/\s+/g, "");
}

export const IMAGE_EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/svg+xml": "svg",
};
