// The API Gateway proxy event the local API hands a function, for benchmarks that invoke through the Lambda runtime
// alone (no HTTP, no API emulator): what the worker hop and the handler cost by themselves.

export interface EventCaller {
  readonly clientId: string;
  /** Space-separated, as the authorizer's context carries them. */
  readonly scopes: string;
}

export function apiEvent(caller: EventCaller, i: number, path: string, body: string | null) {
  return {
    resource: path,
    path,
    httpMethod: body === null ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      requestId: `direct-${i}`,
      authorizer: { clientId: caller.clientId, scopes: caller.scopes, principalId: caller.clientId },
    },
    body,
    isBase64Encoded: false,
  };
}
