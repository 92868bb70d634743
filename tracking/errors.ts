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
