// The public entry of magics/: `mlflowExtension()` for `startKernel({ extensions })`.
// Kept light so the kernel answers kernel_info at once: the implementation (tracking,
// compiler, charts) loads inside `activate`, which cells wait for and kernel_info does not.

import type { Cell, KernelExtension, KernelHost } from "../kernel/extensions.js";
import type { MlflowExtensionOptions } from "./extension.js";

export type { MlflowExtensionOptions } from "./extension.js";

export function mlflowExtension(options: MlflowExtensionOptions = {}): KernelExtension {
  let impl: KernelExtension | undefined;
  let introspection: typeof import("./magic-introspection.js") | undefined;
  // Loading starts now, not at `activate`: the implementation's ~200 modules load while the
  // kernel binds its sockets and its control thread starts.
  const loading = Promise.all([import("./extension.js"), import("./magic-introspection.js")]);
  loading.catch(() => {}); // `activate` reports a failure to load
  return {
    name: "mlflow",
    async activate(host: KernelHost) {
      const [{ mlflowExtension: create }, intro] = await loading;
      introspection = intro;
      impl = create(options);
      await impl.activate?.(host);
    },
    execute(cell: Cell) {
      return impl?.execute?.(cell) ?? false;
    },
    complete(code: string, cursorPos: number) {
      return impl?.complete?.(code, cursorPos);
    },
    inspect(code: string, cursorPos: number) {
      return impl?.inspect?.(code, cursorPos);
    },
    typescriptStart(code: string) {
      return introspection?.typescriptStart(code);
    },
    isComplete(code: string) {
      return introspection?.isCompleteMagic(code);
    },
  };
}
