// The one HTTP client of the CLI: fetch with a timeout, the API's error JSON turned into a readable ApiError, and
// network failures turned into messages that name the fix.
import { ApiError, CliError } from './errors.js';

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON body (serialized here) or an already encoded form body. */
  readonly json?: unknown;
  readonly form?: URLSearchParams;
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  readonly body: unknown;
  readonly elapsedMs: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

export function isLoopback(url: string): boolean {
  try {
    return LOOPBACK.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Sends one request; throws CliError when the server cannot be reached and never for an HTTP status. */
export async function send(request: HttpRequest): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  } else if (request.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = request.form.toString();
  }
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    throw networkError(request, error);
  }
  const text = await response.text();
  let parsed: unknown = text;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (an HTML error page from a proxy, say): keep the text for the message.
    }
  }
  return { status: response.status, headers: response.headers, body: parsed, elapsedMs: performance.now() - started };
}

/** Sends and returns the body of a 2xx answer; any other status becomes an ApiError. */
export async function call(request: HttpRequest): Promise<HttpResponse> {
  const response = await send(request);
  if (response.status >= 200 && response.status < 300) return response;
  throw apiError(request, response);
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function networkError(request: HttpRequest, error: unknown): CliError {
  const origin = originOf(request.url);
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new CliError(
      `no answer from ${origin} within ${(request.timeoutMs / 1000).toFixed(0)} s (${request.method} ${pathOf(request.url)}); ` +
        'raise --request-timeout or check that the stage is healthy',
      1,
      { code: 'timeout' },
    );
  }
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code ?? (error instanceof Error ? error.name : 'network_error');
  if (isLoopback(request.url) && (code === 'ECONNREFUSED' || code === 'ECONNRESET')) {
    return new CliError(`no local stage running at ${origin} — start it with \`npm start\``, 1, {
      code: 'stage_not_running',
      cause: code,
    });
  }
  const detail = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new CliError(`cannot reach ${origin} (${code}: ${detail}) — check --url and your network`, 1, {
    code: 'unreachable',
    cause: code,
  });
}

interface ErrorJson {
  readonly error?: { readonly code?: unknown; readonly message?: unknown; readonly details?: unknown } | string;
  readonly error_description?: unknown;
  readonly message?: unknown;
  readonly requestId?: unknown;
}

/** Turns an error answer (the API's `{error:{code,message,details},requestId}` or anything else) into an ApiError. */
export function apiError(request: HttpRequest, response: HttpResponse): ApiError {
  const body = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as ErrorJson;
  const inner = typeof body.error === 'object' ? body.error : undefined;
  const code = typeof inner?.code === 'string' ? inner.code : typeof body.error === 'string' ? body.error : undefined;
  const message =
    typeof inner?.message === 'string'
      ? inner.message
      : typeof body.error_description === 'string'
        ? body.error_description
        : typeof body.message === 'string'
          ? body.message
          : typeof response.body === 'string' && response.body.length > 0
            ? response.body.slice(0, 200)
            : 'no error message';
  const requestId =
    typeof body.requestId === 'string' ? body.requestId : (response.headers.get('x-amzn-requestid') ?? undefined);
  const noRoute =
    response.headers.get('x-amzn-errortype') === 'MissingAuthenticationTokenException' ||
    message === 'Missing Authentication Token';
  const where = `${request.method} ${pathOf(request.url)}`;
  const text = `${where} failed: ${response.status}${code ? ` ${code}` : ''} — ${message}${requestId ? ` (requestId ${requestId})` : ''}${formatDetails(inner?.details)}`;
  return new ApiError(text, response.status, code, requestId, inner?.details, noRoute);
}

function formatDetails(details: unknown): string {
  if (details === undefined || details === null) return '';
  if (Array.isArray(details)) {
    const lines = details.map((d) => {
      if (typeof d === 'object' && d !== null) {
        const { path, message } = d as { path?: unknown; message?: unknown };
        const at = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : '';
        if (typeof message === 'string') return at ? `${at}: ${message}` : message;
      }
      return JSON.stringify(d);
    });
    return lines.length > 0 ? `\n  ${lines.join('\n  ')}` : '';
  }
  return `\n  ${JSON.stringify(details)}`;
}
