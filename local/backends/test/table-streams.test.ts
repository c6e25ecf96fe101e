// The local DynamoDB streams: real SDK v3 clients write through the stream recorder in the backends process; the
// journal the stream mappings read must hold one change record per change, in order per key, even across a SIGKILL.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { isAlive } from '../../../test/support/process.js';
import { tableStreamArn } from '../../template/naming.js';
import { type LocalBackends, startLocalBackends } from '../index.js';
import { journalFile, StreamJournalReader, type StreamRecord } from '../table-streams.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';

const client = (b: LocalBackends) =>
  new DynamoDBClient({ endpoint: b.endpoints.dynamodb, region: REGION, credentials, maxAttempts: 1 });

async function createTable(dynamo: DynamoDBClient, name: string, viewType?: 'NEW_IMAGE' | 'NEW_AND_OLD_IMAGES') {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      ...(viewType ? { StreamSpecification: { StreamEnabled: true, StreamViewType: viewType } } : {}),
    }),
  );
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 10, minDelay: 1 }, { TableName: name });
}

/** Every change record journaled for `table` so far. */
const recordsOf = (dataDir: string, table: string): StreamRecord[] =>
  new StreamJournalReader(journalFile(dataDir, table), { at: 'TRIM_HORIZON' }).read(10_000).map((r) => r.record);

describe('local DynamoDB streams (stream recorder)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aims-streams-'));
  let backends: LocalBackends;
  let dynamo: DynamoDBClient;

  beforeAll(async () => {
    backends = await startLocalBackends({ dataDir, buckets: [], account: ACCOUNT, region: REGION });
    dynamo = client(backends);
    await createTable(dynamo, 'audit', 'NEW_AND_OLD_IMAGES');
    await createTable(dynamo, 'plain');
  });

  afterAll(async () => {
    dynamo?.destroy();
    await backends?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GIVEN a table created with a StreamSpecification WHEN described THEN it shows the stream and its ARN', async () => {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: 'audit' }));
    const arn = tableStreamArn(`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/audit`);
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(Table?.LatestStreamArn).toBe(arn);
    const plain = await dynamo.send(new DescribeTableCommand({ TableName: 'plain' }));
    expect(plain.Table?.StreamSpecification).toBeUndefined();
  });

  it('GIVEN each write kind WHEN applied THEN one record each, with the real shape, images and rising sequence numbers', async () => {
    const before = recordsOf(dataDir, 'audit').length;
    await dynamo.send(new PutItemCommand({ TableName: 'audit', Item: { pk: { S: 'w1' }, n: { N: '1' } } }));
    await dynamo.send(
      new UpdateItemCommand({
        TableName: 'audit',
        Key: { pk: { S: 'w1' } },
        UpdateExpression: 'SET n = n + :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
    await dynamo.send(new DeleteItemCommand({ TableName: 'audit', Key: { pk: { S: 'w1' } } }));
    await dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: {
          audit: [{ PutRequest: { Item: { pk: { S: 'b1' } } } }, { PutRequest: { Item: { pk: { S: 'b2' } } } }],
          plain: [{ PutRequest: { Item: { pk: { S: 'p1' } } } }],
        },
      }),
    );
    await dynamo.send(
      new BatchWriteItemCommand({ RequestItems: { audit: [{ DeleteRequest: { Key: { pk: { S: 'b1' } } } }] } }),
    );
    const records = recordsOf(dataDir, 'audit').slice(before);
    expect(records.map((r) => [r.eventName, r.dynamodb.Keys.pk])).toEqual([
      ['INSERT', { S: 'w1' }],
      ['MODIFY', { S: 'w1' }],
      ['REMOVE', { S: 'w1' }],
      ['INSERT', { S: 'b1' }],
      ['INSERT', { S: 'b2' }],
      ['REMOVE', { S: 'b1' }],
    ]);
    const [insert, modify, remove] = records;
    expect(insert).toEqual({
      eventID: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: REGION,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { pk: { S: 'w1' } },
        NewImage: { pk: { S: 'w1' }, n: { N: '1' } },
        SequenceNumber: expect.stringMatching(/^\d{21}$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: tableStreamArn(`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/audit`),
    });
    expect(Math.abs((insert?.dynamodb.ApproximateCreationDateTime ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(modify?.dynamodb).toMatchObject({ OldImage: { n: { N: '1' } }, NewImage: { n: { N: '2' } } });
    expect(remove?.dynamodb.OldImage).toEqual({ pk: { S: 'w1' }, n: { N: '2' } });
    expect(remove?.dynamodb.NewImage).toBeUndefined();
    const sequence = records.map((r) => r.dynamodb.SequenceNumber);
    expect([...sequence].sort()).toEqual(sequence);
    expect(new Set(sequence).size).toBe(sequence.length);
    expect(existsSync(journalFile(dataDir, 'plain'))).toBe(false);
  });

  it('GIVEN a conditional failure or a write that changes nothing WHEN applied THEN no record', async () => {
    await dynamo.send(new PutItemCommand({ TableName: 'audit', Item: { pk: { S: 'c1' }, v: { S: 'x' } } }));
    const before = recordsOf(dataDir, 'audit').length;
    await expect(
      dynamo.send(
        new PutItemCommand({
          TableName: 'audit',
          Item: { pk: { S: 'c1' }, v: { S: 'y' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await dynamo.send(new PutItemCommand({ TableName: 'audit', Item: { pk: { S: 'c1' }, v: { S: 'x' } } }));
    await dynamo.send(new DeleteItemCommand({ TableName: 'audit', Key: { pk: { S: 'never-there' } } }));
    expect(recordsOf(dataDir, 'audit')).toHaveLength(before);
    const item = await dynamo.send(new GetItemCommand({ TableName: 'audit', Key: { pk: { S: 'c1' } } }));
    expect(item.Item?.v?.S).toBe('x');
  });

  it('GIVEN concurrent updates to a few keys WHEN all answered THEN each key’s records are in the order applied', async () => {
    const keys = ['k0', 'k1', 'k2', 'k3'];
    const perKey = 15;
    const before = recordsOf(dataDir, 'audit').length;
    await Promise.all(
      keys.flatMap((k) =>
        Array.from({ length: perKey }, () =>
          dynamo.send(
            new UpdateItemCommand({
              TableName: 'audit',
              Key: { pk: { S: k } },
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            }),
          ),
        ),
      ),
    );
    const records = recordsOf(dataDir, 'audit').slice(before);
    expect(records).toHaveLength(keys.length * perKey);
    for (const k of keys) {
      const counts = records
        .filter((r) => r.dynamodb.Keys.pk && (r.dynamodb.Keys.pk as { S: string }).S === k)
        .map((r) => Number((r.dynamodb.NewImage?.n as { N: string } | undefined)?.N));
      expect(counts).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
    }
  });

  it('GIVEN a table without a stream WHEN UpdateTable enables one THEN later writes are recorded, with the view type', async () => {
    await createTable(dynamo, 'later');
    await dynamo.send(new PutItemCommand({ TableName: 'later', Item: { pk: { S: 'before' } } }));
    const out = await dynamo.send(
      new UpdateTableCommand({
        TableName: 'later',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );
    expect(out.TableDescription?.StreamSpecification?.StreamViewType).toBe('KEYS_ONLY');
    await dynamo.send(new PutItemCommand({ TableName: 'later', Item: { pk: { S: 'after' }, x: { S: '1' } } }));
    const records = recordsOf(dataDir, 'later');
    expect(records.map((r) => r.dynamodb)).toEqual([
      expect.objectContaining({ Keys: { pk: { S: 'after' } }, StreamViewType: 'KEYS_ONLY' }),
    ]);
    expect(records[0]?.dynamodb.NewImage).toBeUndefined();
  });
});

describe('local DynamoDB streams across a SIGKILL of the backends process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aims-streams-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Starts the backends with the crash hook armed for `table`, writes once, and waits for the process to die. */
  async function crashOnWrite(
    table: string,
    when: 'before-write' | 'after-write',
    item: Record<string, { S: string }>,
  ) {
    process.env.AIMS_TEST_STREAM_CRASH = `${table}:${when}`;
    let backends: LocalBackends;
    let crashed: (error: Error) => void = () => {};
    const crash = new Promise<Error>((resolve) => {
      crashed = resolve;
    });
    try {
      backends = await startLocalBackends({
        dataDir,
        buckets: [],
        account: ACCOUNT,
        region: REGION,
        onCrash: (error) => crashed(error),
      });
    } finally {
      delete process.env.AIMS_TEST_STREAM_CRASH;
    }
    const dynamo = client(backends);
    await createTable(dynamo, table, 'NEW_IMAGE').catch(() => undefined);
    // The write never gets an answer: the process kills itself between the intent and the record.
    await expect(dynamo.send(new PutItemCommand({ TableName: table, Item: item }))).rejects.toThrow();
    dynamo.destroy();
    expect((await crash).message).toMatch(/SIGKILL/);
    expect(backends.failure()?.message).toMatch(/SIGKILL/);
    expect(isAlive(backends.pid as number)).toBe(false);
  }

  it('GIVEN a kill after dynalite applied the write WHEN restarted THEN the change is journaled once, before any request', async () => {
    await crashOnWrite('crash', 'after-write', { pk: { S: 'applied' }, v: { S: '1' } });
    expect(recordsOf(dataDir, 'crash')).toEqual([]);
    const backends = await startLocalBackends({ dataDir, buckets: [], account: ACCOUNT, region: REGION });
    try {
      const records = recordsOf(dataDir, 'crash');
      expect(records).toEqual([
        expect.objectContaining({
          eventName: 'INSERT',
          dynamodb: expect.objectContaining({ NewImage: { pk: { S: 'applied' }, v: { S: '1' } } }),
        }),
      ]);
      const dynamo = client(backends);
      await dynamo.send(new PutItemCommand({ TableName: 'crash', Item: { pk: { S: 'next' } } }));
      dynamo.destroy();
      const after = recordsOf(dataDir, 'crash');
      expect(after.map((r) => (r.dynamodb.Keys.pk as { S: string }).S)).toEqual(['applied', 'next']);
      expect(Number(after[1]?.dynamodb.SequenceNumber)).toBeGreaterThan(Number(after[0]?.dynamodb.SequenceNumber));
    } finally {
      await backends.close();
    }
    // A second restart finds nothing open: no duplicate.
    const again = await startLocalBackends({ dataDir, buckets: [], account: ACCOUNT, region: REGION });
    await again.close();
    expect(recordsOf(dataDir, 'crash')).toHaveLength(2);
  });

  it('GIVEN a kill before dynalite saw the write WHEN restarted THEN nothing is journaled and the item is absent', async () => {
    await crashOnWrite('crash2', 'before-write', { pk: { S: 'lost' } });
    const backends = await startLocalBackends({ dataDir, buckets: [], account: ACCOUNT, region: REGION });
    try {
      expect(recordsOf(dataDir, 'crash2')).toEqual([]);
      const dynamo = client(backends);
      const item = await dynamo.send(new GetItemCommand({ TableName: 'crash2', Key: { pk: { S: 'lost' } } }));
      dynamo.destroy();
      expect(item.Item).toBeUndefined();
      expect(readFileSync(journalFile(dataDir, 'crash2'), 'utf8')).toMatch(/"t":"done"/);
    } finally {
      await backends.close();
    }
  });
});
