// Library autologging hooks. Each hook names the package it patches and how; a package is
// loaded only when it is installed next to the notebook (resolvable from the kernel's cwd),
// through the same resolution the notebook's own `import` uses, so the patched module is the
// one the user gets. Adding a library is one small file in this folder plus one line below.

import { createRequire } from "node:module";
import path from "node:path";
import type { ActiveRun } from "../active-run.js";
import { tfjsHook } from "./tfjs.js";

export interface HookContext {
  /** The run to log into, if one is open. */
  activeRun(): ActiveRun | undefined;
  /** Whether autologging of library metrics is on right now. */
  enabled(): boolean;
  warn(message: string): void;
}

export interface LibraryHook {
  name: string;
  /** The package to patch. */
  module: string;
  install(lib: unknown, ctx: HookContext): void;
}

export const LIBRARY_HOOKS: readonly LibraryHook[] = [tfjsHook];

export class HookRegistry {
  /** Hooks settled per cwd (installed or known absent), so the lookup happens once. */
  private readonly settled = new Map<string, Set<string>>();
  readonly installed: string[] = [];

  constructor(private readonly ctx: HookContext, private readonly hooks: readonly LibraryHook[] = LIBRARY_HOOKS) {}

  /** Installs every hook whose library is resolvable from `cwd` and not yet handled. */
  async prepare(cwd: string): Promise<void> {
    let done = this.settled.get(cwd);
    if (!done) this.settled.set(cwd, (done = new Set()));
    const req = createRequire(path.join(cwd, "__tslab_mlflow_hooks__.js"));
    for (const hook of this.hooks) {
      if (done.has(hook.name)) continue;
      done.add(hook.name);
      let resolved: string;
      try {
        resolved = req.resolve(hook.module);
      } catch {
        continue; // Not installed here: nothing to hook, nothing loaded.
      }
      try {
        hook.install(req(resolved), this.ctx);
        this.installed.push(hook.name);
      } catch (err) {
        this.ctx.warn(`autologging for ${hook.module} is off: ${(err as Error).message}`);
      }
    }
  }
}
