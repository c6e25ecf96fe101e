// Builds the OpenAPI documents from the zod contract: 3.1 for users and /openapi.json, 3.0 for API Gateway's import.
import {
  OpenAPIRegistry,
  OpenApiGeneratorV3,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
  zodToOpenAPIRegistry,
} from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { Transaction } from '../../../models/shared/contracts/transaction.js';
import { ERROR_STATUS, ErrorBody, type ErrorCode } from '../errors.js';
import {
  apiRoutes,
  apiScopes,
  DecisionRecord,
  FeedbackRequest,
  FeedbackResponse,
  HealthResponse,
  IngestRequest,
  IngestResponse,
  type PredictModel,
  PredictResponse,
  type RouteDefinition,
  ScoreResponse,
} from './api.js';

/** Component names of the shared schemas (routes referencing them get a `$ref`). */
const NAMED_SCHEMAS: readonly (readonly [string, z.ZodType])[] = [
  ['Error', ErrorBody],
  ['Transaction', Transaction],
  ['ScoreResponse', ScoreResponse],
  ['IngestRequest', IngestRequest],
  ['IngestResponse', IngestResponse],
  ['Label', FeedbackRequest],
  ['FeedbackResponse', FeedbackResponse],
  ['DecisionRecord', DecisionRecord],
  ['HealthResponse', HealthResponse],
  ['PredictResponse', PredictResponse],
];

// Names go into the library's own metadata registry rather than through `.openapi()`: that needs zod's prototype
// patched before the contract schemas are created, and the contract must not depend on this module.
for (const [refId, schema] of NAMED_SCHEMAS) zodToOpenAPIRegistry.add(schema, { _internal: { refId } });

/** Names of the security schemes in `components.securitySchemes`. */
export const SECURITY_SCHEMES = { oauth2: 'oauth2', apiKey: 'api_key' } as const;
/** Name of the error schema component every 4xx/5xx response references. */
export const ERROR_SCHEMA_NAME = 'Error';

export interface OpenApiOptions {
  /** OAuth2 token endpoint (the Cognito domain's `/oauth2/token`). @default '/oauth2/token' (relative to the server) */
  readonly tokenUrl?: string;
  /** Server URLs. @default - none (clients use the URL they fetched the document from) */
  readonly servers?: readonly string[];
  /** The API's version string. @default '1.0.0' */
  readonly version?: string;
  /** @default 'AIMS fraud scoring API' */
  readonly title?: string;
  /** The real-time models served: one POST /v1/models/<name>/predict each, with its scope. @default - none */
  readonly models?: readonly PredictModel[];
}

const ERROR_DESCRIPTIONS: Readonly<Record<ErrorCode, string>> = {
  validation_error: 'The request does not match the schema (details list each problem).',
  unauthorized: 'Missing or invalid token.',
  forbidden: 'The token lacks the scope this route needs.',
  not_found: 'No such resource.',
  conflict: 'The id was already used with a different body, or the same request is in progress.',
  payload_too_large: 'The body is too large.',
  throttled: 'Too many requests for the usage plan.',
  internal_error: 'Unexpected server error.',
  upstream_unavailable: 'A dependency is unavailable; retry with backoff.',
};

/** Error codes of a route's responses: its own plus what every (secured) route can return. */
export function errorCodesOf(route: RouteDefinition): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors);
  if (route.scope) {
    codes.add('unauthorized');
    codes.add('forbidden');
    codes.add('throttled');
  }
  codes.add('internal_error');
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b]);
}

function buildRegistry(options: OpenApiOptions): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  const error = ErrorBody;

  const scopes = apiScopes(options.models);
  registry.registerComponent('securitySchemes', SECURITY_SCHEMES.oauth2, {
    type: 'oauth2',
    description:
      'Cognito OAuth2 access token: client credentials for machines, authorization code + PKCE for people. Each route ' +
      "needs one scope; requests are metered on the usage plan key of the token's own client (no API key header).",
    flows: { clientCredentials: { tokenUrl: options.tokenUrl ?? '/oauth2/token', scopes } },
  });

  for (const route of apiRoutes(options.models)) {
    const responses: Record<string, ResponseConfig> = {
      [String(route.successStatus)]: {
        description: route.summary,
        content: { 'application/json': { schema: route.response } },
      },
    };
    for (const code of errorCodesOf(route)) {
      const status = String(ERROR_STATUS[code]);
      const existing = responses[status];
      responses[status] = {
        description: existing ? `${existing.description} ${ERROR_DESCRIPTIONS[code]}` : ERROR_DESCRIPTIONS[code],
        content: { 'application/json': { schema: error } },
      };
    }
    const config: RouteConfig = {
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      description: route.description,
      tags: [route.tag],
      // The token is the one credential: the authorizer names the usage-plan key of its client (AUTHORIZER source).
      security: route.scope ? [{ [SECURITY_SCHEMES.oauth2]: [route.scope] }] : [],
      request: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { query: route.query } : {}),
        ...(route.headers ? { headers: route.headers } : {}),
        ...(route.body ? { body: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
      },
      responses,
    };
    registry.registerPath(config);
  }
  return registry;
}

const definitions = (options: OpenApiOptions) => [
  ...NAMED_SCHEMAS.map(([, schema]) => schema),
  ...buildRegistry(options).definitions,
];

function info(options: OpenApiOptions) {
  return {
    title: options.title ?? 'AIMS fraud scoring API',
    version: options.version ?? '1.0.0',
    description: 'Real-time card-fraud scoring: score, ingest, feedback and audited decisions.',
  };
}

const servers = (options: OpenApiOptions) => (options.servers ?? []).map((url) => ({ url }));

/** The OpenAPI 3.1 document served to users (and at `/openapi.json` locally). */
export function openApiDocument31(options: OpenApiOptions = {}) {
  const generator = new OpenApiGeneratorV31(definitions(options));
  return generator.generateDocument({ openapi: '3.1.0', info: info(options), servers: servers(options) });
}

/** The OpenAPI 3.0 document API Gateway REST imports (the services stack adds the x-amazon-apigateway-* keys). */
export function openApiDocument30(options: OpenApiOptions = {}) {
  const generator = new OpenApiGeneratorV3(definitions(options));
  return generator.generateDocument({ openapi: '3.0.3', info: info(options), servers: servers(options) });
}
