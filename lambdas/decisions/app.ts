import type { z } from 'zod';
import { type DecisionReader, DynamoDecisionReader } from '../shared/adapters/decision-reader.js';
import { dynamoDocumentClient } from '../shared/aws.js';
import { DecisionPathParams } from '../shared/contracts/api.js';
import { DecisionsQuery, LiveStatsQuery, ReviewQueueQuery } from '../shared/contracts/review.js';
import { CommonEnv, envInt, envString, parseEnv } from '../shared/env.js';
import { parseOrThrow } from '../shared/errors.js';
import { type HttpHandler, httpHandler, routeDispatcher } from '../shared/http.js';
import { createPowertools, type Powertools } from '../shared/powertools.js';
import { DynamoDayIndex, DynamoLabelReader, DynamoReviewItems } from './adapters.js';
import {
  auditTrail,
  type DayIndex,
  getDecision,
  type LabelReader,
  listDecisions,
  liveStats,
  type ReviewItems,
  reviewQueue,
} from './core.js';

export const DecisionsEnv = CommonEnv.extend({
  DECISIONS_TABLE: envString(),
  LABELS_TABLE: envString(),
  DECISION_TTL_DAYS: envInt(),
});

export interface DecisionsDeps {
  readonly powertools: Powertools;
  readonly decisions: DecisionReader;
  readonly index: DayIndex;
  readonly reviews: ReviewItems;
  readonly labels: LabelReader;
  /** How long decisions are kept: where a walk back in time stops. */
  readonly retentionDays: number;
  readonly now?: () => Date;
}

export function decisionsDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DecisionsDeps {
  const e = parseEnv(DecisionsEnv, env);
  const powertools = createPowertools();
  const doc = powertools.tracer.captureAWSv3Client(dynamoDocumentClient());
  return {
    powertools,
    decisions: new DynamoDecisionReader(doc, e.DECISIONS_TABLE),
    index: new DynamoDayIndex(doc, e.DECISIONS_TABLE),
    reviews: new DynamoReviewItems(doc, e.DECISIONS_TABLE),
    labels: new DynamoLabelReader(doc, e.LABELS_TABLE),
    retentionDays: e.DECISION_TTL_DAYS,
  };
}

const queryOf = <S extends z.ZodType>(schema: S, query: Readonly<Record<string, string>>): z.output<S> =>
  parseOrThrow(schema, query, 'query string');

/** One handler per route of the decisions service, keyed `<METHOD> <resource>` as API Gateway names them. */
export function createDecisionsRoutes(deps: DecisionsDeps): Readonly<Record<string, HttpHandler>> {
  const { powertools } = deps;
  const list = { ...deps, now: deps.now ?? (() => new Date()) };
  return {
    'GET /v1/decisions/{id}': httpHandler({ powertools, path: DecisionPathParams }, ({ path }) =>
      getDecision(path.id, deps),
    ),
    'GET /v1/decisions': httpHandler({ powertools }, ({ query }) =>
      listDecisions(queryOf(DecisionsQuery, query), list),
    ),
    'GET /v1/review-queue': httpHandler({ powertools }, ({ query }) =>
      reviewQueue(queryOf(ReviewQueueQuery, query), list),
    ),
    'GET /v1/decisions/{id}/audit': httpHandler({ powertools, path: DecisionPathParams }, ({ path }) =>
      auditTrail(path.id, deps),
    ),
    'GET /v1/stats/live': httpHandler({ powertools }, ({ query }) =>
      liveStats(queryOf(LiveStatsQuery, query).minutes, list),
    ),
  };
}

/** The Lambda handler: dispatches on the method and resource template; an unknown one gets the 404 error JSON. */
export function createDecisionsHandler(deps: DecisionsDeps) {
  return routeDispatcher('decisions', deps.powertools, createDecisionsRoutes(deps));
}
