// Assembles the features handler, the Kinesis consumer: env → the DynamoDB aggregate store → the core (each record
// decoded as the shared Transaction contract, folded into the aggregates) inside middy/Powertools, reporting failed
// records by sequence number (a poison record fails alone and reaches the mapping's on-failure DLQ).
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { PartialItemFailureResponse } from '@aws-lambda-powertools/batch/types';
import middy from '@middy/core';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { AnyModelModule } from '../../models/shared/module.js';
import { dynamoDocumentClient } from '../shared/aws.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { type AggregateStore, PoisonRecordError, updateAggregates } from './core.js';
import { DynamoAggregateStore } from './dynamo-aggregate-store.js';

export const FeaturesEnv = CommonEnv.extend({ FEATURES_TABLE: envString() });

export interface FeaturesHandlerDeps {
  readonly powertools: Powertools;
  readonly store: AggregateStore;
  /** The model whose entities' state the stream folds into. */
  readonly module: AnyModelModule;
}

/** Everything the handler needs for `module` (the model this bundle was built for), from the environment. */
export function featuresDepsFromEnv(
  module: AnyModelModule,
  env: Readonly<Record<string, string | undefined>> = process.env,
): FeaturesHandlerDeps {
  const e = parseEnv(FeaturesEnv, env);
  return {
    powertools: createPowertools(),
    store: new DynamoAggregateStore(dynamoDocumentClient(), e.FEATURES_TABLE),
    module,
  };
}

export function createHandler(deps: FeaturesHandlerDeps) {
  const { logger, metrics } = deps.powertools;
  const processor = new BatchProcessor(EventType.KinesisDataStreams);

  const base = async (event: KinesisStreamEvent, context: Context): Promise<PartialItemFailureResponse> => {
    // The whole batch is folded first (one write per entity); the record handler then only reports each verdict.
    const outcome = await updateAggregates(
      event.Records.map((r) => ({ recordId: r.kinesis.sequenceNumber, data: r.kinesis.data })),
      { store: deps.store, module: deps.module },
    );
    let poison = 0;
    for (const [sequenceNumber, error] of outcome.failures) {
      if (error instanceof PoisonRecordError) {
        poison++;
        // Retrying cannot fix it: it goes to the on-failure destination once the mapping's retries run out.
        logger.error('poison record', { sequenceNumber, reason: error.message });
      } else {
        logger.warn('record not applied; the stream will retry it', { sequenceNumber, error });
      }
    }
    metrics.addMetric('RecordsReceived', 'Count', event.Records.length);
    metrics.addMetric('RecordsFailed', 'Count', outcome.failures.size);
    metrics.addMetric('PoisonRecords', 'Count', poison);
    metrics.addMetric('AggregateWrites', 'Count', outcome.writes);
    metrics.addMetric('AggregatesUnchanged', 'Count', outcome.unchanged);
    metrics.addMetric('AggregateWriteConflicts', 'Count', outcome.conflicts);

    const recordHandler = async (record: KinesisStreamRecord): Promise<void> => {
      const error = outcome.failures.get(record.kinesis.sequenceNumber);
      if (error) throw error;
    };
    return processPartialResponse(event, recordHandler, processor, { context });
  };

  let handler = middy<KinesisStreamEvent, PartialItemFailureResponse, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}
