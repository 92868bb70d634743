// Runs every benchmark in bench/ (each file exports `async function run()` that
// prints its own table). Run after `npm run build`; `node bench/run.js [name...]`
// runs only the named ones (e.g. `node bench/run.js kernel`).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith(".js") && f !== "run.js")
  .filter((f) => only.length === 0 || only.includes(path.basename(f, ".js")))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n== bench/${file} ==`);
  try {
    const mod = await import(pathToFileURL(path.join(here, file)).href);
    if (typeof mod.run !== "function") throw new Error(`bench/${file} does not export run()`);
    await mod.run();
  } catch (e) {
    failed++;
    console.error(`bench/${file} failed:`, e);
  }
}
process.exitCode = failed ? 1 : 0;
