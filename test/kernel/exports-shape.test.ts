// Every cell's top-level names live on one exports object (kernel/executor.ts). It must stay
// an object with fast properties (V8) through what notebooks do — loops over top-level
// numbers, imports, the magics' globals, many names, failed cells — or every access to a
// top-level name becomes a hash lookup (a top-level 1e6 loop ran 3× slower). V8 tells with
// `%HasFastProperties`, available to a kernel started with --allow-natives-syntax.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import type { KernelClient } from "../../jupyter-client/index.js";
import { ROOT, resultText, startTestKernel } from "./helpers.js";

let k: KernelClient;
beforeAll(async () => {
  k = await startTestKernel({
    entry: [
      process.execPath,
      "--allow-natives-syntax",
      path.join(ROOT, "dist", "cli", "main.js"),
      "kernel",
      "--connection-file",
      "{connection_file}",
    ],
  });
});
afterAll(async () => {
  await k?.close();
});

async function value(code: string): Promise<string | undefined> {
  const r = await k.execute(code);
  if (r.reply.content.status !== "ok") throw new Error(`cell failed: ${code}\n${JSON.stringify(r.reply.content)}`);
  return resultText(r);
}

const fastProperties = 'new Function("o", "return %HasFastProperties(o)")(exports)';

describe("the exports object", () => {
  it("keeps fast properties through loops, imports, the magics' globals and many names", async () => {
    expect(await value("let s = 0; for (let i = 0; i < 1000; i++) s += i * 0.5; s")).toBe("249750");
    expect(await value('import { basename } from "node:path"; basename("/a/b.txt")')).toBe("'b.txt'");
    for (let i = 0; i < 30; i++) await value(`let v${i} = ${i}; v${i} * 2`);
    expect(await value("typeof mlflow")).toBe("'object'");
    expect(await value(fastProperties)).toBe("true");
  });

  it("leaves a name's earlier value when a cell that declares it again fails before setting it", async () => {
    const failed = await k.execute('if (s > 0) throw new Error("stop");\nlet s = 1;');
    expect(failed.reply.content.status).toBe("error");
    expect(await value("s")).toBe("249750");
    expect(await value(fastProperties)).toBe("true");
  });
});
