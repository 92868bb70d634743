// charts/ pulls in vega and vega-lite (about a second to load): load it on first use so the
// kernel starts fast, and start loading it in the background once the kernel is up.

type Charts = typeof import("../charts/index.js");

let loading: Promise<Charts> | undefined;

export const loadCharts = (): Promise<Charts> => (loading ??= import("../charts/index.js"));

export const renderSvg = async (spec: unknown): Promise<string> =>
  (await loadCharts()).renderSvg(spec as Parameters<Charts["renderSvg"]>[0]);

/** The `charts` global: `await charts.compare(runs, options)` gives a chart that displays itself. */
export const chartsGlobal = {
  compare: async (runs: Parameters<Charts["compareAsync"]>[0], options?: Parameters<Charts["compareAsync"]>[1]) =>
    (await loadCharts()).compareAsync(runs, options),
  renderSvg,
};
