// Kinesis adapter against kinesalite with the real SDK: records land keyed by customer; refused records are retried once.
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { type LocalServer, startKinesalite } from '../../features/test/local-servers.js';
import { kinesisClient } from '../../shared/aws.js';
import { ingestTransactions } from '../core.js';
import { KinesisTransactionStream } from '../kinesis-stream.js';
import { txn } from './fixtures.js';

let server: LocalServer;
let client: KinesisClient;
let streamNo = 0;

beforeAll(async () => {
  server = await startKinesalite();
  client = kinesisClient(server.clientOptions);
});
afterAll(async () => {
  client.destroy();
  await server.close();
});

async function newStream(shards = 2): Promise<string> {
  const name = `transactions-${++streamNo}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return name;
}

/** Everything on the stream, every shard from TRIM_HORIZON: what a consumer would see. */
async function readAll(name: string): Promise<{ partitionKey: string; body: { transactionId: string } }[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: name }));
  const out: { partitionKey: string; body: { transactionId: string } }[] = [];
  for (const shard of Shards) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records = [] } = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
    for (const r of Records) {
      out.push({ partitionKey: r.PartitionKey ?? '', body: JSON.parse(new TextDecoder().decode(r.Data)) });
    }
  }
  return out;
}

describe('KinesisTransactionStream', () => {
  it('GIVEN a batch WHEN put THEN every transaction is on the stream once, partition key = customerId', async () => {
    const name = await newStream();
    const batch = Array.from({ length: 50 }, (_, n) => txn(n));
    const result = await ingestTransactions(batch, { stream: new KinesisTransactionStream(client, name) });
    expect(result).toEqual({ accepted: 50, failed: [] });
    const stored = await readAll(name);
    expect(stored.map((r) => r.body.transactionId).sort()).toEqual(batch.map((t) => t.transactionId).sort());
    for (const r of stored)
      expect(r.partitionKey).toBe(batch.find((t) => t.transactionId === r.body.transactionId)?.customerId);
  });

  it('GIVEN Kinesis refuses some records of the first call WHEN ingested THEN only those are sent again and all land once', async () => {
    const name = await newStream();
    // Kinesalite never throttles, so a middleware plays the part: on the first call it withholds records 1 and 3 from
    // the server and answers for them with the per-record ErrorCode a hot shard returns.
    const refused = new Set([1, 3]);
    const sent: number[] = [];
    const flaky = kinesisClient(server.clientOptions);
    flaky.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as PutRecordsCommandInput;
        const records = input.Records ?? [];
        sent.push(records.length);
        if (sent.length > 1) return next(args);
        const kept = records.filter((_, i) => !refused.has(i));
        const result = await next({ ...args, input: { ...input, Records: kept } });
        const output = result.output as PutRecordsCommandOutput;
        const answers = [...(output.Records ?? [])];
        const merged = records.map((_, i) =>
          refused.has(i)
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
            : answers.shift(),
        );
        return { ...result, output: { ...output, FailedRecordCount: refused.size, Records: merged } };
      },
      { step: 'initialize', name: 'refuseSomeRecords' },
    );

    const batch = Array.from({ length: 6 }, (_, n) => txn(100 + n));
    const result = await ingestTransactions(batch, {
      stream: new KinesisTransactionStream(flaky, name),
      sleep: async () => {},
    });
    flaky.destroy();

    expect(result).toEqual({ accepted: 6, failed: [] });
    expect(sent).toEqual([6, 2]);
    const ids = (await readAll(name)).map((r) => r.body.transactionId).sort();
    expect(ids).toEqual(batch.map((t) => t.transactionId).sort());
  });

  it('GIVEN a stream that does not exist WHEN ingested THEN the batch is refused as upstream_unavailable', async () => {
    const stream = new KinesisTransactionStream(client, 'no-such-stream');
    await expect(ingestTransactions([txn(1)], { stream })).rejects.toMatchObject({
      code: 'upstream_unavailable',
      cause: expect.objectContaining({ name: 'ResourceNotFoundException' }),
    });
  });
});
