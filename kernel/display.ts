// Turning values into MIME bundles, and the display API cells see
// (`display`, `html`, `markdown`, `svg`, `clearOutput`) with its type
// declarations for the type-checker.
//
// Any object with a `[Symbol.for("Jupyter.display")]()` method renders its
// own bundle (the convention Deno's kernel uses); a plain object whose
// `$schema` names Vega-Lite renders as a Vega-Lite chart; every bundle gets a
// colourless `text/plain` fallback.
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import type { MimeBundle } from "../protocol/messages.js";

export const $display = Symbol.for("Jupyter.display");
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/** A plain-text rendering without colour codes (frontends and tests compare it). */
export function plainText(value: unknown): string {
  if (typeof value === "string") return inspect(value, { colors: false });
  return inspect(value, { colors: false, depth: 4, maxArrayLength: 100, breakLength: 100 });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isVegaLiteSpec(v: unknown): v is Record<string, unknown> {
  return isPlainObject(v) && typeof v.$schema === "string" && /vega-lite/i.test(v.$schema);
}

/**
 * The MIME bundle for a value. Throws what a `[$display]` method throws
 * (the caller turns it into an error output).
 */
export function toBundle(value: unknown): MimeBundle {
  if (value !== null && (typeof value === "object" || typeof value === "function")) {
    const render = (value as { [$display]?: unknown })[$display];
    if (typeof render === "function") {
      const bundle = render.call(value) as MimeBundle;
      if (!isPlainObject(bundle)) {
        throw new TypeError(`[Symbol.for("Jupyter.display")]() must return a MIME bundle object, got ${plainText(bundle)}`);
      }
      return withText(bundle, value);
    }
  }
  if (isVegaLiteSpec(value)) {
    return { [VEGALITE_MIME]: value, "text/plain": vegaLiteText(value) };
  }
  return { "text/plain": plainText(value) };
}

/** Adds a text/plain fallback to a bundle that lacks one (e.g. from tslab's display helpers). */
export function ensureText(bundle: MimeBundle): MimeBundle {
  if (typeof bundle["text/plain"] === "string") return bundle;
  const html = bundle["text/html"] ?? bundle["text/markdown"];
  if (typeof html === "string") return { ...bundle, "text/plain": html };
  const mime = Object.keys(bundle)[0];
  return { ...bundle, "text/plain": mime === VEGALITE_MIME ? vegaLiteText(bundle[mime]) : `<${mime ?? "empty"} output>` };
}

function withText(bundle: MimeBundle, value: unknown): MimeBundle {
  if (typeof bundle["text/plain"] === "string") return bundle;
  const vl = bundle[VEGALITE_MIME];
  const text = vl ? vegaLiteText(vl) : `<${value?.constructor?.name ?? typeof value}>`;
  return { ...bundle, "text/plain": text };
}

function vegaLiteText(spec: unknown): string {
  const title = (spec as { title?: unknown }).title;
  const t =
    typeof title === "string"
      ? title
      : typeof (title as { text?: unknown })?.text === "string"
        ? (title as { text: string }).text
        : undefined;
  return t ? `<VegaLite chart: ${t}>` : "<VegaLite chart>";
}

function base64(data: Uint8Array | string): string {
  return typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

/** A value that renders as the given bundle (what `html\`...\`` returns). */
export class Displayable {
  constructor(readonly bundle: MimeBundle) {}
  [$display](): MimeBundle {
    return this.bundle;
  }
}

/** Builds a string from a tagged template or returns the plain string. */
function templ(strings: TemplateStringsArray | string, values: unknown[]): string {
  if (typeof strings === "string") return strings;
  return strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ""), "");
}

export const html = (s: TemplateStringsArray | string, ...v: unknown[]) => {
  const text = templ(s, v);
  return new Displayable({ "text/html": text, "text/plain": text });
};
export const markdown = (s: TemplateStringsArray | string, ...v: unknown[]) => {
  const text = templ(s, v);
  return new Displayable({ "text/markdown": text, "text/plain": text });
};
export const svg = (s: TemplateStringsArray | string, ...v: unknown[]) => {
  const text = templ(s, v);
  return new Displayable({ "image/svg+xml": text, "text/plain": "<SVG image>" });
};

export interface DisplaySink {
  display(bundle: MimeBundle, opts: { metadata?: Record<string, unknown>; displayId: string; update: boolean }): void;
  clear(wait: boolean): void;
}

/** `displayId: true` asks for a new id; any displayId makes `display` return a handle to update it. */
export interface DisplayOptions {
  displayId?: string | true;
  metadata?: Record<string, unknown>;
  update?: boolean;
}

export interface DisplayHandle {
  readonly displayId: string;
  update(value: unknown): void;
}

export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}

/** The `display` function cells call, with its helpers, publishing through `sink`. */
export function createDisplay(sink: () => DisplaySink) {
  // Like IPython: no handle (so nothing shows as the cell's result) unless a display id was asked for.
  const show = (bundle: MimeBundle, o: DisplayOptions = {}): DisplayHandle | undefined => {
    const displayId = o.displayId === true || o.displayId === undefined ? newDisplayId() : o.displayId;
    sink().display(bundle, { metadata: o.metadata, displayId, update: o.update ?? false });
    if (o.displayId === undefined) return undefined;
    return {
      displayId,
      update: (value: unknown) => sink().display(toBundle(value), { displayId, update: true }),
    };
  };
  const display = (value: unknown, o?: DisplayOptions) => show(toBundle(value), o);
  return Object.assign(display, {
    html: (s: string, o?: DisplayOptions) => show({ "text/html": s, "text/plain": s }, o),
    markdown: (s: string, o?: DisplayOptions) => show({ "text/markdown": s, "text/plain": s }, o),
    svg: (s: string, o?: DisplayOptions) => show({ "image/svg+xml": s, "text/plain": "<SVG image>" }, o),
    png: (d: Uint8Array | string, o?: DisplayOptions) => show({ "image/png": base64(d), "text/plain": "<PNG image>" }, o),
    jpeg: (d: Uint8Array | string, o?: DisplayOptions) => show({ "image/jpeg": base64(d), "text/plain": "<JPEG image>" }, o),
    json: (v: unknown, o?: DisplayOptions) => show({ "application/json": v, "text/plain": plainText(v) }, o),
    vegalite: (spec: object, o?: DisplayOptions) => show({ [VEGALITE_MIME]: spec, "text/plain": vegaLiteText(spec) }, o),
    bundle: (b: MimeBundle, o?: DisplayOptions) => show(withText(b, b), o),
    update: (displayId: string, value: unknown) => sink().display(toBundle(value), { displayId, update: true }),
    clear: (wait = false) => sink().clear(wait),
  });
}

/** Type declarations for the display globals, fed to the type-checker. */
export const DISPLAY_DECLARATIONS = `
interface JupyterMimeBundle { "text/plain"?: string; [mime: string]: unknown }
interface JupyterDisplayOptions { displayId?: string | true; metadata?: Record<string, unknown>; update?: boolean }
interface JupyterDisplayHandle { readonly displayId: string; update(value: unknown): void }
type JupyterDisplayResult<O> = O extends { displayId: string | true } ? JupyterDisplayHandle : void;
interface JupyterDisplayable { readonly bundle: JupyterMimeBundle }
interface JupyterDisplay {
  <O extends JupyterDisplayOptions = {}>(value: unknown, options?: O): JupyterDisplayResult<O>;
  html<O extends JupyterDisplayOptions = {}>(html: string, options?: O): JupyterDisplayResult<O>;
  markdown<O extends JupyterDisplayOptions = {}>(markdown: string, options?: O): JupyterDisplayResult<O>;
  svg<O extends JupyterDisplayOptions = {}>(svg: string, options?: O): JupyterDisplayResult<O>;
  png<O extends JupyterDisplayOptions = {}>(data: Uint8Array | string, options?: O): JupyterDisplayResult<O>;
  jpeg<O extends JupyterDisplayOptions = {}>(data: Uint8Array | string, options?: O): JupyterDisplayResult<O>;
  json<O extends JupyterDisplayOptions = {}>(value: unknown, options?: O): JupyterDisplayResult<O>;
  vegalite<O extends JupyterDisplayOptions = {}>(spec: object, options?: O): JupyterDisplayResult<O>;
  bundle<O extends JupyterDisplayOptions = {}>(bundle: JupyterMimeBundle, options?: O): JupyterDisplayResult<O>;
  update(displayId: string, value: unknown): void;
  clear(wait?: boolean): void;
}
declare const display: JupyterDisplay;
declare function clearOutput(wait?: boolean): void;
declare function html(strings: TemplateStringsArray | string, ...values: unknown[]): JupyterDisplayable;
declare function markdown(strings: TemplateStringsArray | string, ...values: unknown[]): JupyterDisplayable;
declare function svg(strings: TemplateStringsArray | string, ...values: unknown[]): JupyterDisplayable;
declare function input(prompt?: string, options?: { password?: boolean }): Promise<string>;
`;
