// Kinesis streams as a source of the local event-source mappings (./esm.ts): kinesalite's shards read with GetRecords,
// each record turned into Lambda's Kinesis event record.
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { MappingConfig, ReadPosition, ShardReader, SourceRecord, StreamSource } from './esm.js';

export const KINESIS_STREAM_ARN = /^arn:aws[^:]*:kinesis:[^:]*:[^:]*:stream\/(.+)$/;

/** Lambda's Kinesis event record for one record of a shard. */
export function kinesisEventRecord(config: MappingConfig, region: string, shardId: string, r: KinesisRecord) {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.PartitionKey ?? '',
      sequenceNumber: r.SequenceNumber ?? '',
      data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${r.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: config.functionRoleArn,
    awsRegion: region,
    eventSourceARN: config.streamArn,
  };
}

/** Kinesis mappings filter on the `data` key only, and only when the data is JSON (else a data pattern never
 *  matches). */
function filterSubject(data: Uint8Array | undefined): unknown {
  try {
    return { data: JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) };
  } catch {
    return {};
  }
}

class KinesisShardReader implements ShardReader {
  private iterator: string | undefined;
  private lastRead: string | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly config: MappingConfig,
    private readonly region: string,
    private readonly shardId: string,
    private readonly from: ReadPosition,
  ) {}

  private async newIterator(): Promise<string> {
    const base = { StreamName: this.config.streamName, ShardId: this.shardId };
    const after = this.lastRead ?? ('after' in this.from ? this.from.after : undefined);
    let input: GetShardIteratorCommandInput;
    if (after) input = { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after };
    else if ('atTimestampMs' in this.from) {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(this.from.atTimestampMs) };
    } else input = { ...base, ShardIteratorType: 'at' in this.from ? this.from.at : 'TRIM_HORIZON' };
    const out = await this.client.send(new GetShardIteratorCommand(input));
    if (!out.ShardIterator) throw new Error(`no shard iterator for ${this.shardId}`);
    return out.ShardIterator;
  }

  async read(limit: number): Promise<{ records: SourceRecord[]; closed: boolean }> {
    // An expired iterator is routine: take a new one once, from the last record read.
    for (let attempt = 0; ; attempt++) {
      try {
        this.iterator ??= await this.newIterator();
        const out = await this.client.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: limit }));
        const records = out.Records ?? [];
        this.lastRead = records.at(-1)?.SequenceNumber ?? this.lastRead;
        this.iterator = out.NextShardIterator;
        return {
          closed: !out.NextShardIterator,
          records: records.map((r) => ({
            sequenceNumber: r.SequenceNumber ?? '',
            arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
            event: kinesisEventRecord(this.config, this.region, this.shardId, r),
            filterSubject: filterSubject(r.Data),
          })),
        };
      } catch (error) {
        this.iterator = undefined;
        if ((error as Error).name !== 'ExpiredIteratorException' || attempt > 0) throw error;
      }
    }
  }
}

/** The Kinesis stream a mapping reads, through kinesalite at `endpoint`. */
export function kinesisSource(config: MappingConfig, endpoint: string, region: string): StreamSource {
  const client = new KinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // kinesalite speaks HTTP/1.1 only.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 10_000 }),
    maxAttempts: 1,
  });
  return {
    batchInfoField: 'KinesisBatchInfo',
    async shardIds() {
      const shardIds: string[] = [];
      let exclusiveStartShardId: string | undefined;
      for (;;) {
        const out = await client.send(
          new DescribeStreamCommand({
            StreamName: config.streamName,
            ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}),
          }),
        );
        const shards = out.StreamDescription?.Shards ?? [];
        shardIds.push(...shards.map((s) => s.ShardId ?? '').filter(Boolean));
        if (!out.StreamDescription?.HasMoreShards || shards.length === 0) return shardIds;
        exclusiveStartShardId = shards.at(-1)?.ShardId;
      }
    },
    open: (shardId, from) => new KinesisShardReader(client, config, region, shardId, from),
    close: () => client.destroy(),
  };
}
