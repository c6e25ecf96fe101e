// Test support: API Gateway REST proxy events and a Lambda context, for running a middy handler end to end.
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

export interface ApiEventOptions {
  readonly method?: string;
  readonly resource?: string;
  readonly path?: string;
  readonly body?: unknown;
  /** Sent verbatim (for malformed JSON); overrides `body`. */
  readonly rawBody?: string;
  readonly pathParameters?: Record<string, string>;
  readonly requestId?: string;
  readonly authorizer?: Record<string, string>;
  /** Request headers besides content-type. @default - none */
  readonly headers?: Record<string, string>;
}

export function apiEvent(options: ApiEventOptions = {}): APIGatewayProxyEvent {
  const body = options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body));
  return {
    body,
    headers: { 'content-type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    httpMethod: options.method ?? 'POST',
    isBase64Encoded: false,
    path: options.path ?? options.resource ?? '/',
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    resource: options.resource ?? options.path ?? '/',
    requestContext: {
      requestId: options.requestId ?? 'req-1',
      authorizer: options.authorizer ?? null,
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

export function lambdaContext(functionName = 'test-function', remainingMs = 10_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'aws-req-1',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Quiet Powertools in tests (set before any Powertools object is built). */
export function quietPowertools(): void {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
}
