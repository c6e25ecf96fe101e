// Named domain errors and the one mapper from any thrown value to the HTTP error JSON.
import * as z from 'zod';

export const ERROR_CODES = [
  'validation_error',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'throttled',
  'internal_error',
  'upstream_unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ERROR_STATUS = {
  validation_error: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  throttled: 429,
  internal_error: 500,
  upstream_unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

/** The one error body every route returns. */
export const ErrorBody = z
  .object({
    error: z
      .object({
        code: z.enum(ERROR_CODES),
        message: z.string(),
        details: z.unknown().optional(),
      })
      .strict(),
    requestId: z.string(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Base of every error the mapper turns into its own status; anything else becomes a 500 without details. */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  constructor(
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  readonly code = 'validation_error';
}
export class UnauthorizedError extends DomainError {
  override readonly name = 'UnauthorizedError';
  readonly code = 'unauthorized';
}
export class ForbiddenError extends DomainError {
  override readonly name = 'ForbiddenError';
  readonly code = 'forbidden';
}
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  readonly code = 'not_found';
}
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  readonly code = 'conflict';
}
export class PayloadTooLargeError extends DomainError {
  override readonly name = 'PayloadTooLargeError';
  readonly code = 'payload_too_large';
}
export class ThrottledError extends DomainError {
  override readonly name = 'ThrottledError';
  readonly code = 'throttled';
}
export class UpstreamUnavailableError extends DomainError {
  override readonly name = 'UpstreamUnavailableError';
  readonly code = 'upstream_unavailable';
}

/** A zod failure as error details: one entry per issue, path dotted (e.g. `transactions.3.amount`). */
export function zodDetails(error: z.ZodError): { path: string; code: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

/** Throws ValidationError with the issues as details when `value` does not match `schema`. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(`invalid ${what}`, zodDetails(result.error));
  return result.data;
}

// AWS SDK errors that mean "try again later", by name (no client import needed here).
const AWS_THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
]);

/** Maps any thrown value to a domain error: the single place that decides status codes. */
export function toDomainError(err: unknown): DomainError | undefined {
  if (err instanceof DomainError) return err;
  if (err instanceof z.ZodError) return new ValidationError('invalid request', zodDetails(err));
  if (err instanceof Error) {
    // Powertools idempotency errors, matched by name so this module does not pull the package into every bundle.
    if (err.name === 'IdempotencyValidationError') {
      return new ConflictError('a request with this id was already made with a different payload', undefined, {
        cause: err,
      });
    }
    if (err.name === 'IdempotencyAlreadyInProgressError') {
      return new ConflictError('a request with this id is still in progress; retry shortly', undefined, {
        cause: err,
      });
    }
    if (AWS_THROTTLING.has(err.name)) {
      return new UpstreamUnavailableError('a dependency is busy; retry shortly', undefined, { cause: err });
    }
  }
  return undefined;
}

export interface ErrorResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The HTTP response for any thrown value; unknown errors become a 500 that reveals nothing internal. */
export function toErrorResponse(err: unknown, requestId: string): ErrorResponse {
  const domain = toDomainError(err);
  const code: ErrorCode = domain?.code ?? 'internal_error';
  const body: ErrorBody = {
    error: {
      code,
      message: domain?.message ?? 'internal error',
      ...(domain?.details !== undefined ? { details: domain.details } : {}),
    },
    requestId,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (code === 'upstream_unavailable' || code === 'throttled') headers['retry-after'] = '1';
  return { statusCode: ERROR_STATUS[code], headers, body: JSON.stringify(body) };
}
