// Feedback handlers: POST /v1/feedback and the LabelReported bus target, both over the same recordLabel use case.
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { EventBridgePublisher, type EventPublisher } from '../shared/adapters/event-publisher.js';
import { dynamoDocumentClient, eventBridgeClient, s3Client } from '../shared/aws.js';
import { FeedbackRequest, type FeedbackResponse } from '../shared/contracts/api.js';
import { DETAIL_TYPES, parseEventDetail } from '../shared/contracts/events.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { busAnnouncer, DynamoLabelStore, S3GroundTruthSink } from './adapters.js';
import { type FeedbackDeps, type GroundTruthSink, type LabelStore, recordLabel } from './core.js';

export const FeedbackEnv = CommonEnv.extend({
  LABELS_TABLE: envString(),
  GROUND_TRUTH_BUCKET: envString(),
  GROUND_TRUTH_PREFIX: envString(),
  EVENT_BUS_NAME: envString(),
});

export interface FeedbackHandlerDeps {
  readonly powertools: Powertools;
  readonly labels: LabelStore;
  readonly groundTruth: GroundTruthSink;
  readonly events: EventPublisher;
  readonly groundTruthPrefix: string;
}

const coreDeps = (deps: FeedbackHandlerDeps, fromBus: boolean): FeedbackDeps => ({
  labels: deps.labels,
  groundTruth: deps.groundTruth,
  groundTruthPrefix: deps.groundTruthPrefix,
  ...(fromBus ? {} : { announcer: busAnnouncer(deps.events) }),
});

/** Answers with the label in force: a label older than the stored one changes nothing and says so. */
export function createHttpHandler(deps: FeedbackHandlerDeps) {
  return httpHandler({ powertools: deps.powertools, body: FeedbackRequest }, async ({ body }) => {
    const result = await recordLabel(body, coreDeps(deps, false));
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
export function createEventHandler(deps: FeedbackHandlerDeps) {
  const base = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
    if (event['detail-type'] !== DETAIL_TYPES.LabelReported) {
      throw new Error(`expected a ${DETAIL_TYPES.LabelReported} event, got '${event['detail-type']}'`);
    }
    const label = parseEventDetail(DETAIL_TYPES.LabelReported, event.detail);
    const result = await recordLabel(label, coreDeps(deps, true));
    deps.powertools.metrics.addMetric(result.stored ? 'LabelsStored' : 'LabelsSuperseded', 'Count', 1);
  };
  let handler = middy<EventBridgeEvent<string, unknown>, void, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}

// Cold start: environment and clients once per execution environment.
const env = parseEnv(FeedbackEnv);
const deps: FeedbackHandlerDeps = {
  powertools: createPowertools(),
  labels: new DynamoLabelStore(dynamoDocumentClient(), env.LABELS_TABLE),
  groundTruth: new S3GroundTruthSink(s3Client(), env.GROUND_TRUTH_BUCKET),
  events: new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: env.EVENT_BUS_NAME }),
  groundTruthPrefix: env.GROUND_TRUTH_PREFIX,
};

export const handler = createHttpHandler(deps);
export const onLabelReported = createEventHandler(deps);
