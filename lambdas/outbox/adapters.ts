// Adapters of the outbox ports: the decision log over Firehose PutRecordBatch, and the poison-record sink.

import type { Logger } from '@aws-lambda-powertools/logger';
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import {
  checkEntryRetryOptions,
  type EntryFailure,
  type EntryRetryOptions,
  positionalFailures,
  sendBatchesEach,
  sendWithEntryRetry,
} from '../shared/adapters/entry-retry.js';
import type { DeadLetters, DecisionLog, DecisionLogRecord, PoisonRecord } from './core.js';

/** PutRecordBatch takes at most 500 records and 4 MiB per call. */
export const PUT_RECORD_BATCH_MAX_RECORDS = 500;
export const PUT_RECORD_BATCH_MAX_BYTES = 4 * 1024 * 1024;

export interface FirehoseDecisionLogProps {
  readonly client: FirehoseClient;
  readonly deliveryStreamName: string;
  /** Attempts per record, counting the first. @default 3 */
  readonly maxAttempts?: number;
  /** Delay before the first retry, doubled each time. @default 50 */
  readonly baseDelayMs?: number;
}

/** One JSON line per decision into the Firehose delivery stream (S3 lake, partitioned by Firehose). */
export class FirehoseDecisionLog implements DecisionLog {
  private readonly retry: EntryRetryOptions;

  constructor(private readonly props: FirehoseDecisionLogProps) {
    this.retry = { maxAttempts: props.maxAttempts ?? 3, baseDelayMs: props.baseDelayMs ?? 50 };
    checkEntryRetryOptions(this.retry);
  }

  async appendEach(records: readonly DecisionLogRecord[]): Promise<(EntryFailure | undefined)[]> {
    const encoder = new TextEncoder();
    const data = records.map((r) => encoder.encode(`${JSON.stringify(r)}\n`));
    const batches: Uint8Array[][] = [];
    let bytes = 0;
    for (const line of data) {
      const last = batches.at(-1);
      if (!last || last.length >= PUT_RECORD_BATCH_MAX_RECORDS || bytes + line.length > PUT_RECORD_BATCH_MAX_BYTES) {
        batches.push([line]);
        bytes = line.length;
      } else {
        last.push(line);
        bytes += line.length;
      }
    }
    return sendBatchesEach(batches, (batch) => this.send(batch));
  }

  private send(batch: readonly Uint8Array[]): Promise<(EntryFailure | undefined)[]> {
    return sendWithEntryRetry(
      batch,
      async (pending) => {
        const out = await this.props.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: this.props.deliveryStreamName,
            Records: pending.map((Data) => ({ Data })),
          }),
        );
        return positionalFailures(pending.length, out.FailedPutCount, out.RequestResponses);
      },
      this.retry,
    );
  }
}

/**
 * Parks poison records in the function's log, one ERROR line each with the reason and the full image, and counts
 * them (metric `PoisonRecords`). The audit record itself stays in the decisions table. The intended sink is the
 * mapping's SQS dead-letter queue (SendMessage with the image); that adapter needs @aws-sdk/client-sqs, which the
 * project does not depend on yet.
 */
export class LoggedDeadLetters implements DeadLetters {
  constructor(private readonly logger: Logger) {}

  async park(records: readonly PoisonRecord[]): Promise<void> {
    for (const r of records) {
      this.logger.error('poison decision record parked: it is not relayed and not retried', {
        sequenceNumber: r.recordId,
        reason: r.reason,
        image: r.image,
      });
    }
  }
}
