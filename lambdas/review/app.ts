// Assembles POST /v1/decisions/{id}/overrides: env → the decisions table port → the override use case, with the
// caller (a person, or a machine client) as the actor.
import { dynamoDocumentClient } from '../shared/aws.js';
import { DecisionPathParams } from '../shared/contracts/api.js';
import { OverrideRequest } from '../shared/contracts/review.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { UnauthorizedError } from '../shared/errors.js';
import { actorOf, type HttpHandler, HttpReply, httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { dynamoOverridePorts } from './adapters.js';
import { type OverridePorts, overrideDecision } from './core.js';

export const ReviewEnv = CommonEnv.extend({ DECISIONS_TABLE: envString() });

export interface ReviewDeps {
  readonly powertools: Powertools;
  readonly ports: OverridePorts;
}

export function reviewDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ReviewDeps {
  const e = parseEnv(ReviewEnv, env);
  const powertools = createPowertools();
  const doc = powertools.tracer.captureAWSv3Client(dynamoDocumentClient());
  return { powertools, ports: dynamoOverridePorts(doc, e.DECISIONS_TABLE) };
}

export function createReviewHandler(deps: ReviewDeps): HttpHandler {
  return httpHandler(
    { powertools: deps.powertools, path: DecisionPathParams, body: OverrideRequest },
    async ({ path, body, event }) => {
      const actor = actorOf(event);
      // The route is secured: API Gateway never calls it without the authorizer's context.
      if (!actor) throw new UnauthorizedError('no caller in the authorizer context');
      const record = await overrideDecision(path.id, body, actor, deps.ports);
      deps.powertools.metrics.addMetric('DecisionsOverridden', 'Count', 1);
      return new HttpReply(201, record);
    },
  );
}
