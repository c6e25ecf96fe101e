// Adapters of the outbox ports: the decision log over Firehose PutRecordBatch, and poison records into the SQS DLQ.

import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type EntryFailure,
  type EntryRetryOptions,
  type EntryRetryProps,
  entryRetryOptions,
  positionalFailures,
  sendBatchesEach,
  sendWithEntryRetry,
} from '../shared/adapters/entry-retry.js';
import type { DeadLetters, DecisionLog, DecisionLogRecord, PoisonRecord } from './core.js';

/** PutRecordBatch takes at most 500 records and 4 MiB per call. */
export const PUT_RECORD_BATCH_MAX_RECORDS = 500;
export const PUT_RECORD_BATCH_MAX_BYTES = 4 * 1024 * 1024;

export interface FirehoseDecisionLogProps extends EntryRetryProps {
  readonly client: FirehoseClient;
  readonly deliveryStreamName: string;
}

/** One JSON line per decision into the Firehose delivery stream (S3 lake, partitioned by Firehose). */
export class FirehoseDecisionLog implements DecisionLog {
  private readonly retry: EntryRetryOptions;

  constructor(private readonly props: FirehoseDecisionLogProps) {
    this.retry = entryRetryOptions(props);
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

/** SendMessageBatch takes at most 10 messages per call. */
export const SEND_MESSAGE_BATCH_MAX = 10;

export interface SqsDeadLettersProps extends EntryRetryProps {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

/**
 * Parks poison records in the outbox's dead-letter queue, one message each: `{ kind: 'PoisonDecisionRecord',
 * sequenceNumber, reason, image }` with the image as the stream delivered it, beside the mapping's own on-failure
 * messages (which name shard and sequence numbers only). Throws unless every record is parked, so a record that could
 * not be parked is retried by the stream rather than lost.
 */
export class SqsDeadLetters implements DeadLetters {
  private readonly retry: EntryRetryOptions;

  constructor(private readonly props: SqsDeadLettersProps) {
    this.retry = entryRetryOptions(props);
  }

  async park(records: readonly PoisonRecord[]): Promise<void> {
    const bodies = records.map((r) =>
      JSON.stringify({ kind: 'PoisonDecisionRecord', sequenceNumber: r.recordId, reason: r.reason, image: r.image }),
    );
    const batches: string[][] = [];
    for (let i = 0; i < bodies.length; i += SEND_MESSAGE_BATCH_MAX) {
      batches.push(bodies.slice(i, i + SEND_MESSAGE_BATCH_MAX));
    }
    const failures = await sendBatchesEach(batches, (batch) => this.send(batch));
    const failed = failures.flatMap((f, i) => (f ? [`${records[i]?.recordId}: ${f.errorCode} ${f.errorMessage}`] : []));
    if (failed.length > 0) throw new Error(`${failed.length} poison record(s) not parked: ${failed.join('; ')}`);
  }

  private send(batch: readonly string[]): Promise<(EntryFailure | undefined)[]> {
    return sendWithEntryRetry(
      batch,
      async (pending) => {
        const out = await this.props.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.props.queueUrl,
            Entries: pending.map((MessageBody, i) => ({ Id: String(i), MessageBody })),
          }),
        );
        // SendMessageBatch answers by entry id, not position.
        const byId = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
        return pending.map((_, i) => {
          const f = byId.get(String(i));
          return f ? { errorCode: f.Code ?? 'Failed', errorMessage: f.Message ?? '' } : undefined;
        });
      },
      this.retry,
    );
  }
}
