// Assembles the feedback handlers: env → the label store, ground-truth sink (and, for POST /v1/feedback, the bus) →
// the recordLabel use case inside the shared HTTP stack or, for the LabelReported bus target, middy/Powertools.
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { resolveReviewByLabel } from '../shared/adapters/review-items.js';
import { dynamoDocumentClient, eventBridgeClient, s3Client } from '../shared/aws.js';
import { FeedbackRequest, type FeedbackResponse } from '../shared/contracts/api.js';
import { DETAIL_TYPES, parseEventDetail } from '../shared/contracts/events.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { actorOf, httpHandler, isPerson } from '../shared/http.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { busAnnouncer, DynamoLabelStore, S3GroundTruthSink } from './adapters.js';
import { type FeedbackDeps, type GroundTruthSink, type LabelStore, type ReviewResolver, recordLabel } from './core.js';

export const FeedbackStoreEnv = CommonEnv.extend({
  LABELS_TABLE: envString(),
  GROUND_TRUTH_BUCKET: envString(),
  GROUND_TRUTH_PREFIX: envString(),
  /** Where the decisions' review items are: a label resolves its decision's review. */
  DECISIONS_TABLE: envString(),
});
export const FeedbackEnv = FeedbackStoreEnv.extend({ EVENT_BUS_NAME: envString() });

export interface FeedbackStoreDeps {
  readonly powertools: Powertools;
  readonly labels: LabelStore;
  readonly groundTruth: GroundTruthSink;
  readonly groundTruthPrefix: string;
  readonly reviews: ReviewResolver;
}
export interface FeedbackHandlerDeps extends FeedbackStoreDeps {
  readonly events: EventPublisher;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The LabelReported target's stores from the environment (cold start): it never publishes. */
export function feedbackStoreDepsFromEnv(env: Env = process.env): FeedbackStoreDeps {
  const e = parseEnv(FeedbackStoreEnv, env);
  const doc = dynamoDocumentClient();
  return {
    powertools: createPowertools(),
    labels: new DynamoLabelStore(doc, e.LABELS_TABLE),
    reviews: { resolveByLabel: (id, at) => resolveReviewByLabel(doc, e.DECISIONS_TABLE, id, at) },
    groundTruth: new S3GroundTruthSink(s3Client(), e.GROUND_TRUTH_BUCKET),
    groundTruthPrefix: e.GROUND_TRUTH_PREFIX,
  };
}

/** POST /v1/feedback's stores and bus publisher from the environment (cold start). */
export function feedbackDepsFromEnv(env: Env = process.env): FeedbackHandlerDeps {
  const e = parseEnv(FeedbackEnv, env);
  return {
    ...feedbackStoreDepsFromEnv(env),
    events: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: e.EVENT_BUS_NAME }),
  };
}

const coreDeps = (deps: FeedbackStoreDeps, events?: EventPublisher): FeedbackDeps => ({
  labels: deps.labels,
  groundTruth: deps.groundTruth,
  groundTruthPrefix: deps.groundTruthPrefix,
  reviews: deps.reviews,
  ...(events ? { announcer: busAnnouncer(events) } : {}),
});

/** Answers with the label in force: a label older than the stored one changes nothing and says so. */
export function createHttpHandler(deps: FeedbackHandlerDeps) {
  return httpHandler({ powertools: deps.powertools, body: FeedbackRequest }, async ({ body, event }) => {
    // A person's label keeps who reported it (the audit trail shows it); a machine client's is its own record.
    const actor = actorOf(event);
    const result = await recordLabel(body, coreDeps(deps, deps.events), actor && isPerson(actor) ? actor : undefined);
    deps.powertools.metrics.addMetric(result.stored ? 'LabelsStored' : 'LabelsSuperseded', 'Count', 1);
    const response: FeedbackResponse = {
      transactionId: result.transactionId,
      isFraud: result.isFraud,
      recordedAt: result.recordedAt,
    };
    return response;
  });
}

/** EventBridge target for external LabelReported events: same use case, never republished (it is on the bus). */
export function createEventHandler(deps: FeedbackStoreDeps) {
  const base = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
    if (event['detail-type'] !== DETAIL_TYPES.LabelReported) {
      throw new Error(`expected a ${DETAIL_TYPES.LabelReported} event, got '${event['detail-type']}'`);
    }
    const label = parseEventDetail(DETAIL_TYPES.LabelReported, event.detail);
    const result = await recordLabel(label, coreDeps(deps));
    deps.powertools.metrics.addMetric(result.stored ? 'LabelsStored' : 'LabelsSuperseded', 'Count', 1);
  };
  let handler = middy<EventBridgeEvent<string, unknown>, void, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}
