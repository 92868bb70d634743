// Errors caused by what the user typed (bad path, not a notebook, bad parameter). The
// commands turn them into a one-line message and exit code 2, before any kernel starts.

export type InputErrorCode = "ENOENT_NOTEBOOK" | "NOT_A_NOTEBOOK" | "BAD_PARAMETER" | "BAD_PARAMETERS_FILE" | "BAD_OPTION";

export class InputError extends Error {
  readonly code: InputErrorCode;
  constructor(code: InputErrorCode, message: string) {
    super(message);
    this.name = "InputError";
    this.code = code;
  }
}

/** Exit code for bad command lines and bad input, as commander uses for usage errors. */
export const EXIT_BAD_INPUT = 2;

/**
 * Runs a command's action: an InputError becomes a one-line `error:` message and exit code
 * 2; anything else is not the user's fault and propagates.
 */
export async function reportInputErrors(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    console.error(`error: ${e.message}`);
    process.exitCode = EXIT_BAD_INPUT;
  }
}
