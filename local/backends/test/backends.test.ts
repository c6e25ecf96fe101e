// startLocalBackends: dynalite, kinesalite and s3rver in their own process, driven by real SDK v3 clients; a clean
// stop keeps the data for the next start, and a crash is reported with the log's tail.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { isAlive } from '../../../test/support/process.js';
import { type LocalBackends, startLocalBackends } from '../index.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'eu-west-1';

function clients(b: LocalBackends) {
  return {
    dynamo: new DynamoDBClient({ endpoint: b.endpoints.dynamodb, region, credentials }),
    kinesis: new KinesisClient({
      endpoint: b.endpoints.kinesis,
      region,
      credentials,
      requestHandler: new NodeHttpHandler(),
    }),
    s3: new S3Client({ endpoint: b.endpoints.s3, region, credentials, forcePathStyle: true }),
  };
}

describe('startLocalBackends', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aims-backends-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('GIVEN the process isolation WHEN started, written to, stopped and started again THEN the data is still there', async () => {
    const first = await startLocalBackends({ dataDir, buckets: ['lake'] });
    const pid = first.pid as number;
    try {
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(process.pid);
      expect(first.logFile).toBe(join(dataDir, 'logs', 'backends.log'));
      for (const url of Object.values(first.endpoints)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const c = clients(first);
      await c.dynamo.send(
        new CreateTableCommand({
          TableName: 'items',
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
        }),
      );
      await c.dynamo.send(new PutItemCommand({ TableName: 'items', Item: { id: { S: 'a' }, n: { N: '7' } } }));
      await c.kinesis.send(new CreateStreamCommand({ StreamName: 'events', ShardCount: 1 }));
      await c.s3.send(new PutObjectCommand({ Bucket: 'lake', Key: 'k/1.txt', Body: 'hello' }));
      for (const client of Object.values(c)) client.destroy();
    } finally {
      await first.close();
    }
    expect(isAlive(pid)).toBe(false);
    expect(first.failure()).toBeUndefined();
    expect(readFileSync(join(dataDir, 'logs', 'backends.log'), 'utf8')).toMatch(/stopping the backends \(asked by/);

    const second = await startLocalBackends({ dataDir, buckets: ['lake'] });
    try {
      expect(second.pid).not.toBe(pid);
      const c = clients(second);
      const item = await c.dynamo.send(new GetItemCommand({ TableName: 'items', Key: { id: { S: 'a' } } }));
      expect(item.Item?.n?.N).toBe('7');
      expect((await c.kinesis.send(new ListStreamsCommand({}))).StreamNames).toEqual(['events']);
      const object = await c.s3.send(new GetObjectCommand({ Bucket: 'lake', Key: 'k/1.txt' }));
      expect(await object.Body?.transformToString()).toBe('hello');
      for (const client of Object.values(c)) client.destroy();
    } finally {
      await second.close();
    }
  });

  it('GIVEN a running backends process WHEN it dies THEN onCrash gets an error naming it and its log', async () => {
    const crashes: Error[] = [];
    let crashed: () => void = () => {};
    const firstCrash = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const backends = await startLocalBackends({
      dataDir: join(dataDir, 'crash'),
      buckets: [],
      onCrash: (error) => {
        crashes.push(error);
        crashed();
      },
    });
    process.kill(backends.pid as number, 'SIGKILL');
    await firstCrash;
    expect(crashes).toHaveLength(1);
    expect(crashes[0]?.message).toMatch(/local backends process .* exited unexpectedly \(SIGKILL\)/);
    expect(crashes[0]?.message).toContain(join(dataDir, 'crash', 'logs', 'backends.log'));
    expect(backends.failure()).toBe(crashes[0]);
    await expect(backends.close()).resolves.toBeUndefined();
  });

  it('GIVEN a data path that cannot be a folder WHEN started THEN the start fails with the cause and the log', async () => {
    const blocked = join(dataDir, 'blocked');
    await startLocalBackends({ dataDir: blocked, buckets: [] }).then((b) => b.close());
    rmSync(join(blocked, 'dynamodb'), { recursive: true, force: true });
    // A file where the dynalite folder should be: mkdir fails inside the child.
    writeFileSync(join(blocked, 'dynamodb'), 'not a folder');
    await expect(startLocalBackends({ dataDir: blocked, buckets: [] })).rejects.toThrow(
      /local backends process .* failed to start: .*(EEXIST|ENOTDIR).*its log: .*backends\.log/s,
    );
    expect(existsSync(join(blocked, 'logs', 'backends.log'))).toBe(true);
  });

  it('GIVEN the in-process isolation WHEN started THEN the servers run here, with no pid or log', async () => {
    const backends = await startLocalBackends({
      dataDir: join(dataDir, 'inproc'),
      buckets: [],
      isolation: 'in-process',
    });
    try {
      expect(backends.pid).toBeUndefined();
      const c = clients(backends);
      expect((await c.kinesis.send(new ListStreamsCommand({}))).StreamNames).toEqual([]);
      for (const client of Object.values(c)) client.destroy();
    } finally {
      await backends.close();
    }
  });
});
