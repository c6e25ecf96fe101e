// Assembles the REQUEST authorizer: Powertools around the core, the verifier built once per cold start.
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { z } from 'zod';
import { apiGatewayClient } from '../shared/aws.js';
import { apiRoutes, ModelName } from '../shared/contracts/api.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { cachedApiKeys, getApiKeysDirectory } from './api-keys.js';
import { type AuthorizerConfig, authorize, type TokenVerifier } from './core.js';
import { jwtTokenVerifier } from './verifier.js';

export const AuthorizerEnv = CommonEnv.extend({
  JWT_ISSUER: z.url(),
  JWT_JWKS_URI: z.url(),
  /** Comma-separated app client ids, or '*' (any client of the pool that owns an API key). */
  JWT_AUDIENCE_CLIENT_IDS: envString().default('*'),
  /** The local stage's API Gateway control plane; unset on AWS (the regional endpoint). */
  AWS_ENDPOINT_URL_API_GATEWAY: z.url().optional(),
  /** Comma-separated names of the real-time models (each has POST /v1/models/<name>/predict and its scope). */
  PREDICT_MODELS: z.string().default(''),
  /** Comma-separated names of the models with entity-level labels (each has POST /v1/models/<name>/labels). */
  LABEL_MODELS: z.string().default(''),
});

export interface AuthorizerDeps {
  readonly powertools: Powertools;
  readonly verifier: TokenVerifier;
  readonly config: AuthorizerConfig;
}

export function parseClientIds(value: string): '*' | string[] {
  if (value.trim() === '*') return '*';
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new Error("JWT_AUDIENCE_CLIENT_IDS must list client ids or be '*'");
  return ids;
}

/** The model names of PREDICT_MODELS or LABEL_MODELS (empty when none). */
export function parseModelNames(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((name) => ModelName.parse(name));
}

export function authorizerDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): AuthorizerDeps {
  const e = parseEnv(AuthorizerEnv, env);
  return {
    powertools: createPowertools(),
    verifier: jwtTokenVerifier({ issuer: e.JWT_ISSUER, jwksUri: e.JWT_JWKS_URI }),
    config: {
      allowedClientIds: parseClientIds(e.JWT_AUDIENCE_CLIENT_IDS),
      routes: apiRoutes(
        parseModelNames(e.PREDICT_MODELS).map((name) => ({ name })),
        parseModelNames(e.LABEL_MODELS).map((name) => ({ name })),
      ),
      apiKeys: cachedApiKeys(
        getApiKeysDirectory(
          apiGatewayClient({
            region: e.AWS_REGION,
            ...(e.AWS_ENDPOINT_URL_API_GATEWAY ? { endpoint: e.AWS_ENDPOINT_URL_API_GATEWAY } : {}),
          }),
        ),
      ),
    },
  };
}

export function createAuthorizerHandler(deps: AuthorizerDeps) {
  const { logger, metrics } = deps.powertools;
  const base = async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const result = await authorize(event, deps.verifier, deps.config, (reason) => {
      logger.info('request refused', { reason, methodArn: event.methodArn });
      metrics.addMetric('AuthRefused', 'Count', 1);
    });
    logger.debug('authorized', { principalId: result.principalId, methodArn: event.methodArn });
    return result;
  };
  let handler = middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}
