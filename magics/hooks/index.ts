// Library autologging hooks. Each hook names the package it patches, the package ids whose
// loading by a cell triggers it, and how it patches. Nothing is loaded or patched before the
// user's code loads a triggering package (the kernel reports each package a cell loads, see
// KernelHost.onRequire); then the hook is installed once, on the module resolved from the
// notebook's directory, through the same resolution the cell's own `import` uses, so the
// patched module is the one the user gets. Patches check the active run and the autolog
// switch at call time, so a run opened or autologging turned on after the import still logs.
// Adding a library is one small file in this folder plus one line below.

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
  /** The package to patch, resolved from the notebook's directory. */
  module: string;
  /** Package ids whose first load by a cell installs the hook: `module`, packages re-exporting it, its parts. */
  triggers: RegExp;
  install(lib: unknown, ctx: HookContext): void;
}

export const LIBRARY_HOOKS: readonly LibraryHook[] = [tfjsHook];

export class HookRegistry {
  /** Hooks already handled (installed, or failed with a warning): each is tried once. */
  private readonly settled = new Set<string>();
  readonly installed: string[] = [];

  constructor(
    private readonly ctx: HookContext,
    /** The notebook's directory, where `module` is resolved from. */
    private readonly cwd: string,
    private readonly hooks: readonly LibraryHook[] = LIBRARY_HOOKS,
  ) {}

  /** Called with each package a cell loads: installs the hooks it triggers. Cheap when none. */
  loaded(id: string, exports: unknown): void {
    for (const hook of this.hooks) {
      if (this.settled.has(hook.name) || !hook.triggers.test(id)) continue;
      this.settled.add(hook.name);
      try {
        hook.install(id === hook.module ? exports : (this.resolve(hook.module) ?? exports), this.ctx);
        this.installed.push(hook.name);
      } catch (err) {
        this.ctx.warn(`autologging for ${hook.module} is off: ${(err as Error).message}`);
      }
    }
  }

  /** `module` as the cell's `import` would get it, or undefined when it is not installed there
   * (a re-exporting package with its own nested copy: the trigger's exports are patched then). */
  private resolve(module: string): unknown {
    const req = createRequire(path.join(this.cwd, "__tslab_mlflow_hooks__.js"));
    let file: string;
    try {
      file = req.resolve(module);
    } catch {
      return undefined;
    }
    return req(file);
  }
}
