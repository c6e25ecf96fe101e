// Turns the contract's OpenAPI 3.0 document into the definition API Gateway imports: integrations, the
// authorizer, request validation and gateway responses that keep the one error JSON shape.

import { API_KEY_HEADER, ROUTES, type RouteDefinition } from '../../lambdas/shared/contracts/api.js';
import { SECURITY_SCHEMES } from '../../lambdas/shared/contracts/openapi.js';
import { ERROR_STATUS, type ErrorCode } from '../../lambdas/shared/errors.js';

type Json = Record<string, unknown>;

export interface GatewayDefinitionOptions {
  /** Lambda proxy integration URI of the function serving each route. */
  readonly integrationUri: (route: RouteDefinition) => string;
  /** The routes the document holds (`apiRoutes(models)`). @default ROUTES */
  readonly routes?: readonly RouteDefinition[];
  /** Lambda integration URI of the REQUEST authorizer. */
  readonly authorizerUri: string;
  /** How long API Gateway caches an authorizer decision (per token, method and resource). */
  readonly authorizerCacheSeconds: number;
}

/** API Gateway's gateway-response types and the error code each becomes. */
export const GATEWAY_RESPONSES: Readonly<Record<string, ErrorCode>> = {
  BAD_REQUEST_BODY: 'validation_error',
  BAD_REQUEST_PARAMETERS: 'validation_error',
  UNAUTHORIZED: 'unauthorized',
  MISSING_AUTHENTICATION_TOKEN: 'not_found',
  ACCESS_DENIED: 'forbidden',
  INVALID_API_KEY: 'forbidden',
  AUTHORIZER_FAILURE: 'internal_error',
  AUTHORIZER_CONFIGURATION_ERROR: 'internal_error',
  THROTTLED: 'throttled',
  QUOTA_EXCEEDED: 'throttled',
  REQUEST_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'validation_error',
  DEFAULT_4XX: 'validation_error',
  DEFAULT_5XX: 'internal_error',
};

const VALIDATOR = 'body-and-params';

function gatewayResponse(type: string, code: ErrorCode): Json {
  // Velocity template of the error JSON; `details` carries API Gateway's validation message when there is one.
  const details = code === 'validation_error' ? ',"details":[{"message":"$context.error.validationErrorString"}]' : '';
  const status = type.startsWith('DEFAULT_') ? undefined : String(ERROR_STATUS[code]);
  return {
    ...(status ? { statusCode: status } : {}),
    responseTemplates: {
      'application/json': `{"error":{"code":"${code}","message":$context.error.messageString${details}},"requestId":"$context.requestId"}`,
    },
    responseParameters: { 'gatewayresponse.header.Content-Type': "'application/json'" },
  };
}

/** The API Gateway definition: the contract's document plus the x-amazon-apigateway-* extensions. */
export function apiGatewayDefinition(document: Json, options: GatewayDefinitionOptions): Json {
  const doc = structuredClone(document) as Json & { paths: Record<string, Record<string, Json>>; components: Json };
  const routes = options.routes ?? (ROUTES as readonly RouteDefinition[]);
  for (const route of routes) {
    const operation = doc.paths[route.path]?.[route.method];
    if (!operation) throw new Error(`the OpenAPI document has no ${route.method.toUpperCase()} ${route.path}`);
    operation['x-amazon-apigateway-integration'] = {
      type: 'aws_proxy',
      httpMethod: 'POST',
      uri: options.integrationUri(route),
      passthroughBehavior: 'when_no_match',
    };
    // Scopes are checked by the authorizer from the same route table; API Gateway takes no scopes on a custom scheme.
    operation.security = route.scope ? [{ [SECURITY_SCHEMES.oauth2]: [], [SECURITY_SCHEMES.apiKey]: [] }] : [];
  }
  const components = (doc.components ?? {}) as Json & { securitySchemes?: Json };
  components.securitySchemes = {
    ...(components.securitySchemes ?? {}),
    [SECURITY_SCHEMES.apiKey]: { type: 'apiKey', name: API_KEY_HEADER, in: 'header' },
    [SECURITY_SCHEMES.oauth2]: {
      type: 'apiKey',
      name: 'Authorization',
      in: 'header',
      'x-amazon-apigateway-authtype': 'custom',
      'x-amazon-apigateway-authorizer': {
        type: 'request',
        identitySource: 'method.request.header.Authorization, context.httpMethod, context.resourcePath',
        authorizerUri: options.authorizerUri,
        authorizerResultTtlInSeconds: options.authorizerCacheSeconds,
      },
    },
  };
  doc.components = components;
  // Every secured method requires a usage-plan key, and the authorizer supplies it (`usageIdentifierKey`, the key of
  // the token's own client): callers send only their token and cannot spend another client's quota.
  doc['x-amazon-apigateway-api-key-source'] = 'AUTHORIZER';
  doc['x-amazon-apigateway-request-validators'] = {
    [VALIDATOR]: { validateRequestBody: true, validateRequestParameters: true },
  };
  doc['x-amazon-apigateway-request-validator'] = VALIDATOR;
  doc['x-amazon-apigateway-gateway-responses'] = Object.fromEntries(
    Object.entries(GATEWAY_RESPONSES).map(([type, code]) => [type, gatewayResponse(type, code)]),
  );
  return doc;
}
