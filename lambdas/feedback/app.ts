// Feedback handlers: POST /v1/feedback and the LabelReported bus target, both over the same recordLabel use case.
// Wiring only; the entries (handler.ts, events-handler.ts) build their own adapters.
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { EventPublisher } from '../shared/adapters/event-publisher.js';
import { FeedbackRequest, type FeedbackResponse } from '../shared/contracts/api.js';
import { DETAIL_TYPES, parseEventDetail } from '../shared/contracts/events.js';
import { CommonEnv, envString } from '../shared/env.js';
import { httpHandler } from '../shared/http.js';
import { type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { busAnnouncer } from './adapters.js';
import { type FeedbackDeps, type GroundTruthSink, type LabelStore, recordLabel } from './core.js';

export const FeedbackStoreEnv = CommonEnv.extend({
  LABELS_TABLE: envString(),
  GROUND_TRUTH_BUCKET: envString(),
  GROUND_TRUTH_PREFIX: envString(),
});
export const FeedbackEnv = FeedbackStoreEnv.extend({ EVENT_BUS_NAME: envString() });

export interface FeedbackStoreDeps {
  readonly powertools: Powertools;
  readonly labels: LabelStore;
  readonly groundTruth: GroundTruthSink;
  readonly groundTruthPrefix: string;
}
export interface FeedbackHandlerDeps extends FeedbackStoreDeps {
  readonly events: EventPublisher;
}

const coreDeps = (deps: FeedbackStoreDeps, events?: EventPublisher): FeedbackDeps => ({
  labels: deps.labels,
  groundTruth: deps.groundTruth,
  groundTruthPrefix: deps.groundTruthPrefix,
  ...(events ? { announcer: busAnnouncer(events) } : {}),
});

/** Answers with the label in force: a label older than the stored one changes nothing and says so. */
export function createHttpHandler(deps: FeedbackHandlerDeps) {
  return httpHandler({ powertools: deps.powertools, body: FeedbackRequest }, async ({ body }) => {
    const result = await recordLabel(body, coreDeps(deps, deps.events));
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
