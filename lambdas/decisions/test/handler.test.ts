// GET /v1/decisions/{id} end to end on dynalite: found, absent, expired, malformed id.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDecisionStore } from '../../shared/adapters/decision-store.js';
import { dynamoDocumentClient } from '../../shared/aws.js';
import { type DecisionRecord, DecisionRecord as DecisionRecordSchema } from '../../shared/contracts/api.js';
import { ErrorBody } from '../../shared/errors.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { createTable, type LocalServer, startDynalite, TABLES } from '../../shared/test/local.js';
import { DynamoDayIndex, DynamoLabelReader, DynamoReviewItems } from '../adapters.js';
import { createDecisionsHandler } from '../app.js';

quietPowertools();

let dynamo: LocalServer;
let store: DynamoDecisionStore;
const now = Math.floor(Date.now() / 1000);

const record = (id: string, expiresAt: number): DecisionRecord => ({
  transactionId: id,
  customerId: 'c-1',
  transaction: {
    transactionId: id,
    customerId: 'c-1',
    merchantId: 'm-1',
    merchantCategory: 'travel',
    amount: 900,
    currency: 'EUR',
    country: 'FR',
    channel: 'online',
    timestamp: '2026-11-01T12:00:00Z',
  },
  decision: 'decline',
  score: 0.93,
  degraded: true,
  reasons: ['country FR is new or rare for this customer'],
  explanation: [{ feature: 'is_new_country', contribution: 0.3 }],
  model: { name: 'rules', version: '1' },
  features: { is_new_country: 1 },
  featureHash: 'c'.repeat(64),
  requestHash: 'd'.repeat(64),
  latencyMs: 3,
  decidedAt: '2026-11-01T12:00:00.100Z',
  expiresAt,
});

beforeAll(async () => {
  dynamo = await startDynalite();
  const client = new DynamoDBClient(dynamo.clientOptions);
  await createTable(client, TABLES.decisions('decisions'));
  client.destroy();
  store = new DynamoDecisionStore(dynamoDocumentClient(dynamo.clientOptions), 'decisions');
  await store.putIfAbsent(record('t-live', now + 3600));
  await store.putIfAbsent(record('t-old', now - 1));
});
afterAll(async () => {
  await dynamo.close();
});

const handler = () => {
  const doc = dynamoDocumentClient(dynamo.clientOptions);
  return createDecisionsHandler({
    powertools: createPowertools({ serviceName: 'decisions' }),
    decisions: store,
    index: new DynamoDayIndex(doc, 'decisions'),
    reviews: new DynamoReviewItems(doc, 'decisions'),
    labels: new DynamoLabelReader(doc, 'labels'),
    retentionDays: 30,
  });
};
const get = (id: string) =>
  handler()(
    apiEvent({ method: 'GET', resource: '/v1/decisions/{id}', pathParameters: { id } }),
    lambdaContext('decisions'),
  );

describe('GET /v1/decisions/{id}', () => {
  it('GIVEN a stored decision WHEN read THEN 200 with the audit record', async () => {
    const res = await get('t-live');
    expect(res.statusCode).toBe(200);
    expect(DecisionRecordSchema.parse(JSON.parse(res.body))).toEqual(record('t-live', now + 3600));
  });

  it.each([
    ['absent', 't-none'],
    ['past expiresAt (dynalite keeps it)', 't-old'],
  ])('GIVEN a decision %s WHEN read THEN 404 not_found', async (_case, id) => {
    const res = await get(id);
    expect(res.statusCode).toBe(404);
    expect(ErrorBody.parse(JSON.parse(res.body))).toMatchObject({ error: { code: 'not_found' } });
  });

  it('GIVEN an id outside the transactionId pattern WHEN read THEN 400 validation_error', async () => {
    const res = await get('bad id!');
    expect(res.statusCode).toBe(400);
    expect(ErrorBody.parse(JSON.parse(res.body)).error.code).toBe('validation_error');
  });
});
