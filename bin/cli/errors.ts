// The CLI's error types: each carries the exit code (1 failure, 2 usage) and what to print, human or JSON.

/** A failure the CLI explains itself: the message already says what went wrong and how to fix it. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** Machine-readable extras for `--json` (status, code, requestId…). */
    readonly info: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** Bad flags or arguments: exit code 2, as for commander's own usage errors. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, 2, { code: 'usage' });
  }
}

/** The API answered with an error status; `message` is readable and names the requestId. */
export class ApiError extends CliError {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
    readonly details: unknown,
    /** True when API Gateway found no such route (its "Missing Authentication Token" answer). */
    readonly noRoute: boolean,
  ) {
    super(message, 1, { status, code, requestId, details });
  }
}
