// The review routes end to end on dynalite: overrides (POST /v1/decisions/{id}/overrides) through their handler, and
// what the read routes then show — the decisions list, the review queue, the audit trail, the live figures.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDayIndex, DynamoLabelReader, DynamoReviewItems } from '../../decisions/adapters.js';
import { createDecisionsHandler } from '../../decisions/app.js';
import { DynamoDecisionStore } from '../../shared/adapters/decision-store.js';
import { openReviewItem } from '../../shared/adapters/review-items.js';
import { dynamoDocumentClient } from '../../shared/aws.js';
import { AuditTrail, DecisionsPage, LiveStats, OverrideRecord } from '../../shared/contracts/review.js';
import { ErrorBody } from '../../shared/errors.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { createTable, type LocalServer, startDynalite, TABLES } from '../../shared/test/local.js';
import { decisionRecord } from '../../shared/test/records.js';
import { dynamoOverridePorts } from '../adapters.js';
import { createReviewHandler } from '../app.js';

quietPowertools();

const NOW = new Date('2026-12-07T15:30:00.000Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();
const analyst = { clientId: 'analyst-console', scopes: 'aims/read aims/review', principal: 'ana' };
let dynamo: LocalServer;

beforeAll(async () => {
  dynamo = await startDynalite();
  const client = new DynamoDBClient(dynamo.clientOptions);
  await createTable(client, TABLES.decisions('decisions'));
  await createTable(client, {
    ...TABLES.idempotency('labels'),
    AttributeDefinitions: [{ AttributeName: 'transactionId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'transactionId', KeyType: 'HASH' }],
  });
  client.destroy();
  const doc = dynamoDocumentClient(dynamo.clientOptions);
  const store = new DynamoDecisionStore(doc, 'decisions', () => NOW);
  // Yesterday and today (UTC): two day buckets; r-* are review decisions (their review items opened as the outbox does).
  const records = [
    decisionRecord('a-1', { decidedAt: minutesAgo(24 * 60), decision: 'approve', latencyMs: 5 }),
    decisionRecord('r-1', { decidedAt: minutesAgo(20), decision: 'review', latencyMs: 9 }),
    decisionRecord('d-1', { decidedAt: minutesAgo(10), decision: 'decline', latencyMs: 7, customerId: 'c-9' }),
    decisionRecord('r-2', { decidedAt: minutesAgo(5), decision: 'review', latencyMs: 11 }),
    decisionRecord('r-3', { decidedAt: minutesAgo(2), decision: 'review', latencyMs: 3 }),
  ];
  for (const r of records) {
    await store.putIfAbsent(r);
    if (r.decision === 'review') await openReviewItem(doc, 'decisions', r);
  }
  await doc.send(
    new PutCommand({
      TableName: 'labels',
      Item: {
        transactionId: 'r-2',
        isFraud: true,
        source: 'analyst',
        reportedAt: minutesAgo(1),
        reportedAtMs: 0,
        storedAt: minutesAgo(1),
        actor: { principal: 'ana', clientId: 'analyst-console' },
      },
    }),
  );
});
afterAll(async () => {
  await dynamo.close();
});

const powertools = () => createPowertools({ serviceName: 'test' });
const reads = () => {
  const doc = dynamoDocumentClient(dynamo.clientOptions);
  return createDecisionsHandler({
    powertools: powertools(),
    decisions: new DynamoDecisionStore(doc, 'decisions', () => NOW),
    index: new DynamoDayIndex(doc, 'decisions'),
    reviews: new DynamoReviewItems(doc, 'decisions'),
    labels: new DynamoLabelReader(doc, 'labels'),
    retentionDays: 30,
    now: () => NOW,
  });
};
let ids = 0;
const override = (id: string, body: unknown, authorizer: Record<string, string> = analyst) =>
  createReviewHandler({
    powertools: powertools(),
    ports: {
      ...dynamoOverridePorts(dynamoDocumentClient(dynamo.clientOptions), 'decisions', () => NOW),
      newId: () => `ov-${++ids}`,
    },
  })(
    apiEvent({ method: 'POST', resource: '/v1/decisions/{id}/overrides', pathParameters: { id }, body, authorizer }),
    lambdaContext('review'),
  );
const get = async (resource: string, query: Record<string, string> = {}, pathParameters?: Record<string, string>) => {
  const event = apiEvent({ method: 'GET', resource, ...(pathParameters ? { pathParameters } : {}) });
  const res = await reads()({ ...event, queryStringParameters: query }, lambdaContext('decisions'));
  return { status: res.statusCode, body: JSON.parse(res.body) as unknown };
};
const page = async (resource: string, query: Record<string, string> = {}) => {
  const res = await get(resource, query);
  expect(res.status).toBe(200);
  return DecisionsPage.parse(res.body);
};

describe('GET /v1/decisions and /v1/review-queue', () => {
  it('GIVEN decisions over two UTC days WHEN listed THEN newest first across the days', async () => {
    const { items, nextCursor } = await page('/v1/decisions');
    expect(items.map((i) => i.transactionId)).toEqual(['r-3', 'r-2', 'd-1', 'r-1', 'a-1']);
    expect(nextCursor).toBeUndefined();
    expect(items[0]).toMatchObject({ decision: 'review', review: { status: 'pending' }, amount: 129.9 });
  });

  it('GIVEN a limit WHEN paged with the cursor THEN every decision once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const p = await page('/v1/decisions', { limit: '2', ...(cursor ? { cursor } : {}) });
      seen.push(...p.items.map((x) => x.transactionId));
      cursor = p.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['r-3', 'r-2', 'd-1', 'r-1', 'a-1']);
  });

  it('GIVEN filters WHEN listed THEN only matching decisions', async () => {
    expect((await page('/v1/decisions', { decision: 'decline' })).items.map((i) => i.transactionId)).toEqual(['d-1']);
    expect((await page('/v1/decisions', { customerId: 'c-9' })).items.map((i) => i.transactionId)).toEqual(['d-1']);
    expect(
      (await page('/v1/decisions', { from: minutesAgo(6), to: minutesAgo(1) })).items.map((i) => i.transactionId),
    ).toEqual(['r-3', 'r-2']);
    expect((await page('/v1/decisions', { minAmount: '200' })).items).toEqual([]);
  });

  it('GIVEN a tampered or foreign cursor WHEN listed THEN 400 validation_error', async () => {
    for (const cursor of ['nope', Buffer.from('{"d":"2026-12-07","i":"x#y","a":"z"}').toString('base64url')]) {
      const res = await get('/v1/decisions', { cursor });
      expect(res.status).toBe(400);
      expect(ErrorBody.parse(res.body).error.code).toBe('validation_error');
    }
  });

  it('GIVEN pending review decisions WHEN the queue is read THEN newest first, each pending', async () => {
    const { items } = await page('/v1/review-queue');
    expect(items.map((i) => i.transactionId)).toEqual(['r-3', 'r-2', 'r-1']);
    expect(items.every((i) => i.review?.status === 'pending')).toBe(true);
  });
});

describe('POST /v1/decisions/{id}/overrides and GET /v1/decisions/{id}/audit', () => {
  it('GIVEN a review decision WHEN overridden THEN 201, a new record, the queue drops it and the audit shows it', async () => {
    const res = await override('r-1', { decision: 'decline', note: 'card reported stolen' });
    expect(res.statusCode).toBe(201);
    const record = OverrideRecord.parse(JSON.parse(res.body));
    expect(record).toMatchObject({
      transactionId: 'r-1',
      previousDecision: 'review',
      decision: 'decline',
      actor: { principal: 'ana', clientId: 'analyst-console' },
    });
    expect((await page('/v1/review-queue')).items.map((i) => i.transactionId)).toEqual(['r-3', 'r-2']);
    const audit = await get('/v1/decisions/{id}/audit', {}, { id: 'r-1' });
    expect(AuditTrail.parse(audit.body)).toEqual({
      transactionId: 'r-1',
      overrides: [record],
      review: { status: 'resolved', resolvedBy: 'override', resolvedAt: record.overriddenAt },
      effectiveDecision: 'decline',
    });
    // The original audit record is untouched.
    expect((await get('/v1/decisions/{id}', {}, { id: 'r-1' })).body).toMatchObject({ decision: 'review' });
    const listed = (await page('/v1/decisions')).items.find((i) => i.transactionId === 'r-1');
    expect(listed).toMatchObject({ overriddenTo: 'decline', review: { status: 'resolved', resolvedBy: 'override' } });
  });

  it('GIVEN an override WHEN the same decision is asked again THEN 409; another decision THEN a second record', async () => {
    expect((await override('r-1', { decision: 'decline', note: 'again' })).statusCode).toBe(409);
    const second = await override('r-1', { decision: 'approve', note: 'customer confirmed' });
    expect(second.statusCode).toBe(201);
    const audit = AuditTrail.parse((await get('/v1/decisions/{id}/audit', {}, { id: 'r-1' })).body);
    expect(audit.overrides.map((o) => [o.previousDecision, o.decision])).toEqual([
      ['review', 'decline'],
      ['decline', 'approve'],
    ]);
    expect(audit.effectiveDecision).toBe('approve');
  });

  it('GIVEN an unknown decision or a bad body WHEN overridden THEN 404 / 400', async () => {
    expect((await override('nope', { decision: 'approve', note: 'x' })).statusCode).toBe(404);
    expect((await override('d-1', { decision: 'approve' })).statusCode).toBe(400);
    expect((await override('d-1', { decision: 'decline', note: 'x' })).statusCode).toBe(409);
  });

  it('GIVEN a labelled review decision WHEN its audit is read THEN the label with its actor, the review resolved by it', async () => {
    const audit = AuditTrail.parse((await get('/v1/decisions/{id}/audit', {}, { id: 'r-2' })).body);
    expect(audit).toMatchObject({
      label: { isFraud: true, source: 'analyst', actor: { principal: 'ana' } },
      review: { status: 'resolved', resolvedBy: 'label' },
      effectiveDecision: 'review',
    });
    expect((await get('/v1/decisions/{id}/audit', {}, { id: 'zzz' })).status).toBe(404);
  });
});

describe('GET /v1/stats/live', () => {
  it('GIVEN decisions in the last half hour WHEN read for 30 minutes THEN per-minute counts, rates and latency', async () => {
    const res = await get('/v1/stats/live', { minutes: '30' });
    expect(res.status).toBe(200);
    const stats = LiveStats.parse(res.body);
    expect(stats.minutes).toHaveLength(30);
    const total = stats.minutes.reduce((n, m) => n + m.approve + m.review + m.decline, 0);
    expect(total).toBe(4);
    const busy = stats.minutes.find((m) => m.minute === '2026-12-07T15:10:00.000Z');
    expect(busy).toEqual({
      minute: '2026-12-07T15:10:00.000Z',
      approve: 0,
      review: 1,
      decline: 0,
      flaggedRate: 1,
      latencyP50Ms: 9,
      latencyP99Ms: 9,
    });
    expect((await get('/v1/stats/live', { minutes: '0' })).status).toBe(400);
  });
});
