// TypeScript's module object with some members replaced, for handing to tslab's converter
// (the module's own members are read-only getters, so it cannot be patched in place).
type TypeScript = typeof import("@tslab/typescript-for-tslab");

/**
 * The overrides as own members of an object whose prototype is `ts`: every other member is
 * TypeScript's own, read through. (A getter per member, for TypeScript's ~2,250 of them,
 * cost ~3 ms per layer at every process start, and made each lookup a chain of getters:
 * 5 layers took 16 ms to make and lookups were 3x slower.) Marked `__esModule`, so that
 * tslab's CommonJS interop (`__importStar`) takes the object as it is rather than copying
 * its own members only.
 */
export function withOverrides(ts: TypeScript, overrides: Partial<Record<keyof TypeScript, unknown>>): TypeScript {
  // Defined, not assigned: assigning would hit the prototype's read-only getters.
  return Object.create(ts, { ...Object.getOwnPropertyDescriptors(overrides), __esModule: { value: true } }) as TypeScript;
}
