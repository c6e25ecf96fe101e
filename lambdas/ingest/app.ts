// Assembles the ingest handlers: env → the Kinesis stream adapter → the core inside the shared HTTP middy stack
// (POST /v1/transactions: batch → Kinesis, partial success) and inside middy/Powertools (the TransactionSubmitted target).
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { kinesisClient } from '../shared/aws.js';
import { IngestRequest, type IngestResponse } from '../shared/contracts/api.js';
import { DETAIL_TYPES, parseEventDetail } from '../shared/contracts/events.js';
import { CommonEnv, envString, parseEnv } from '../shared/env.js';
import { HttpReply, httpHandler } from '../shared/http.js';
import { createPowertools, type Powertools, powertoolsMiddlewares } from '../shared/powertools.js';
import { ingestStatusCode, ingestTransactions, type TransactionStream } from './core.js';
import { KinesisTransactionStream } from './kinesis-stream.js';

export const IngestEnv = CommonEnv.extend({ TRANSACTION_STREAM_NAME: envString() });

export interface IngestHandlerDeps {
  readonly powertools: Powertools;
  readonly stream: TransactionStream;
}

/** Everything both handlers need, from the environment (cold start). */
export function ingestDepsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): IngestHandlerDeps {
  const e = parseEnv(IngestEnv, env);
  return {
    powertools: createPowertools(),
    stream: new KinesisTransactionStream(kinesisClient(), e.TRANSACTION_STREAM_NAME),
  };
}

/** Largest request body: 500 transactions of at most ~1 KB each, with room to spare. */
const MAX_BODY_BYTES = 1024 * 1024;

/** 200 when every transaction is on the stream; 207 with `failed` when some are not (retry just those). */
export function createHttpHandler(deps: IngestHandlerDeps) {
  return httpHandler(
    { powertools: deps.powertools, body: IngestRequest, maxBodyBytes: MAX_BODY_BYTES },
    async ({ body }) => {
      const result: IngestResponse = await ingestTransactions(body.transactions, { stream: deps.stream });
      deps.powertools.metrics.addMetric('TransactionsAccepted', 'Count', result.accepted);
      deps.powertools.metrics.addMetric('TransactionsFailed', 'Count', result.failed.length);
      if (result.failed.length > 0) {
        deps.powertools.logger.warn('some transactions were not put on the stream', { failed: result.failed });
      }
      return new HttpReply(ingestStatusCode(result), result);
    },
  );
}

/**
 * EventBridge target for TransactionSubmitted: puts the one transaction on the stream. Throws on an invalid event or
 * a refused record, so EventBridge retries and the rule's DLQ keeps what never lands.
 */
export function createEventHandler(deps: IngestHandlerDeps) {
  const base = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
    if (event['detail-type'] !== DETAIL_TYPES.TransactionSubmitted) {
      throw new Error(`expected a ${DETAIL_TYPES.TransactionSubmitted} event, got '${event['detail-type']}'`);
    }
    const txn = parseEventDetail(DETAIL_TYPES.TransactionSubmitted, event.detail);
    const result = await ingestTransactions([txn], { stream: deps.stream });
    const failure = result.failed[0];
    if (failure) {
      throw new Error(
        `transaction ${txn.transactionId} was not put on the stream: ${failure.code}: ${failure.message}`,
      );
    }
    deps.powertools.metrics.addMetric('TransactionsAccepted', 'Count', 1);
  };
  let handler = middy<EventBridgeEvent<string, unknown>, void, Error, Context>(base);
  for (const m of powertoolsMiddlewares(deps.powertools)) handler = handler.use(m);
  return handler;
}
