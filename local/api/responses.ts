// Renders API Gateway's gateway responses (errors it answers itself) from the body's x-amazon-apigateway-gateway-responses.
import type { GatewayResponseSpec } from './model.js';

export type GatewayResponseType =
  | 'ACCESS_DENIED'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'AUTHORIZER_FAILURE'
  | 'BAD_REQUEST_BODY'
  | 'BAD_REQUEST_PARAMETERS'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'INVALID_API_KEY'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'QUOTA_EXCEEDED'
  | 'REQUEST_TOO_LARGE'
  | 'THROTTLED'
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'DEFAULT_5XX';

/** API Gateway's default status per response type (a template's statusCode overrides it). */
export const DEFAULT_STATUS: Readonly<Record<GatewayResponseType, number>> = {
  ACCESS_DENIED: 403,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  AUTHORIZER_FAILURE: 500,
  BAD_REQUEST_BODY: 400,
  BAD_REQUEST_PARAMETERS: 400,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
  INVALID_API_KEY: 403,
  MISSING_AUTHENTICATION_TOKEN: 403,
  QUOTA_EXCEEDED: 429,
  REQUEST_TOO_LARGE: 413,
  THROTTLED: 429,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DEFAULT_5XX: 502,
};

export interface GatewayError {
  readonly type: GatewayResponseType;
  /** `$context.error.message`. */
  readonly message: string;
  /** `$context.error.validationErrorString`. */
  readonly validationErrorString?: string;
  /** Status when it is not the type's (e.g. 502 for a failed Lambda proxy integration under DEFAULT_5XX). */
  readonly status?: number;
}

export interface RenderedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const jsonInner = (s: string): string => JSON.stringify(s).slice(1, -1);

/** The gateway response for `error`, using the type's template, else DEFAULT_4XX/DEFAULT_5XX, else AWS's default. */
export function renderGatewayResponse(
  responses: Readonly<Record<string, GatewayResponseSpec>>,
  error: GatewayError,
  context: { readonly requestId: string; readonly [name: string]: string },
): RenderedResponse {
  const own = error.status === undefined ? responses[error.type] : undefined;
  const baseStatus = error.status ?? own?.statusCode ?? DEFAULT_STATUS[error.type];
  const fallback = responses[baseStatus >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
  const status = own?.statusCode ?? baseStatus;
  const templates = own && Object.keys(own.templates).length > 0 ? own.templates : (fallback?.templates ?? {});
  const template =
    templates['application/json'] ?? Object.values(templates)[0] ?? '{"message":$context.error.messageString}';
  const vars: Record<string, string> = {
    'context.requestId': context.requestId,
    'context.extendedRequestId': context.requestId,
    // messageString is the message as a JSON string literal (quotes included); the others are raw.
    'context.error.messageString': JSON.stringify(error.message),
    'context.error.message': jsonInner(error.message),
    'context.error.validationErrorString': jsonInner(error.validationErrorString ?? ''),
    'context.error.responseType': error.type,
  };
  for (const [k, v] of Object.entries(context)) if (k !== 'requestId') vars[`context.${k}`] = jsonInner(v);
  // `$context.x` or `${context.x}` (VTL's formal reference); a `}` after the short form belongs to the template.
  const body = template.replace(
    /\$\{(context(?:\.[A-Za-z0-9_]+)+)\}|\$(context(?:\.[A-Za-z0-9_]+)+)/g,
    (whole, formal: string | undefined, short: string | undefined) => vars[(formal ?? short) as string] ?? whole,
  );
  return {
    status,
    headers: {
      'content-type': 'application/json',
      ...lowerKeys(fallback?.headers ?? {}),
      ...lowerKeys(own?.headers ?? {}),
      'x-amzn-errortype': errorTypeHeader(error.type),
    },
    body,
  };
}

function lowerKeys(h: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

// The x-amzn-ErrorType values API Gateway sends with its own errors.
function errorTypeHeader(type: GatewayResponseType): string {
  switch (type) {
    case 'UNAUTHORIZED':
      return 'UnauthorizedException';
    case 'ACCESS_DENIED':
    case 'INVALID_API_KEY':
      return 'AccessDeniedException';
    case 'MISSING_AUTHENTICATION_TOKEN':
      return 'MissingAuthenticationTokenException';
    case 'THROTTLED':
    case 'QUOTA_EXCEEDED':
      return 'TooManyRequestsException';
    case 'BAD_REQUEST_BODY':
    case 'BAD_REQUEST_PARAMETERS':
      return 'BadRequestException';
    case 'REQUEST_TOO_LARGE':
      return 'RequestTooLargeException';
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'UnsupportedMediaTypeException';
    default:
      return 'InternalServerErrorException';
  }
}
