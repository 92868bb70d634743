// The browser builds the exported page needs, read from our own node_modules so a page
// never fetches anything: vega, vega-lite and vega-embed UMD bundles, highlight.js's theme.

import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** The package folder of an installed dependency (their `exports` maps hide build/ paths). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, "package.json")) || readPackageName(dir) !== name) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of the ${name} package`);
    dir = up;
  }
  return dir;
}

function readPackageName(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

export interface ScriptAsset {
  /** File name used when the scripts are written beside the page. */
  file: string;
  source: string;
}

let scripts: ScriptAsset[] | undefined;

/** vega, vega-lite, vega-embed, in load order (each UMD build reads the previous globals). */
export function vegaScripts(): ScriptAsset[] {
  scripts ??= [
    ["vega", "build/vega.min.js"],
    ["vega-lite", "build/vega-lite.min.js"],
    ["vega-embed", "build/vega-embed.min.js"],
  ].map(([pkg, rel]) => ({
    file: rel!.split("/").pop()!,
    source: readFileSync(join(packageDir(pkg!), rel!), "utf8"),
  }));
  return scripts;
}

let highlightCss: string | undefined;

export function highlightTheme(): string {
  highlightCss ??= readFileSync(require.resolve("highlight.js/styles/github.min.css"), "utf8");
  return highlightCss;
}

/** Makes text safe inside an inline <script> element. */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}
