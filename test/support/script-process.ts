// A Node process running a test's own ES module script (`node --input-type=module -e`): the
// tests that stand in for a crashed process start one, wait for a line it prints, then
// SIGKILL it.
import { spawn, type ChildProcess } from "node:child_process";

/**
 * Starts `script` with `args` and resolves once it printed a line starting with `marker`
 * (the whole line); rejects, with what it printed, if it exits first. The child is pushed onto
 * `started` before anything is awaited, so an afterEach can kill it whatever happens.
 */
export function startScript(
  script: string,
  args: string[],
  marker: string,
  started: ChildProcess[],
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = "",
      err = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith(marker));
      if (line) resolve({ child, line });
    });
    child.on("exit", (code) => reject(new Error(`child exited (${code}) before "${marker}": ${out}${err}`)));
  });
}

/** SIGKILLs `child` and resolves once it has exited. */
export const killed = (child: ChildProcess): Promise<void> =>
  new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
