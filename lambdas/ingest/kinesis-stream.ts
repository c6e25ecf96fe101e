// Adapter: the TransactionStream port over Kinesis PutRecords (one call per attempt, per-record results kept in order).
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { PutOutcome, StreamRecord, TransactionStream } from './core.js';

export class KinesisTransactionStream implements TransactionStream {
  constructor(
    private readonly client: KinesisClient,
    /** StreamName, not the ARN: kinesalite (the local stage) only understands names. */
    private readonly streamName: string,
  ) {}

  async putRecords(records: readonly StreamRecord[]): Promise<PutOutcome[]> {
    const output = await this.client.send(
      new PutRecordsCommand({
        StreamName: this.streamName,
        Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })),
      }),
    );
    const results = output.Records ?? [];
    if (results.length !== records.length) {
      throw new Error(`PutRecords answered ${results.length} results for ${records.length} records`);
    }
    return results.map((r): PutOutcome => {
      if (r.ErrorCode) return { ok: false, code: r.ErrorCode, message: r.ErrorMessage ?? r.ErrorCode };
      return { ok: true, shardId: r.ShardId ?? '', sequenceNumber: r.SequenceNumber ?? '' };
    });
  }
}
