// A package installed while the kernel runs, after a cell failed to import it (the usual
// "Cannot find module" → `npm install` in a terminal → run the cell again). TypeScript's watch
// program then sets a second timer next to the one tslab's converter holds, which it used to
// refuse on every later cell ("Unexpected pending rebuildTimer"): see compiler/watch-timers.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KernelClient } from "../../jupyter-client/index.js";
import { installGreetPackage, resultText, startTestKernel, tempDir } from "./helpers.js";

let k: KernelClient;
let cwd: string;
beforeAll(async () => {
  cwd = tempDir();
  k = await startTestKernel({ cwd });
});
afterAll(async () => {
  await k?.close();
});

describe("a package installed while the kernel runs", () => {
  it("imports once installed, and every later cell still runs", async () => {
    expect(resultText(await k.execute("const before = 1; before"))).toBe("1");
    const missing = await k.execute('import { greet } from "late-package";\ngreet("x")');
    expect(missing.reply.content.evalue).toMatch(/Cannot find module 'late-package'/);

    installGreetPackage(cwd, "late-package");
    // The folder's change reaches the compiler through a file watcher: until it has, the import
    // still fails the same way; nothing else may go wrong meanwhile.
    const deadline = Date.now() + 30_000;
    let imported: Awaited<ReturnType<KernelClient["execute"]>>;
    for (;;) {
      imported = await k.execute('import { greet } from "late-package";\ngreet("notebook")');
      if (imported.reply.content.status === "ok" || Date.now() > deadline) break;
      expect(imported.reply.content.evalue).toMatch(/Cannot find module 'late-package'/);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(imported.reply.content).toMatchObject({ status: "ok" });
    expect(resultText(imported)).toBe("'hello notebook'");
    expect(resultText(await k.execute("const after: number = before + 1; after"))).toBe("2");
  }, 60_000);
});
