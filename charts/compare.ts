// `compare(runs, options)`: the chart `auto` (or `kind`) picks, its SVG and a text table, as
// one object that displays itself in a notebook (`[Symbol.for("Jupyter.display")]()`).
// `compareAsync` renders the SVG up front on this thread; `compare` is synchronous and
// renders on first display through a worker thread (display protocols call synchronously).

import { buildChart } from "./auto.js";
import type { TopLevelSpec } from "./common-types.js";
import { renderSvg } from "./render.js";
import { renderSvgSync } from "./svg-sync.js";
import { textTable } from "./table.js";
import type { CompareOptions, ConcreteChartKind, RunInput } from "./types.js";

export const VEGALITE_V5_MIME = "application/vnd.vegalite.v5+json";
const DISPLAY = Symbol.for("Jupyter.display");

export interface ComparisonBundle {
  [VEGALITE_V5_MIME]: TopLevelSpec;
  "image/svg+xml"?: string;
  "text/plain": string;
  [mime: string]: unknown;
}

export class Comparison {
  #svg: string | undefined;

  constructor(
    /** The chart kind drawn (what `auto` resolved to). */
    readonly kind: ConcreteChartKind,
    /** The Vega-Lite spec, data inlined. */
    readonly spec: TopLevelSpec,
    /** The aligned text table. */
    readonly text: string,
    /** Runs drawn, and runs given before `max`. */
    readonly runCount: number,
    readonly totalRuns: number,
    svg?: string,
  ) {
    this.#svg = svg;
  }

  /** The rendered SVG, once `render()` (or a display) has produced it. */
  get svg(): string | undefined {
    return this.#svg;
  }

  /** Renders the SVG on this thread, without blocking it. */
  async render(): Promise<this> {
    this.#svg ??= await renderSvg(this.spec);
    return this;
  }

  /**
   * The MIME bundle: Vega-Lite v5 spec, SVG (rendered now if need be) and the text table.
   * Should the SVG fail, the chart still shows where Vega-Lite renders, and the text says why
   * there is no image.
   */
  bundle(): ComparisonBundle {
    if (this.#svg === undefined) {
      try {
        this.#svg = renderSvgSync(this.spec);
      } catch (e) {
        return { [VEGALITE_V5_MIME]: this.spec, "text/plain": `${this.text}\n(no SVG: ${(e as Error).message})` };
      }
    }
    return { [VEGALITE_V5_MIME]: this.spec, "image/svg+xml": this.#svg, "text/plain": this.text };
  }

  [DISPLAY](): ComparisonBundle {
    return this.bundle();
  }

  toString(): string {
    return this.text;
  }

  /** console.log shows the table, not the whole spec with its data. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Comparison (${this.kind})\n${this.text}`;
  }
}

function make(runs: readonly RunInput[], options: CompareOptions): Comparison {
  const { kind, spec, prepared } = buildChart(runs, options);
  const title = typeof spec.title === "string" ? spec.title : undefined;
  return new Comparison(kind, spec, textTable(prepared, title, options.metricsOption), prepared.runs.length, prepared.totalRuns);
}

/** Builds the comparison now; its SVG is rendered when first displayed (or by `render()`). */
export function compare(runs: readonly RunInput[], options: CompareOptions = {}): Comparison {
  return make(runs, options);
}

/** Builds the comparison and renders its SVG, so displaying it costs nothing more. */
export async function compareAsync(runs: readonly RunInput[], options: CompareOptions = {}): Promise<Comparison> {
  return make(runs, options).render();
}
