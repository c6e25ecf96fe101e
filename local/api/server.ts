// The local API Gateway: serves the template's REST API (authorizer, API keys, usage plans, validation, proxy events).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PredictModel } from '../../lambdas/shared/contracts/api.js';
import { openApiDocument31 } from '../../lambdas/shared/contracts/openapi.js';
import { loadManifest } from '../../models/shared/manifest.js';
import { loadModule } from '../../models/shared/module.js';
import { templateModels } from '../template/models.js';
import type { Closable, FunctionInvoker, InvokeResult, LocalTemplate } from '../types.js';
import {
  type ClientsFile,
  issuerUrl,
  type LocalCredentials,
  LocalIssuer,
  localCredentials,
  type MintTokenOptions,
  mintToken,
  syncClients,
} from './cognito.js';
import { type ConsoleFiles, consoleFiles, localConsoleConfig } from './console.js';
import { docsFiles } from './docs.js';
import { type AuthorizerSpec, type OperationSpec, type RestApiDefinition, restApiDefinition } from './model.js';
import { evaluatePolicy, type PolicyDecision } from './policy.js';
import { type GatewayError, renderGatewayResponse } from './responses.js';
import { type RouteMatch, Router } from './router.js';
import { TokenBucket, UsagePlans } from './usage.js';
import { RequestValidator } from './validation.js';

/** Where the local API serves API Gateway's control-plane calls (GetApiKeys): functions get
 *  `AWS_ENDPOINT_URL_API_GATEWAY` = `apiGatewayEndpoint(apiUrl)`. */
export const API_GATEWAY_CONTROL_PATH = '/_aws/apigateway';
export const apiGatewayEndpoint = (apiUrl: string): string => `${apiUrl.replace(/\/$/, '')}${API_GATEWAY_CONTROL_PATH}`;

/** API Gateway's payload limit for REST APIs. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** API Gateway's default (and, for REST, maximum without a quota increase) integration timeout. */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;
/** API Gateway keeps at most this many cached authorizer results (bounded so a token flood cannot grow memory). */
const AUTHORIZER_CACHE_MAX = 10_000;

export interface LocalApiOptions {
  readonly template: LocalTemplate;
  /** Runs the integration and authorizer functions (the local Lambda runtime). */
  readonly invoker: FunctionInvoker;
  /** The local stage's data directory; the API keeps keys, clients, the signing key and quotas in `<dataDir>/api/`. */
  readonly dataDir: string;
  /** @default 3000 (0 = ephemeral; then the template must have been loaded with the resulting URL) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Enforce the stage throttle and usage-plan throttles and quotas. @default true (as API Gateway does) */
  readonly enforceLimits?: boolean;
  /** @default 29000 */
  readonly integrationTimeoutMs?: number;
  /** The repository root, whose `models/<name>/` hold the modules of the template's predict routes. @default this
   *  checkout */
  readonly root?: string;
  /** The folder holding those model folders. @default `<root>/models` */
  readonly modelsDir?: string;
  /** The built console served at /console/. @default <root>/console/dist */
  readonly consoleDir?: string;
}

const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The real-time models whose predict function the template has (role `predict`), with their modules' request schemas:
 * what /openapi.json documents beside the fixed routes, as the deployed API's definition does.
 */
async function predictModelsOf(template: LocalTemplate, root: string, modelsDir?: string): Promise<PredictModel[]> {
  const models = templateModels(template, root, modelsDir).filter((m) => m.withRole('predict').length > 0);
  return Promise.all(
    models.map(async (m) => ({ name: m.name, request: (await loadModule(m.dir, loadManifest(m.dir))).request })),
  );
}

export interface AuthorizerCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

export interface LocalApi extends Closable {
  /** `http://<host>:<port>` — the API's routes are served at its root (and under `/<stage>/`). */
  readonly url: string;
  readonly port: number;
  readonly definition: RestApiDefinition;
  /** Token URL of the (first) user pool's local issuer. */
  readonly tokenUrl: string;
  credentials(): LocalCredentials;
  mintToken(options: MintTokenOptions): Promise<string>;
  authorizerCache(): AuthorizerCacheStats;
  /** Remaining quota per usage plan of an API key value. */
  remainingQuota(apiKey: string): Record<string, number>;
  /** Requests accepted and not yet answered. */
  inFlight(): number;
  /** Drains: new requests get 503 (the error JSON, `connection: close`), requests in flight answer up to `drainMs`
   *  (then 503), and once all is quiet the listener and the connections close. @default drainMs 3000 */
  close(drainMs?: number): Promise<void>;
}

/** How long a closing API waits for requests in flight: inside the stage's 5 s shutdown budget. */
export const DEFAULT_DRAIN_MS = 3_000;
/** A closing API waits this long without a new request before it closes its connections. */
const QUIET_MS = 150;

interface CachedAuthorization {
  readonly expires: number;
  readonly principalId: string;
  readonly policyDocument: unknown;
  readonly context: Record<string, string | number | boolean>;
  readonly usageIdentifierKey?: string;
}

class GatewayFailure extends Error {
  constructor(readonly error: GatewayError) {
    super(error.message);
  }
}

const fail = (error: GatewayError): never => {
  throw new GatewayFailure(error);
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface RequestParts {
  readonly requestId: string;
  readonly method: string;
  /** Path without the stage prefix (what the proxy event's `path` is). */
  readonly path: string;
  /** Path as received (requestContext.path). */
  readonly rawPath: string;
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly query: Record<string, string> | null;
  readonly multiValueQuery: Record<string, string[]> | null;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly startedAt: number;
}

function headersOf(req: IncomingMessage): { single: Record<string, string>; multi: Record<string, string[]> } {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  const seen = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    // API Gateway keeps the client's header case (first spelling seen); the last value wins in `headers`.
    const lower = name.toLowerCase();
    const existing = seen.get(lower) ?? name;
    seen.set(lower, existing);
    single[existing] = value;
    const list = multi[existing];
    if (list) list.push(value);
    else multi[existing] = [value];
  }
  return { single, multi };
}

function header(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts the local API Gateway (and the local Cognito issuer) for the template's REST API. */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const definition = restApiDefinition(options.template);
  const host = options.host ?? '127.0.0.1';
  const router = new Router(definition.operations);
  const validator = new RequestValidator(definition.body);
  const timeoutMs = options.integrationTimeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS;
  const enforce = options.enforceLimits ?? true;
  const usage = new UsagePlans(options.dataDir, definition, enforce);
  const stageBucket =
    enforce && definition.stageThrottle
      ? new TokenBucket(definition.stageThrottle.rateLimit, definition.stageThrottle.burstLimit)
      : undefined;
  const cache = new Map<string, CachedAuthorization>();
  let hits = 0;
  let misses = 0;
  // Filled in once the server listens (the issuer URL depends on the port).
  let issuer: LocalIssuer | undefined;
  let openApiJson = '';
  const docs = docsFiles();
  let consoleSite: ConsoleFiles | undefined;

  // Shutdown (see close): once draining, new requests get a 503 gateway error and every answer closes its connection.
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  let onIdle: (() => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (draining) {
      res.setHeader('connection', 'close');
      sendGatewayError(res, randomUUID(), {
        type: 'DEFAULT_5XX',
        status: 503,
        message: 'The local stage is shutting down',
      });
      return;
    }
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (inFlight.size === 0) onIdle?.();
    });
    handle(req, res).catch((error: unknown) => {
      // Only a bug in the emulator gets here; answer like API Gateway's internal error and say why on stderr.
      console.error('local API: unexpected error', error);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal server error' }));
      } else res.destroy();
    });
  });
  // Keep-alive so benchmarks and SDK clients reuse connections, as they do against API Gateway.
  server.keepAliveTimeout = 65_000;

  function send(
    res: ServerResponse,
    status: number,
    headers: Record<string, string | string[]>,
    body: Buffer | string,
  ) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'content-length': String(buf.length) });
    res.end(buf);
  }

  function sendGatewayError(res: ServerResponse, requestId: string, error: GatewayError): void {
    const r = renderGatewayResponse(definition.gatewayResponses, error, { requestId });
    send(res, r.status, { ...r.headers, 'x-amzn-requestid': requestId }, r.body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const startedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === 'too-large') {
      res.setHeader('connection', 'close');
      sendGatewayError(res, requestId, { type: 'REQUEST_TOO_LARGE', message: 'Request Too Long' });
      return;
    }
    let path = url.pathname;
    let match = router.match(method, path);
    const stagePrefix = `/${definition.stageName}`;
    if (!match && (path === stagePrefix || path.startsWith(`${stagePrefix}/`))) {
      path = path.slice(stagePrefix.length) || '/';
      match = router.match(method, path);
    }
    if (!match) {
      if (await serveLocalExtras(req, res, url.pathname, body)) return;
      sendGatewayError(res, requestId, {
        type: 'MISSING_AUTHENTICATION_TOKEN',
        message: 'Missing Authentication Token',
      });
      return;
    }
    const { single, multi } = headersOf(req);
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) {
      query[k] = v;
      const list = multiQuery[k];
      if (list) list.push(v);
      else multiQuery[k] = [v];
    }
    const hasQuery = Object.keys(query).length > 0;
    const parts: RequestParts = {
      requestId,
      method,
      path,
      rawPath: url.pathname,
      headers: single,
      multiValueHeaders: multi,
      query: hasQuery ? query : null,
      multiValueQuery: hasQuery ? multiQuery : null,
      body,
      sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      startedAt,
    };
    try {
      const r = await execute(parts, match);
      send(res, r.status, r.headers, r.body);
    } catch (error) {
      if (error instanceof GatewayFailure) sendGatewayError(res, requestId, error.error);
      else throw error;
    }
  }

  function methodArn(method: string, path: string): string {
    return `arn:aws:execute-api:${definition.region}:${definition.account}:${definition.apiId}/${definition.stageName}/${method}${path}`;
  }

  function requestContext(p: RequestParts, op: OperationSpec, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      accountId: definition.account,
      apiId: definition.apiId,
      resourceId: op.operationId ?? op.resourcePath,
      resourcePath: op.resourcePath,
      httpMethod: p.method,
      path: `/${definition.stageName}${p.path}`,
      stage: definition.stageName,
      requestId: p.requestId,
      extendedRequestId: p.requestId,
      requestTime: new Date(p.startedAt).toUTCString(),
      requestTimeEpoch: p.startedAt,
      protocol: 'HTTP/1.1',
      domainName: header(p.headers, 'host') ?? host,
      identity: {
        sourceIp: p.sourceIp,
        userAgent: header(p.headers, 'user-agent') ?? null,
        accountId: null,
        caller: null,
        user: null,
        userArn: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        accessKey: null,
        apiKey: null,
        apiKeyId: null,
        ...((extra.identity as Record<string, unknown> | undefined) ?? {}),
      },
      ...(extra.authorizer ? { authorizer: extra.authorizer } : {}),
    };
  }

  /** The identity-source values, or undefined when a header/query source is missing (→ 401 without invoking). */
  function identityValues(a: AuthorizerSpec, p: RequestParts, op: OperationSpec): string[] | undefined {
    const values: string[] = [];
    for (const source of a.identitySource) {
      let v: string | undefined;
      const h = /^method\.request\.header\.(.+)$/.exec(source);
      const q = /^method\.request\.querystring\.(.+)$/.exec(source);
      if (h?.[1]) v = header(p.headers, h[1]);
      else if (q?.[1]) v = p.query?.[q[1]];
      else if (source === 'context.httpMethod') v = p.method;
      else if (source === 'context.resourcePath') v = op.resourcePath;
      else if (source === 'context.path') v = p.path;
      else if (source.startsWith('stageVariables.')) v = undefined;
      else v = '';
      if (v === undefined || v === '') {
        if (h || q || source.startsWith('stageVariables.')) return undefined;
      }
      values.push(v ?? '');
    }
    return values;
  }

  async function authorize(a: AuthorizerSpec, p: RequestParts, m: RouteMatch): Promise<CachedAuthorization> {
    const op = m.operation;
    const identity = identityValues(a, p, op);
    if (!identity) return fail({ type: 'UNAUTHORIZED', message: 'Unauthorized' });
    const arn = methodArn(p.method, p.path);
    const cacheKey = a.ttlSeconds > 0 ? `${a.name}\u0000${identity.join('\u0000')}` : undefined;
    const now = Date.now();
    const cached = cacheKey ? cache.get(cacheKey) : undefined;
    let result: CachedAuthorization;
    if (cached && cached.expires > now) {
      hits++;
      result = cached;
    } else {
      misses++;
      const event =
        a.type === 'token'
          ? { type: 'TOKEN', authorizationToken: identity[0] ?? '', methodArn: arn }
          : {
              type: 'REQUEST',
              methodArn: arn,
              resource: op.resourcePath,
              path: p.path,
              httpMethod: p.method,
              headers: p.headers,
              multiValueHeaders: p.multiValueHeaders,
              queryStringParameters: p.query ?? {},
              multiValueQueryStringParameters: p.multiValueQuery ?? {},
              pathParameters: m.pathParameters,
              stageVariables: {},
              requestContext: requestContext(p, op, {}),
            };
      const invoked = await withTimeout(options.invoker.invoke(a.functionArn, event), timeoutMs);
      if (invoked === 'timeout' || !invoked.ok) {
        if (invoked !== 'timeout' && invoked.errorMessage === 'Unauthorized') {
          return fail({ type: 'UNAUTHORIZED', message: 'Unauthorized' });
        }
        const why = invoked === 'timeout' ? 'timed out' : `${invoked.errorType}: ${invoked.errorMessage}`;
        console.error(`local API: authorizer ${a.functionArn} failed (${why}) for ${p.requestId}`);
        return fail({ type: 'AUTHORIZER_CONFIGURATION_ERROR', message: 'Authorizer error' });
      }
      result = parseAuthorizerResult(invoked, now + a.ttlSeconds * 1000, a.functionArn);
      if (cacheKey) {
        if (cache.size >= AUTHORIZER_CACHE_MAX) cache.delete(cache.keys().next().value as string);
        cache.set(cacheKey, result);
      }
    }
    let decision: PolicyDecision;
    try {
      decision = evaluatePolicy(result.policyDocument, arn);
    } catch (error) {
      console.error(`local API: authorizer ${a.functionArn} returned an invalid policy: ${(error as Error).message}`);
      return fail({ type: 'AUTHORIZER_CONFIGURATION_ERROR', message: 'Authorizer error' });
    }
    if (decision === 'deny') {
      return fail({
        type: 'ACCESS_DENIED',
        message: 'User is not authorized to access this resource with an explicit deny',
      });
    }
    if (decision === 'implicit-deny') {
      return fail({ type: 'ACCESS_DENIED', message: 'User is not authorized to access this resource' });
    }
    return result;
  }

  function parseAuthorizerResult(
    invoked: InvokeResult & { ok: true },
    expires: number,
    fn: string,
  ): CachedAuthorization {
    const payload = invoked.payload;
    const bad = (why: string): never => {
      console.error(`local API: authorizer ${fn} returned an invalid response: ${why}`);
      return fail({ type: 'AUTHORIZER_CONFIGURATION_ERROR', message: 'Authorizer error' });
    };
    if (!isRecord(payload)) return bad('not an object');
    if (typeof payload.principalId !== 'string') return bad('principalId is missing');
    if (!isRecord(payload.policyDocument)) return bad('policyDocument is missing');
    const context: Record<string, string | number | boolean> = {};
    if (payload.context !== undefined && payload.context !== null) {
      if (!isRecord(payload.context)) return bad('context is not an object');
      for (const [k, v] of Object.entries(payload.context)) {
        // API Gateway only passes string, number and boolean context values.
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          return bad(`context.${k} is not a string, number or boolean`);
        }
        context[k] = v;
      }
    }
    return {
      expires,
      principalId: payload.principalId,
      policyDocument: payload.policyDocument,
      context,
      ...(typeof payload.usageIdentifierKey === 'string' ? { usageIdentifierKey: payload.usageIdentifierKey } : {}),
    };
  }

  function validate(p: RequestParts, op: OperationSpec): void {
    const v = op.validator;
    if (!v) return;
    if (v.validateRequestParameters) {
      const missing = op.parameters
        .filter((param) => param.required)
        .filter((param) =>
          param.in === 'query'
            ? !p.query?.[param.name]
            : param.in === 'header'
              ? !header(p.headers, param.name)
              : false,
        )
        .map((param) => param.name);
      if (missing.length > 0) {
        fail({
          type: 'BAD_REQUEST_PARAMETERS',
          message: `Missing required request parameters: [${missing.join(', ')}]`,
          validationErrorString: `Missing required request parameters: [${missing.join(', ')}]`,
        });
      }
    }
    if (v.validateRequestBody && Object.keys(op.bodySchemas).length > 0) {
      const contentType = header(p.headers, 'content-type');
      // API Gateway treats a request without Content-Type as application/json.
      const mediaType = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? 'application/json';
      if (!validator.hasModel(op, mediaType)) {
        fail({
          type: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'Unsupported Media Type',
          validationErrorString: `[no model for Content-Type ${mediaType}; expected ${Object.keys(op.bodySchemas).join(', ')}]`,
        });
      }
      const result = validator.validateBody(op, mediaType, p.body.toString('utf8'));
      if (!result.ok) {
        fail({ type: 'BAD_REQUEST_BODY', message: 'Invalid request body', validationErrorString: result.errorString });
      }
    }
  }

  async function execute(
    p: RequestParts,
    m: RouteMatch,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const op = m.operation;
    if (stageBucket && !stageBucket.take()) fail({ type: 'THROTTLED', message: 'Too Many Requests' });
    const auth = op.authorizer ? await authorize(op.authorizer, p, m) : undefined;
    let apiKey: { value: string; id: string } | undefined;
    if (op.apiKeyRequired) {
      const value =
        definition.apiKeySource === 'AUTHORIZER' ? auth?.usageIdentifierKey : header(p.headers, 'x-api-key');
      const decision = usage.check(value);
      if (!decision.ok) {
        const message =
          decision.type === 'INVALID_API_KEY'
            ? 'Forbidden'
            : decision.type === 'THROTTLED'
              ? 'Too Many Requests'
              : 'Limit Exceeded';
        fail({ type: decision.type, message });
      } else apiKey = { value: decision.key.value, id: decision.key.id };
    }
    validate(p, op);

    const text = p.body.length > 0 ? p.body.toString('utf8') : null;
    const event = {
      resource: op.resourcePath,
      path: p.path,
      httpMethod: p.method,
      headers: Object.keys(p.headers).length > 0 ? p.headers : null,
      multiValueHeaders: Object.keys(p.multiValueHeaders).length > 0 ? p.multiValueHeaders : null,
      queryStringParameters: p.query,
      multiValueQueryStringParameters: p.multiValueQuery,
      pathParameters: Object.keys(m.pathParameters).length > 0 ? m.pathParameters : null,
      stageVariables: null,
      requestContext: requestContext(p, op, {
        identity: apiKey ? { apiKey: apiKey.value, apiKeyId: apiKey.id } : {},
        ...(auth ? { authorizer: { ...auth.context, principalId: auth.principalId, integrationLatency: 0 } } : {}),
      }),
      body: text,
      isBase64Encoded: false,
    };
    const invoked = await withTimeout(options.invoker.invoke(op.functionArn, event), timeoutMs);
    if (invoked === 'timeout') return fail({ type: 'INTEGRATION_TIMEOUT', message: 'Endpoint request timed out' });
    if (!invoked.ok) {
      console.error(
        `local API: ${op.functionArn} failed for ${p.requestId}: ${invoked.errorType}: ${invoked.errorMessage}`,
      );
      return fail({ type: 'DEFAULT_5XX', message: 'Internal server error', status: 502 });
    }
    return proxyResponse(invoked.payload, p.requestId, op.functionArn);
  }

  function proxyResponse(
    payload: unknown,
    requestId: string,
    fn: string,
  ): { status: number; headers: Record<string, string | string[]>; body: Buffer } {
    const malformed = (why: string): never => {
      console.error(`local API: malformed Lambda proxy response from ${fn} (${why}) for ${requestId}`);
      return fail({ type: 'DEFAULT_5XX', message: 'Internal server error', status: 502 });
    };
    if (!isRecord(payload)) return malformed('not an object');
    const status = payload.statusCode === undefined ? 200 : Number(payload.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599)
      return malformed(`statusCode ${String(payload.statusCode)}`);
    const headers: Record<string, string | string[]> = {};
    if (payload.headers !== undefined && payload.headers !== null) {
      if (!isRecord(payload.headers)) return malformed('headers is not an object');
      for (const [k, v] of Object.entries(payload.headers)) headers[k.toLowerCase()] = String(v);
    }
    if (payload.multiValueHeaders !== undefined && payload.multiValueHeaders !== null) {
      if (!isRecord(payload.multiValueHeaders)) return malformed('multiValueHeaders is not an object');
      for (const [k, v] of Object.entries(payload.multiValueHeaders)) {
        if (!Array.isArray(v)) return malformed(`multiValueHeaders.${k} is not a list`);
        headers[k.toLowerCase()] = v.map(String);
      }
    }
    if (payload.body !== undefined && payload.body !== null && typeof payload.body !== 'string') {
      return malformed('body is not a string');
    }
    const bodyText = typeof payload.body === 'string' ? payload.body : '';
    const body = payload.isBase64Encoded === true ? Buffer.from(bodyText, 'base64') : Buffer.from(bodyText);
    headers['content-type'] ??= 'application/json';
    headers['x-amzn-requestid'] = requestId;
    return { status, headers, body };
  }

  async function serveLocalExtras(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Buffer,
  ): Promise<boolean> {
    if (path.startsWith('/cognito/') && issuer) return issuer.handle(req, res, path, body.toString('utf8'));
    if (consoleSite?.handle(req, res, path)) return true;
    if (req.method !== 'GET') return false;
    if (path === `${API_GATEWAY_CONTROL_PATH}/apikeys`) {
      // API Gateway's GetApiKeys for the authorizer's key lookup: loopback only, and only SigV4-signed calls, as the
      // SDKs make them (the local stage gives functions fake credentials; it checks the scheme, not the signature).
      if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? ''))) {
        send(res, 403, { 'content-type': 'application/json' }, '{"message":"Missing Authentication Token"}');
        return true;
      }
      const query = new URL(req.url ?? '/', 'http://local').searchParams;
      const keys = usage.getApiKeys(query.get('customerId') ?? undefined);
      const shown = query.get('includeValues') === 'true' ? keys : { item: keys.item.map(({ value: _, ...k }) => k) };
      send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(shown));
      return true;
    }
    if (path === '/openapi.json') {
      send(res, 200, { 'content-type': 'application/json' }, openApiJson);
      return true;
    }
    if (docs.handle(req, res, path)) return true;
    return false;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  try {
    // The authorizer verifies against the issuer the template resolved; it must be this server, or no token verifies.
    for (const pool of options.template.ofType('AWS::Cognito::UserPool')) {
      const declared = pool.attributes.ProviderURL;
      const served = issuerUrl(url, pool.ref);
      if (declared !== undefined && declared !== served) {
        throw new Error(
          `user pool ${pool.logicalId} resolves its issuer to ${declared}, but the local API serves it at ${served}: ` +
            `load the template with apiBaseUrl '${url}' (or start the API on the port the template was loaded with)`,
        );
      }
    }
    const clients: ClientsFile = syncClients(options.dataDir, definition, url, (c) => usage.valueForClient(c));
    issuer = await LocalIssuer.create(options.dataDir, clients);
    const firstPool = definition.userPools[0];
    const tokenUrl = firstPool ? `${issuerUrl(url, firstPool)}/oauth2/token` : '';
    const models = await predictModelsOf(options.template, options.root ?? REPOSITORY_ROOT, options.modelsDir);
    const doc = openApiDocument31({ servers: [url], models, ...(tokenUrl ? { tokenUrl } : {}) });
    openApiJson = JSON.stringify(doc, null, 2);
    consoleSite = consoleFiles(
      options.consoleDir ?? join(REPOSITORY_ROOT, 'console', 'dist'),
      localConsoleConfig(options.template, url),
    );

    return {
      url,
      port,
      definition,
      tokenUrl,
      credentials: () => localCredentials(options.dataDir),
      mintToken: (o) => mintToken(options.dataDir, o),
      authorizerCache: () => ({ hits, misses, size: cache.size }),
      remainingQuota: (apiKey) => usage.remaining(apiKey),
      inFlight: () => inFlight.size,
      async close(drainMs = DEFAULT_DRAIN_MS) {
        // Answer everything until the end (new requests get a 503 with `connection: close`) and close the listener
        // only then: Node's server.close() also drops idle keep-alive connections, and a request already on the
        // wire over one of them would be reset instead of answered.
        draining = true;
        const deadline = Date.now() + drainMs;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        // Wait for what is in flight, then for a quiet moment: a keep-alive client may send its next request right
        // after an answer, and it gets its 503 rather than a closed socket.
        let lastActivity = Date.now();
        server.on('request', () => {
          lastActivity = Date.now();
        });
        while (Date.now() < deadline && (inFlight.size > 0 || Date.now() - lastActivity < QUIET_MS)) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            onIdle = resolve;
            timer = setTimeout(resolve, Math.min(QUIET_MS, Math.max(0, deadline - Date.now())));
          }).finally(() => clearTimeout(timer));
          onIdle = undefined;
        }
        for (const res of inFlight) {
          if (res.headersSent) continue;
          res.setHeader('connection', 'close');
          sendGatewayError(res, randomUUID(), {
            type: 'DEFAULT_5XX',
            status: 503,
            message: 'The local stage is shutting down',
          });
        }
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        usage.close();
      },
    };
  } catch (error) {
    usage.close();
    server.close();
    throw error;
  }
}
