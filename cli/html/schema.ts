// Chart specs as the exported page and files use them.

/** The `$schema` only names a version; dropping it avoids version-mismatch warnings. */
export function withoutSchema(spec: unknown): unknown {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return spec;
  const { $schema: _schema, ...rest } = spec as Record<string, unknown>;
  return rest;
}
