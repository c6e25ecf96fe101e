// Feedback adapters against dynalite and s3rver with the real SDK: newest label wins, ground truth lands where Model Monitor reads.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Label } from '../../../models/shared/contracts/transaction.js';
import { type LocalServer, startDynalite, startS3rver } from '../../features/test/local-servers.js';
import { InMemoryEventPublisher } from '../../shared/adapters/event-publisher.js';
import { dynamoDocumentClient, s3Client } from '../../shared/aws.js';
import { busAnnouncer, DynamoLabelStore, S3GroundTruthSink } from '../adapters.js';
import { groundTruthLine, recordLabel, type StoredLabel } from '../core.js';

let dynamo: LocalServer;
let s3server: LocalServer;
let doc: DynamoDBDocumentClient;
let s3: S3Client;
const TABLE = 'labels';
const BUCKET = 'ground-truth';

beforeAll(async () => {
  [dynamo, s3server] = await Promise.all([startDynalite(), startS3rver()]);
  doc = dynamoDocumentClient(dynamo.clientOptions);
  s3 = s3Client(s3server.clientOptions);
  const raw = new DynamoDBClient(dynamo.clientOptions);
  await raw.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'transactionId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'transactionId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  raw.destroy();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  doc.destroy();
  s3.destroy();
  await Promise.all([dynamo.close(), s3server.close()]);
});

const stored = (transactionId: string, reportedAt: string, isFraud: boolean): StoredLabel => ({
  transactionId,
  isFraud,
  reportedAt,
  source: 'chargeback',
  reportedAtMs: Date.parse(reportedAt),
  storedAt: '2026-11-23T00:00:00.000Z',
});

describe('DynamoLabelStore', () => {
  it('GIVEN a stored label WHEN an older one comes THEN superseded with the stored one; a newer one THEN stored', async () => {
    const labels = new DynamoLabelStore(doc, TABLE);
    const first = stored('tx-a', '2026-11-20T22:30:00Z', false);
    expect(await labels.putIfNotOlder(first)).toEqual({ stored: true, current: first });
    // Later as a string, earlier in time (21:00Z): must lose.
    const older = stored('tx-a', '2026-11-21T00:00:00+03:00', true);
    expect(await labels.putIfNotOlder(older)).toEqual({ stored: false, current: first });
    const newer = stored('tx-a', '2026-11-22T09:00:00Z', true);
    expect(await labels.putIfNotOlder(newer)).toEqual({ stored: true, current: newer });
  });

  it('GIVEN the same label twice WHEN stored THEN both calls succeed (a retried request is not an error)', async () => {
    const labels = new DynamoLabelStore(doc, TABLE);
    const label = stored('tx-b', '2026-11-20T10:00:00Z', true);
    expect((await labels.putIfNotOlder(label)).stored).toBe(true);
    expect((await labels.putIfNotOlder(label)).stored).toBe(true);
  });
});

describe('recordLabel over the real adapters', () => {
  it('GIVEN a label WHEN recorded THEN the ground-truth object is one jsonl line under <prefix>/yyyy/MM/dd/HH/', async () => {
    const events = new InMemoryEventPublisher();
    const label: Label = {
      transactionId: 'tx-c',
      isFraud: true,
      reportedAt: '2026-11-23T06:00:00Z',
      source: 'analyst',
    };
    const result = await recordLabel(label, {
      labels: new DynamoLabelStore(doc, TABLE),
      groundTruth: new S3GroundTruthSink(s3, BUCKET),
      announcer: busAnnouncer(events),
      groundTruthPrefix: 'fraud-detector/ground-truth',
      // The review items are the decisions table's (lambdas/feedback/test/handler.test.ts resolves one for real).
      reviews: { resolveByLabel: async () => undefined },
      now: () => new Date('2026-11-23T07:59:59Z'),
    });
    expect(result.stored).toBe(true);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'fraud-detector/ground-truth/' }));
    const keys = (list.Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual([result.groundTruthKey]);
    expect(result.groundTruthKey).toMatch(/^fraud-detector\/ground-truth\/2026\/11\/23\/07\/[0-9a-f-]{36}\.jsonl$/);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: result.groundTruthKey }));
    expect(await object.Body?.transformToString()).toBe(`${groundTruthLine(label)}\n`);
    expect(events.published).toEqual([{ detailType: 'LabelReported', source: 'aims.feedback', data: label }]);
  });
});
