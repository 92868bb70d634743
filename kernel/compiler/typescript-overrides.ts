// TypeScript's module object with some members replaced, for handing to tslab's converter
// (the module's own members are read-only getters, so it cannot be patched in place).
type TypeScript = typeof import("@tslab/typescript-for-tslab");

export function withOverrides(ts: TypeScript, overrides: Partial<Record<keyof TypeScript, unknown>>): TypeScript {
  const wrapped = {} as Record<string, unknown>;
  for (const key of Object.keys(ts)) {
    if (!(key in overrides))
      Object.defineProperty(wrapped, key, { enumerable: true, get: () => (ts as unknown as Record<string, unknown>)[key] });
  }
  return Object.assign(wrapped, overrides) as unknown as TypeScript;
}
