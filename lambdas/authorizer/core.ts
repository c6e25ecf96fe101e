// The authorization decision: a verified Cognito access token → an IAM policy over the routes its scopes allow.
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, PolicyDocument } from 'aws-lambda';
import { findRoute, matchRoute, ROUTES, type RouteDefinition } from '../shared/contracts/api.js';
import { GROUPS_CLAIM, scopesOfGroups } from '../shared/contracts/people.js';

/** API Gateway turns exactly this error message into a 401. */
export const UNAUTHORIZED = 'Unauthorized';

/** Port: verifies a JWT's signature, issuer and expiry, returning its claims (throws when it does not verify). */
export interface TokenVerifier {
  verify(token: string): Promise<Record<string, unknown>>;
}

/** Port: the usage-plan API key of an app client (API Gateway meters the request on it), if the client has one. */
export interface ApiKeyDirectory {
  keyOf(clientId: string): Promise<string | undefined>;
}

export interface AuthorizerConfig {
  /** App client ids whose tokens are accepted, or '*' for any client of the issuer. */
  readonly allowedClientIds: '*' | readonly string[];
  /** The API's routes with their scopes (`apiRoutes(models)`: the fixed table and each model's predict route).
   *  @default ROUTES */
  readonly routes?: readonly RouteDefinition[];
  /** Where each client's API key is found: the result names it (`usageIdentifierKey`, the API's AUTHORIZER key
   *  source), and a client without a key is refused. @default - no key in the result (HEADER key source) */
  readonly apiKeys?: ApiKeyDirectory;
}

/** Why a request was refused with 401, for the log (the caller only ever sees "Unauthorized"). */
export class UnauthorizedReason extends Error {
  override readonly name = 'UnauthorizedReason';
}

/** `Bearer <token>` from the Authorization header (any case), or undefined. */
export function bearerToken(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
): string | undefined {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'authorization' || !value) continue;
    const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(value);
    return m?.[1];
  }
  return undefined;
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path…}` → its parts. */
export function parseMethodArn(methodArn: string): { base: string; method: string; path: string } {
  const m = /^(arn:[^:]+:execute-api:[^:]+:[^:]+:[^/]+\/[^/]+)\/([A-Z*]+)(\/.*)?$/.exec(methodArn);
  if (!m) throw new Error(`unexpected methodArn '${methodArn}'`);
  return { base: m[1] as string, method: m[2] as string, path: m[3] ?? '/' };
}

/** The execute-api resource of a route: path parameters become `*`. */
export function routeResource(base: string, route: RouteDefinition): string {
  return `${base}/${route.method.toUpperCase()}${route.path.replace(/\{[^}]+\}/g, '*')}`;
}

/**
 * A policy that allows every secured route the scopes cover and denies the rest. Covering all routes (not just
 * this methodArn) keeps API Gateway's authorizer cache correct when the same token calls another route.
 */
export function policyFor(
  methodArn: string,
  scopes: ReadonlySet<string>,
  routes: readonly RouteDefinition[] = ROUTES,
): PolicyDocument {
  const { base } = parseMethodArn(methodArn);
  const secured = routes.filter((r) => r.scope !== null);
  const allowed = secured.filter((r) => r.scope && scopes.has(r.scope)).map((r) => routeResource(base, r));
  const denied = secured.filter((r) => !r.scope || !scopes.has(r.scope)).map((r) => routeResource(base, r));
  const statements: PolicyDocument['Statement'] = [];
  if (allowed.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: allowed });
  if (denied.length > 0) statements.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: denied });
  return { Version: '2012-10-17', Statement: statements };
}

/** The route being called, from the resource template (REQUEST authorizers get it) or else the methodArn. */
export function routeOf(
  event: APIGatewayRequestAuthorizerEvent,
  routes: readonly RouteDefinition[] = ROUTES,
): RouteDefinition | undefined {
  if (event.resource && event.httpMethod) {
    const route = findRoute(event.httpMethod, event.resource, routes);
    if (route) return route;
  }
  const { method, path } = parseMethodArn(event.methodArn);
  return matchRoute(method, path, routes);
}

/**
 * The scopes a token may use. A person's token (it has `username`; client-credentials tokens do not) gets only what
 * the person's groups grant, whatever the console's client asked for: Cognito puts every requested scope of the
 * client in the token, and narrowing it there would need a pre-token-generation trigger (an Essentials feature).
 */
export function effectiveScopes(claims: Record<string, unknown>): Set<string> {
  const scopes = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []);
  if (typeof claims.username !== 'string') return scopes;
  const raw = claims[GROUPS_CLAIM];
  const allowed = scopesOfGroups(Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : []);
  return new Set([...scopes].filter((s) => allowed.has(s)));
}

/**
 * Authorizes one request. Missing or invalid token, or a client without an API key → throws Error('Unauthorized')
 * (401); a valid token without the route's scope → a policy that denies this route (403). Context carries clientId,
 * the scopes and the principal (a person's user name, else the client id); `usageIdentifierKey` is the client's own
 * API key, so every caller is metered as itself and sends no x-api-key.
 */
export async function authorize(
  event: APIGatewayRequestAuthorizerEvent,
  verifier: TokenVerifier,
  config: AuthorizerConfig,
  onRefused?: (reason: string) => void,
): Promise<APIGatewayAuthorizerResult> {
  const refuse = (reason: string): never => {
    onRefused?.(reason);
    throw new Error(UNAUTHORIZED);
  };
  const token = bearerToken(event.headers);
  if (!token) return refuse('no bearer token in the Authorization header');

  let claims: Record<string, unknown>;
  try {
    claims = await verifier.verify(token);
  } catch (error) {
    if (error instanceof UnauthorizedReason) return refuse(error.message);
    throw error;
  }
  if (claims.token_use !== 'access') return refuse(`token_use is '${String(claims.token_use)}', expected 'access'`);
  const clientId = claims.client_id;
  if (typeof clientId !== 'string' || clientId === '') return refuse('token has no client_id');
  if (config.allowedClientIds !== '*' && !config.allowedClientIds.includes(clientId)) {
    return refuse(`client ${clientId} is not allowed`);
  }
  const apiKey = config.apiKeys ? await config.apiKeys.keyOf(clientId) : undefined;
  if (config.apiKeys && !apiKey) return refuse(`client ${clientId} has no API key`);
  const scopes = effectiveScopes(claims);
  const principal = typeof claims.username === 'string' && claims.username ? claims.username : clientId;
  const route = routeOf(event, config.routes);
  const policy = policyFor(event.methodArn, scopes, config.routes);
  const principalId = typeof claims.sub === 'string' && claims.sub ? claims.sub : clientId;
  if (!route || (route.scope && !scopes.has(route.scope))) {
    onRefused?.(route ? `client ${clientId} lacks scope ${route.scope}` : `no route for ${event.methodArn}`);
    // The route-wide policy already denies it, but say so explicitly for this ARN even if the route is unknown.
    policy.Statement.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn });
  }
  return {
    principalId,
    policyDocument: policy,
    context: { clientId, scopes: [...scopes].join(' '), principal },
    ...(apiKey ? { usageIdentifierKey: apiKey } : {}),
  };
}
