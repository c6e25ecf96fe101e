// Middy building blocks for API Gateway REST (proxy integration) handlers: Powertools, zod input, one error mapper.
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import type { Actor } from './contracts/review.js';
import {
  DomainError,
  NotFoundError,
  PayloadTooLargeError,
  toDomainError,
  toErrorResponse,
  ValidationError,
  zodDetails,
} from './errors.js';
import { type Powertools, powertoolsMiddlewares } from './powertools.js';

/** The caller as the authorizer saw it (API Gateway passes the authorizer context through). */
export interface Caller {
  readonly clientId?: string;
  readonly scopes: readonly string[];
}

export interface HttpRequest<B, P> {
  readonly body: B;
  readonly path: P;
  readonly query: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly caller: Caller;
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
}

/** A reply with a status other than the route's default, or extra headers. */
export class HttpReply<T = unknown> {
  constructor(
    readonly statusCode: number,
    readonly body: T,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export interface HttpHandlerOptions<B extends z.ZodType | undefined, P extends z.ZodType | undefined> {
  readonly powertools: Powertools;
  /** Schema of the JSON body. @default - the body is ignored (GET routes) */
  readonly body?: B;
  /** Schema of the path parameters. @default - none */
  readonly path?: P;
  /** Status of a plain (non-HttpReply) result. @default 200 */
  readonly successStatus?: number;
  /** Largest accepted body in bytes (API Gateway caps at 10 MB). @default 1 MiB */
  readonly maxBodyBytes?: number;
  /** Extra middlewares run after Powertools and before the core (e.g. idempotency). @default - none */
  readonly middlewares?: readonly MiddlewareObj[];
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export type HttpHandler = MiddyfiedHandler<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

/** The request id clients see: API Gateway's, so a report can be matched with access logs. */
export function requestIdOf(event: Partial<APIGatewayProxyEvent> | undefined, context: Partial<Context>): string {
  return event?.requestContext?.requestId ?? context.awsRequestId ?? 'unknown';
}

/** Reads the authorizer context set by `lambdas/authorizer` (clientId, space-separated scopes). */
export function callerOf(event: APIGatewayProxyEvent): Caller {
  const authorizer = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const clientId = typeof authorizer?.clientId === 'string' ? authorizer.clientId : undefined;
  const scopes = typeof authorizer?.scopes === 'string' ? authorizer.scopes.split(' ').filter(Boolean) : [];
  return clientId ? { clientId, scopes } : { scopes };
}

/**
 * Who is calling, from the authorizer context: `principal` (a person's user name, or a machine client's id) when the
 * authorizer gives it, else the policy's principalId (the token's subject), else the client id. Undefined on a route
 * without an authorizer.
 */
export function actorOf(event: APIGatewayProxyEvent): Actor | undefined {
  const authorizer = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const clientId = text(authorizer?.clientId);
  if (!clientId) return undefined;
  const principal = text(authorizer?.principal) ?? text(authorizer?.principalId) ?? clientId;
  return { principal: principal.slice(0, 256), clientId: clientId.slice(0, 128) };
}

/** True when the actor is a person signed in through a client, not the client itself (client credentials). */
export const isPerson = (actor: Actor): boolean => actor.principal !== actor.clientId;

/** Parses the JSON body against `schema`: malformed JSON or schema failures become ValidationError with details. */
export function parseJsonBody<S extends z.ZodType>(
  event: APIGatewayProxyEvent,
  schema: S,
  maxBytes: number,
): z.output<S> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new PayloadTooLargeError(`request body is ${bytes} bytes; the limit is ${maxBytes}`);
  if (text.trim() === '') throw new ValidationError('request body is required (JSON)');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('request body is not valid JSON', [
      { path: '', code: 'invalid_json', message: String((err as Error).message) },
    ]);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new ValidationError('request body does not match the schema', zodDetails(result.error));
  return result.data;
}

/**
 * The error mapper: the last middleware, so its onError runs first and turns any error into the one error
 * JSON. 5xx are logged as errors with the cause; 4xx at info (they are the caller's, not ours).
 */
export function httpErrorMapper(pt: Powertools): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      if (request.response !== undefined && request.response !== null) return;
      const requestId = requestIdOf(request.event, request.context);
      const response = toErrorResponse(request.error, requestId);
      const domain = toDomainError(request.error);
      if (response.statusCode >= 500) {
        pt.logger.error('request failed', { requestId, error: request.error as Error });
        pt.metrics.addMetric('ServerError', 'Count', 1);
      } else {
        pt.logger.info('request rejected', {
          requestId,
          code: domain instanceof DomainError ? domain.code : 'unknown',
          message: domain?.message,
        });
        pt.metrics.addMetric('ClientError', 'Count', 1);
      }
      request.response = response;
    },
  };
}

/**
 * A REST proxy handler: Powertools injection, body and path validation, JSON response, error mapper last.
 * `core` gets typed input and returns the response body (or an HttpReply for another status).
 */
export function httpHandler<B extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
  options: HttpHandlerOptions<B, P>,
  core: (request: HttpRequest<Out<B>, Out<P>>) => Promise<unknown>,
): HttpHandler {
  const maxBytes = options.maxBodyBytes ?? 1024 * 1024;
  const successStatus = options.successStatus ?? 200;
  const base = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const requestId = requestIdOf(event, context);
    options.powertools.logger.appendKeys({ requestId });
    const body = (options.body ? parseJsonBody(event, options.body, maxBytes) : undefined) as Out<B>;
    let path = undefined as Out<P>;
    if (options.path) {
      const result = options.path.safeParse(event.pathParameters ?? {});
      if (!result.success) throw new ValidationError('invalid path parameters', zodDetails(result.error));
      path = result.data as Out<P>;
    }
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
    const result = await core({ body, path, query, requestId, caller: callerOf(event), event, context });
    const reply = result instanceof HttpReply ? result : new HttpReply(successStatus, result);
    return {
      statusCode: reply.statusCode,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...reply.headers },
      body: JSON.stringify(reply.body),
    };
  };
  let handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>(base);
  for (const m of powertoolsMiddlewares(options.powertools)) handler = handler.use(m);
  for (const m of options.middlewares ?? []) handler = handler.use(m);
  return handler.use(httpErrorMapper(options.powertools));
}

/**
 * One Lambda handler for a service serving several routes: dispatches on `<METHOD> <resource template>` as API Gateway
 * names them; an unknown route gets the 404 error JSON.
 */
export function routeDispatcher(
  service: string,
  powertools: Powertools,
  routes: Readonly<Record<string, HttpHandler>>,
): (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult> {
  const unknown = httpHandler({ powertools }, async ({ event }) => {
    throw new NotFoundError(`no ${service} route ${event.httpMethod} ${event.resource}`);
  });
  return (event, context) => (routes[`${event.httpMethod.toUpperCase()} ${event.resource}`] ?? unknown)(event, context);
}
