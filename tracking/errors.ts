// One error type for everything tracking/ refuses or a server answers with an error.
// Callers match on `code` (MLflow's error_code), never on message text.

export const ERROR_CODES = [
  "INVALID_PARAMETER_VALUE",
  "RESOURCE_ALREADY_EXISTS",
  "RESOURCE_DOES_NOT_EXIST",
  "INTERNAL_ERROR",
  "BAD_REQUEST",
  "PERMISSION_DENIED",
  "UNAUTHENTICATED",
  "TEMPORARILY_UNAVAILABLE",
  "ENDPOINT_NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "UNEXPECTED_RESPONSE",
  "INVALID_CONFIGURATION",
  "TLS_ERROR",
  "CORRUPT_STORE",
  "UNSUPPORTED_URI",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number] | (string & {});

export class MlflowError extends Error {
  override name = "MlflowError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** HTTP status when the error came from (or maps to) an HTTP answer. */
    readonly httpStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidParameter = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message, 400);
export const notFound = (message: string) => new MlflowError("RESOURCE_DOES_NOT_EXIST", message, 404);
export const alreadyExists = (message: string) => new MlflowError("RESOURCE_ALREADY_EXISTS", message, 400);

/** HTTP statuses MLflow's clients treat as transient (retried with backoff). */
export const TRANSIENT_HTTP_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

/**
 * True when the failure may go away by itself: the server could not be reached, or it
 * answered with a transient status. Such a write is worth keeping (spooling) and retrying;
 * anything else (bad input, unknown run, changed param) will fail the same way again.
 */
export function isTransientError(err: unknown): boolean {
  if (!(err instanceof MlflowError)) return false;
  if (err.code === "TEMPORARILY_UNAVAILABLE") return true;
  return err.httpStatus !== undefined && TRANSIENT_HTTP_STATUSES.includes(err.httpStatus) && err.code !== "INVALID_PARAMETER_VALUE";
}
