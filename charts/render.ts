// Static rendering in the kernel process: Vega-Lite -> Vega (vega-lite compile) -> SVG
// (vega's headless SVG string renderer, no canvas) -> optionally PNG (resvg). The SVG is
// what GitHub, nbconvert's HTML and MLflow's artifact preview show.
//
// Determinism: vega numbers clip paths and gradients from process-wide counters, so renders
// run one at a time and reset the counters first; text widths are always estimated (vega's
// fallback without node-canvas), so the bytes do not depend on whether canvas is installed.

import * as vega from "vega";
import { compile } from "vega-lite";
import type { TopLevelSpec } from "./common-types.js";
import { ChartError } from "./errors.js";

/** Any Vega-Lite or Vega spec; checked at run time (BAD_SPEC), since users pass their own. */
type AnySpec = TopLevelSpec | vega.Spec | object;

interface Collected {
  warnings: string[];
  errors: string[];
}

/** A vega/vega-lite logger that keeps messages instead of printing into the user's cell. */
function collectingLogger(into: Collected): vega.LoggerInterface {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
  const logger: vega.LoggerInterface = {
    level: (() => logger) as vega.LoggerInterface["level"],
    error(...args) {
      into.errors.push(text(args));
      return this;
    },
    warn(...args) {
      into.warnings.push(text(args));
      return this;
    },
    info() {
      return this;
    },
    debug() {
      return this;
    },
  };
  return logger;
}

/** True for a Vega (not Vega-Lite) spec: its $schema says so, or it has a top-level marks list. */
export function isVegaSpec(spec: object): boolean {
  const schema = (spec as { $schema?: unknown }).$schema;
  if (typeof schema === "string") return /\/schema\/vega\/v\d/.test(schema);
  return Array.isArray((spec as { marks?: unknown }).marks);
}

/** Compiles a Vega-Lite spec (or passes a Vega spec through) to a Vega spec; BAD_SPEC on failure. */
export function toVegaSpec(spec: AnySpec, warnings: string[] = []): vega.Spec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new ChartError(
      "BAD_SPEC",
      `Expected a Vega-Lite or Vega spec object, got ${spec === null ? "null" : Array.isArray(spec) ? "an array" : typeof spec}`,
    );
  }
  if (isVegaSpec(spec)) return spec as vega.Spec;
  const log: Collected = { warnings, errors: [] };
  try {
    return compile(spec as TopLevelSpec, { logger: collectingLogger(log) }).spec;
  } catch (e) {
    throw new ChartError("BAD_SPEC", `Not a valid Vega-Lite spec: ${(e as Error).message}`, { cause: e });
  }
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs renders one after another (vega's SVG id counters are process-wide). */
function serially<T>(job: () => Promise<T>): Promise<T> {
  const next = queue.then(job, job);
  queue = next.catch(() => undefined);
  return next;
}

const textMetrics = (vega as unknown as { textMetrics: { width: unknown; estimateWidth: unknown } }).textMetrics;

async function renderView(spec: vega.Spec): Promise<string> {
  const log: Collected = { warnings: [], errors: [] };
  let view: vega.View;
  try {
    view = new vega.View(vega.parse(spec), { renderer: "none", logger: collectingLogger(log), logLevel: vega.Warn });
  } catch (e) {
    throw new ChartError("BAD_SPEC", `Vega could not parse the spec: ${(e as Error).message}`, { cause: e });
  }
  try {
    textMetrics.width = textMetrics.estimateWidth;
    vega.resetSVGDefIds();
    const svg = await view.toSVG();
    if (log.errors.length > 0) throw new ChartError("BAD_SPEC", `Vega failed to render the spec: ${log.errors.join("; ")}`);
    return svg;
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite (or Vega) spec to an SVG string, byte-identical for the same spec. */
export function renderSpecToSvg(spec: AnySpec): Promise<string> {
  let vgSpec: vega.Spec;
  try {
    vgSpec = toVegaSpec(spec);
  } catch (e) {
    return Promise.reject(e);
  }
  return serially(() => renderView(vgSpec));
}

/** The same as renderSpecToSvg (the name cells and the magics use). */
export const renderSvg = (spec: AnySpec): Promise<string> => renderSpecToSvg(spec);

export interface PngOptions {
  /** Pixel density: 2 gives a sharp image on high-DPI screens. Default 2. */
  scale?: number;
  /** Background colour; default white (charts have transparent backgrounds otherwise). */
  background?: string;
}

/** SVG text (or a spec, rendered first) to PNG bytes with resvg and the system's fonts. */
export async function toPng(svgOrSpec: string | AnySpec, options: PngOptions = {}): Promise<Buffer> {
  const svg = typeof svgOrSpec === "string" ? svgOrSpec : await renderSpecToSvg(svgOrSpec);
  const { Resvg } = await import("@resvg/resvg-js");
  const png = new Resvg(svg, {
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: options.background ?? "white",
    font: { defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  }).render();
  return png.asPng();
}
