// The few Vega-Lite types the builders name, imported in one place (vega-lite publishes them
// under `types_unstable/`; if that path moves, only this file changes).

export type { TopLevelSpec } from "vega-lite";
export type { StringFieldDef } from "vega-lite/types_unstable/channeldef.js";
export type { NonNormalizedSpec } from "vega-lite/types_unstable/spec/index.js";
export type { LayerSpec } from "vega-lite/types_unstable/spec/layer.js";
export type { Field } from "vega-lite/types_unstable/channeldef.js";
export type { Transform } from "vega-lite/types_unstable/transform.js";
