// One interrupt that lands while a cell awaits stops the cell: it is not lost in the await's
// gap (no code of the cell runs then, so vm's breakOnSigint guards nothing), the cell's code
// after the await never runs later, and its `finally` blocks run before the reply.
import { afterEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import type { ExecuteResult, KernelClient } from "../../jupyter-client/index.js";
import { waitForFile } from "../support/wait-for-file.js";
import { resultText, startTestKernel, tempDir } from "./helpers.js";

const open: KernelClient[] = [];
afterEach(async () => {
  for (const k of open.splice(0)) await k.close();
});

/** How long one interrupt may take to answer: generous for a loaded 2-core machine. */
const ANSWER_MS = 5_000;

/** The execute's result, or "still running" when it has not answered within ANSWER_MS. */
function answered(running: Promise<ExecuteResult>): Promise<ExecuteResult | "still running"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"still running">((r) => (timer = setTimeout(() => r("still running"), ANSWER_MS)));
  return Promise.race([running, late]).finally(() => clearTimeout(timer));
}

const q = (s: string) => JSON.stringify(s);

describe.each(["message", "signal"] as const)("interrupt by %s while a cell awaits", (mode) => {
  it("stops it before the synchronous loop that follows the await, 20 times in a row; state survives", async () => {
    const k = await startTestKernel({ interruptMode: mode });
    open.push(k);
    await k.execute("let kept = 41");
    for (let i = 0; i < 20; i++) {
      const marker = path.join(tempDir(), "waiting");
      // The marker is written right before the await: once it exists, the cell is in (or
      // about to enter) the timer's gap, and the loop comes only after it.
      const running = k.execute(
        `require("fs").writeFileSync(${q(marker)}, "1");\nawait new Promise((r) => setTimeout(r, 10));\nwhile (true) { /* ${i} */ }`,
        { timeout: 60_000 },
      );
      await waitForFile(marker);
      await k.interrupt();
      const outcome = await answered(running);
      if (outcome === "still running") await k.interrupt(); // let close() end the kernel cleanly
      expect(outcome, `repetition ${i}: one interrupt`).not.toBe("still running");
      expect((outcome as ExecuteResult).reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
    }
    expect(resultText(await k.execute("kept + 1"))).toBe("42");
  }, 180_000);

  it("never resumes the interrupted cell later, and runs its finally blocks", async () => {
    const k = await startTestKernel({ interruptMode: mode });
    open.push(k);
    const dir = tempDir();
    const marker = path.join(dir, "waiting");
    const late = path.join(dir, "resumed");
    const cleaned = path.join(dir, "cleaned");
    const running = k.execute(
      [
        `const fs = require("fs");`,
        `try {`,
        // The marker is written once the cell is suspended at its await (setImmediate runs after
        // the cell's synchronous part): an interrupt then lands in the await's gap, never in
        // running code, whose termination no finally block survives.
        `  await new Promise((r) => { setImmediate(() => fs.writeFileSync(${q(marker)}, "1")); setTimeout(r, 1000); });`,
        `  fs.writeFileSync(${q(late)}, "1");`,
        `} finally {`,
        `  fs.writeFileSync(${q(cleaned)}, "1");`,
        `}`,
      ].join("\n"),
      { timeout: 60_000 },
    );
    await waitForFile(marker);
    await k.interrupt();
    const outcome = await answered(running);
    expect(outcome).not.toBe("still running");
    const { reply } = outcome as ExecuteResult;
    expect(reply.content).toMatchObject({ status: "error", ename: "Interrupted" });
    // The cell's finally block runs (the interrupt is thrown into it at its await); on a loaded
    // machine it may land just after the reply, so wait for it rather than assume the order.
    await waitForFile(cleaned, 5_000);
    // A later cell's timer of the same length fires after the interrupted cell's (timers keep
    // their order): once it has, the interrupted cell would have resumed if it ever will.
    const after = await k.execute("await new Promise((r) => setTimeout(r, 1000)); 'later'");
    expect(resultText(after)).toBe("'later'");
    expect(fs.existsSync(late)).toBe(false);
  }, 60_000);
});
