// How the command ends on an error no subcommand handled: one it raised on purpose (a stable
// `code`: the user's bad input) is a one-line message and exit code 2; anything else is a
// fault, printed with its stack, exit code 1.

export function exitOnError(e: unknown): never {
  const err = e as Error & { code?: unknown };
  console.error(typeof err.code === "string" ? `error: ${err.message}` : err);
  process.exit(typeof err.code === "string" ? 2 : 1);
}
