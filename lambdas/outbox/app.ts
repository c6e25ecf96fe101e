// Assembles the outbox relay: env → adapters → the core, inside the Powertools middy stack, reporting failed stream
// records by sequence number (ReportBatchItemFailures) so the stream retries exactly those and what follows them.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { PartialItemFailureResponse } from '@aws-lambda-powertools/batch/types';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { z } from 'zod';
import { EventBridgePublisher } from '../shared/adapters/event-publisher.js';
import { applyOverrideHead, openReviewItem } from '../shared/adapters/review-items.js';
import { dynamoDocumentClient, eventBridgeClient, firehoseClient, sqsClient } from '../shared/aws.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { FirehoseDecisionLog, SqsDeadLetters } from './adapters.js';
import { type ChangeRecord, type OutboxPorts, relayDecisions } from './core.js';

export const OutboxEnv = CommonEnv.extend({
  EVENT_BUS_NAME: envString(),
  DECISION_LOG_STREAM: envString(),
  DEAD_LETTER_QUEUE_URL: envString(),
  /** The decisions table itself: review items are opened and override heads moved beside the audit records. */
  DECISIONS_TABLE: envString(),
});
export type OutboxEnv = z.infer<typeof OutboxEnv>;

export interface OutboxDeps {
  readonly powertools: Powertools;
  readonly ports: OutboxPorts;
}

/** Everything the handler needs, from the environment (cold start). */
export function outboxDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): OutboxDeps {
  const e = parseEnv(OutboxEnv, env);
  const powertools = createPowertools();
  const { tracer } = powertools;
  const doc = tracer.captureAWSv3Client(dynamoDocumentClient());
  return {
    powertools,
    ports: {
      events: new EventBridgePublisher({
        client: tracer.captureAWSv3Client(eventBridgeClient()),
        eventBusName: e.EVENT_BUS_NAME,
      }),
      decisionLog: new FirehoseDecisionLog({
        client: tracer.captureAWSv3Client(firehoseClient()),
        deliveryStreamName: e.DECISION_LOG_STREAM,
      }),
      deadLetters: new SqsDeadLetters({
        client: tracer.captureAWSv3Client(sqsClient()),
        queueUrl: e.DEAD_LETTER_QUEUE_URL,
      }),
      reviews: {
        open: async (record) => {
          await openReviewItem(doc, e.DECISIONS_TABLE, record);
        },
        applyHead: (n, record, expiresAt) => applyOverrideHead(doc, e.DECISIONS_TABLE, n, record, expiresAt),
      },
    },
  };
}

const sequenceNumber = (r: DynamoDBRecord): string => r.dynamodb?.SequenceNumber ?? '';

export const toChangeRecord = (r: DynamoDBRecord): ChangeRecord => ({
  recordId: sequenceNumber(r),
  eventName: r.eventName,
  // aws-lambda's AttributeValue and the SDK's describe the same wire shape.
  newImage: r.dynamodb?.NewImage as Record<string, AttributeValue> | undefined,
});

/** The stream handler over the given dependencies (tests pass fakes). */
export function createOutboxHandler(deps: OutboxDeps) {
  const { logger, metrics } = deps.powertools;
  const processor = new BatchProcessor(EventType.DynamoDBStreams);

  const base = async (event: DynamoDBStreamEvent, context: Context): Promise<PartialItemFailureResponse> => {
    // The whole batch is relayed first (PutEvents and PutRecordBatch across records); the record handler then only
    // reports each record's verdict to the batch processor.
    const outcome = await relayDecisions(event.Records.map(toChangeRecord), deps.ports);
    for (const [recordId, error] of outcome.failures) {
      logger.warn('decision not relayed; the stream will retry it', { sequenceNumber: recordId, error });
    }
    if (outcome.ignored.length > 0) logger.warn('non-INSERT records ignored', { sequenceNumbers: outcome.ignored });
    metrics.addMetric('RecordsReceived', 'Count', event.Records.length);
    metrics.addMetric('DecisionsRelayed', 'Count', outcome.relayed);
    metrics.addMetric('EventsPublished', 'Count', outcome.events);
    metrics.addMetric('RecordsFailed', 'Count', outcome.failures.size);
    metrics.addMetric('PoisonRecords', 'Count', outcome.poisoned.length);

    const recordHandler = async (record: DynamoDBRecord): Promise<void> => {
      const error = outcome.failures.get(sequenceNumber(record));
      if (error) throw error;
    };
    return processPartialResponse(event, recordHandler, processor, { context });
  };

  let handler = middy<DynamoDBStreamEvent, PartialItemFailureResponse, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}
