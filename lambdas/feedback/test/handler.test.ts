// Feedback handlers (middy, validation, error mapper, env wiring) against dynalite and s3rver; the bus in memory.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, EventBridgeEvent } from 'aws-lambda';
import { type LocalServer, startDynalite, startS3rver } from '../../features/test/local-servers.js';
import { InMemoryEventPublisher } from '../../shared/adapters/event-publisher.js';
import { openReviewItem, resolveReviewByLabel } from '../../shared/adapters/review-items.js';
import { dynamoDocumentClient, s3Client } from '../../shared/aws.js';
import { reviewItemKey } from '../../shared/contracts/decisions-table.js';
import { createPowertools } from '../../shared/powertools.js';
import { createTable, TABLES } from '../../shared/test/local.js';
import { decisionRecord } from '../../shared/test/records.js';
import { DynamoLabelStore, S3GroundTruthSink } from '../adapters.js';
import { createHttpHandler } from '../app.js';

const TABLE = 'labels';
const DECISIONS = 'decisions';
const BUCKET = 'monitoring';
const PREFIX = 'fraud-detector/ground-truth';
let dynamo: LocalServer;
let s3server: LocalServer;
let busEntry: typeof import('../events-handler.js');
const context = { awsRequestId: 'req-ctx', functionName: 'feedback' } as Context;

const apiEvent = (
  body: unknown,
  authorizer: Record<string, string> = { clientId: 'c', scopes: 'aims/feedback' },
): APIGatewayProxyEvent =>
  ({
    body: JSON.stringify(body),
    isBase64Encoded: false,
    headers: {},
    pathParameters: null,
    queryStringParameters: null,
    requestContext: { requestId: 'req-9', authorizer },
  }) as unknown as APIGatewayProxyEvent;
const labelEvent = (detail: unknown) =>
  ({ 'detail-type': 'LabelReported', source: 'aims.external', detail, id: 'e' }) as EventBridgeEvent<string, unknown>;

async function groundTruthLines(): Promise<string[]> {
  const s3 = s3Client(s3server.clientOptions);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/` }));
  const lines: string[] = [];
  for (const o of list.Contents ?? []) {
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key }));
    lines.push(...((await obj.Body?.transformToString()) ?? '').trim().split('\n'));
  }
  s3.destroy();
  return lines;
}

beforeAll(async () => {
  [dynamo, s3server] = await Promise.all([startDynalite(), startS3rver()]);
  const raw = new DynamoDBClient(dynamo.clientOptions);
  await raw.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'transactionId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'transactionId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await createTable(raw, TABLES.decisions(DECISIONS));
  raw.destroy();
  const s3 = s3Client(s3server.clientOptions);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'feedback',
    POWERTOOLS_METRICS_NAMESPACE: 'AimsTest',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: 'eu-west-1',
    // s3rver accepts only its own key pair; dynalite accepts any.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_S3: s3server.endpoint,
    LABELS_TABLE: TABLE,
    GROUND_TRUTH_BUCKET: BUCKET,
    GROUND_TRUTH_PREFIX: PREFIX,
    DECISIONS_TABLE: DECISIONS,
    EVENT_BUS_NAME: 'aims-test',
  });
  await import('../handler.js');
  busEntry = await import('../events-handler.js');
});
afterAll(async () => {
  await Promise.all([dynamo.close(), s3server.close()]);
});

function httpWithMemoryBus() {
  const events = new InMemoryEventPublisher();
  const doc = dynamoDocumentClient(dynamo.clientOptions);
  const handler = createHttpHandler({
    powertools: createPowertools({ serviceName: 'feedback' }),
    labels: new DynamoLabelStore(doc, TABLE),
    reviews: { resolveByLabel: (id, at) => resolveReviewByLabel(doc, DECISIONS, id, at) },
    groundTruth: new S3GroundTruthSink(s3Client(s3server.clientOptions), BUCKET),
    events,
    groundTruthPrefix: PREFIX,
  });
  return { handler, events };
}

describe('POST /v1/feedback (handler)', () => {
  it('GIVEN a label WHEN posted THEN 200 with the label in force, ground truth written, LabelReported published', async () => {
    const { handler, events } = httpWithMemoryBus();
    const label = { transactionId: 'fb-1', isFraud: true, reportedAt: '2026-11-23T05:00:00Z' };
    const res = (await handler(apiEvent(label), context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ transactionId: 'fb-1', isFraud: true, recordedAt: expect.any(String) });
    expect(await groundTruthLines()).toContain(
      '{"groundTruthData":{"data":"1","encoding":"CSV"},"eventMetadata":{"eventId":"fb-1"},"eventVersion":"0"}',
    );
    // The default source is applied before the event is built.
    expect(events.published).toEqual([
      { detailType: 'LabelReported', source: 'aims.feedback', data: { ...label, source: 'chargeback' } },
    ]);
  });

  it('GIVEN an older label than the stored one WHEN posted THEN the stored verdict is answered and nothing is sent', async () => {
    const { handler, events } = httpWithMemoryBus();
    await handler(apiEvent({ transactionId: 'fb-2', isFraud: false, reportedAt: '2026-11-22T10:00:00Z' }), context);
    const res = (await handler(
      apiEvent({ transactionId: 'fb-2', isFraud: true, reportedAt: '2026-11-21T10:00:00Z' }),
      context,
    )) as APIGatewayProxyResult;
    expect(JSON.parse(res.body)).toMatchObject({ transactionId: 'fb-2', isFraud: false });
    expect(events.published).toHaveLength(1);
  });

  it('GIVEN a pending review WHEN a person posts its label THEN the label keeps the actor and the review is resolved', async () => {
    const { handler } = httpWithMemoryBus();
    const doc = dynamoDocumentClient(dynamo.clientOptions);
    expect(await openReviewItem(doc, DECISIONS, decisionRecord('t-77', { decision: 'review' }))).toBe(true);
    const person = { clientId: 'analyst-console', scopes: 'aims/feedback', principal: 'ana' };
    const label = { transactionId: 't-77', isFraud: true, reportedAt: '2026-11-23T05:00:00Z', source: 'analyst' };
    const res = (await handler(apiEvent(label, person), context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(200);
    const stored = await doc.send(new GetCommand({ TableName: TABLE, Key: { transactionId: 't-77' } }));
    expect(stored.Item?.actor).toEqual({ principal: 'ana', clientId: 'analyst-console' });
    const item = await doc.send(
      new GetCommand({ TableName: DECISIONS, Key: { transactionId: reviewItemKey('t-77') } }),
    );
    expect(item.Item).toMatchObject({ status: 'resolved', resolvedBy: 'label', resolvedAt: expect.any(String) });
    expect(item.Item?.dayBucket).toBeUndefined();
  });

  it('GIVEN a machine client WHEN it posts a label THEN no actor is stored (the client is its own record)', async () => {
    const { handler } = httpWithMemoryBus();
    const label = { transactionId: 'fb-m', isFraud: false, reportedAt: '2026-11-23T05:00:00Z' };
    await handler(apiEvent(label, { clientId: 'chargeback-feed', principalId: 'chargeback-feed' }), context);
    const doc = dynamoDocumentClient(dynamo.clientOptions);
    const stored = await doc.send(new GetCommand({ TableName: TABLE, Key: { transactionId: 'fb-m' } }));
    expect(stored.Item).toBeDefined();
    expect(stored.Item?.actor).toBeUndefined();
  });

  it('GIVEN an invalid label WHEN posted THEN 400 validation_error and nothing stored', async () => {
    const { handler, events } = httpWithMemoryBus();
    const res = (await handler(apiEvent({ transactionId: 'fb-3', isFraud: 'yes' }), context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('validation_error');
    expect(events.published).toEqual([]);
  });
});

describe('onLabelReported (bus target)', () => {
  it('GIVEN an external LabelReported WHEN handled THEN stored and ground truth written (no republish needed)', async () => {
    await busEntry.handler(
      labelEvent({ version: 1, data: { transactionId: 'fb-bus', isFraud: false, reportedAt: '2026-11-23T06:00:00Z' } }),
      context,
    );
    expect(await groundTruthLines()).toContain(
      '{"groundTruthData":{"data":"0","encoding":"CSV"},"eventMetadata":{"eventId":"fb-bus"},"eventVersion":"0"}',
    );
  });

  it('GIVEN a malformed LabelReported WHEN handled THEN it throws (retries, then the rule DLQ)', async () => {
    await expect(busEntry.handler(labelEvent({ version: 1, data: { transactionId: 'x' } }), context)).rejects.toThrow(
      /invalid LabelReported event detail/,
    );
  });
});
