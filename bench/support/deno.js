// Deno's binary from the `deno` devDependency (its platform package ships it), for the benches
// that run Deno's kernel (`deno jupyter --kernel`) beside ours; undefined if it is not installed.
import { createRequire } from "node:module";

export const DENO = (() => {
  try {
    return createRequire(import.meta.url)("deno/install_api.cjs").runInstall();
  } catch {
    return undefined;
  }
})();
