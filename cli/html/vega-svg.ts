// A static SVG for a Vega or Vega-Lite output that came without one, so the exported page
// (scripts off) and Markdown still show the chart. Runs vega headless in Node; fetches nothing.
// Imported only when a chart needs it: vega and vega-lite take a while to load.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { withoutSchema } from "./schema.js";

function offlineLoader(): vega.Loader {
  const loader = vega.loader();
  const sanitize = loader.sanitize.bind(loader);
  loader.sanitize = (uri: string, options: Parameters<vega.Loader["sanitize"]>[1]) =>
    /^([a-z]+:)?\/\//i.test(uri) ? Promise.reject(new Error(`export works offline and does not fetch ${uri}`)) : sanitize(uri, options);
  return loader;
}

export async function renderChartSvg(spec: unknown, mode: "vega" | "vega-lite"): Promise<string> {
  const vgSpec = mode === "vega-lite" ? compile(withoutSchema(spec) as TopLevelSpec).spec : (withoutSchema(spec) as vega.Spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none", loader: offlineLoader() });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
