// The predict handler end to end: the middy stack over in-memory ports (body by the module's schema, the idempotency
// header, the error JSON), then the deployed wiring (env → adapters) against dynalite and the real local model server
// serving merchant-risk's bootstrap artifact.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { LocalModelEndpoint } from '../../../local/model-endpoint.js';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import { derive } from '../../outbox/core.js';
import { PredictionRecord, PredictResponse } from '../../shared/contracts/api.js';
import { aggregateKey } from '../../shared/contracts/features.js';
import { ErrorBody } from '../../shared/errors.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import {
  createTable,
  type LocalServer,
  startBootstrapEndpoint,
  startDynalite,
  TABLES,
} from '../../shared/test/local.js';
import { createPredictHandler, predictDepsFromEnv } from '../app.js';
import { day, harness, quietWeek } from './fakes.js';

quietPowertools();
const RESOURCE = '/v1/models/merchant-risk/predict';

function stack() {
  const h = harness();
  const handler = createPredictHandler({
    powertools: createPowertools({ serviceName: 'predict' }),
    ports: h.ports,
    config: h.config,
  });
  const call = (body: unknown, headers: Record<string, string> = { 'Idempotency-Key': 'k-1' }, requestId = 'req-1') =>
    handler(apiEvent({ resource: RESOURCE, body, headers, requestId }), lambdaContext('predict'));
  return { h, call };
}

describe('POST /v1/models/merchant-risk/predict handler', () => {
  it('GIVEN a valid merchant-day and a key WHEN posted THEN 200 with a PredictResponse', async () => {
    const { call } = stack();
    const res = await call(day({ nightCount: 3 }));
    expect(res.statusCode).toBe(200);
    expect(PredictResponse.parse(JSON.parse(res.body))).toMatchObject({
      auditId: 'prediction#merchant-risk#k-1',
      prediction: { outcome: 'block-review' },
    });
  });

  it.each([
    ['no key', {}],
    ['a key with a space', { 'idempotency-key': 'a b' }],
  ])('GIVEN %s WHEN posted THEN 400 validation_error naming the header, and no model call', async (_, headers) => {
    const { h, call } = stack();
    const res = await call(day(), headers);
    expect(res.statusCode).toBe(400);
    const body = ErrorBody.parse(JSON.parse(res.body));
    expect(body.error).toMatchObject({ code: 'validation_error', message: expect.stringMatching(/idempotency-key/) });
    expect(h.model.calls).toHaveLength(0);
  });

  it('GIVEN a body the model’s schema refuses WHEN posted THEN 400 with one detail per problem', async () => {
    const { h, call } = stack();
    const res = await call({ ...day(), nightCount: 99, date: 'yesterday' });
    expect(res.statusCode).toBe(400);
    const details = ErrorBody.parse(JSON.parse(res.body)).error.details as { path: string }[];
    expect(details.map((d) => d.path).sort()).toEqual(['date', 'nightCount']);
    expect(h.predictions.records.size).toBe(0);
  });

  it('GIVEN a used key WHEN another body is posted under it THEN 409 conflict in the error JSON', async () => {
    const { call } = stack();
    await call(day());
    const res = await call(day({ count: 12 }), { 'idempotency-key': 'k-1' }, 'req-2');
    expect(res.statusCode).toBe(409);
    expect(ErrorBody.parse(JSON.parse(res.body))).toMatchObject({ error: { code: 'conflict' }, requestId: 'req-2' });
  });
});

describe('the predict wiring as deployed, against dynalite and the local model server (merchant-risk bootstrap)', () => {
  let dynamo: LocalServer;
  let endpoint: LocalModelEndpoint;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aims-predict-'));
    [dynamo, endpoint] = await Promise.all([startDynalite(), startBootstrapEndpoint('merchant-risk', dir)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([endpoint?.close(), dynamo?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN env pointing at both WHEN a merchant-day is predicted, retried and reused THEN the model answers, one audit record the outbox relays, 409 for another body', async () => {
    const client = new DynamoDBClient(dynamo.clientOptions);
    const doc = DynamoDBDocumentClient.from(client);
    for (const t of [TABLES.features('p-features'), TABLES.decisions('p-decisions')]) await createTable(client, t);
    // The merchant's quiet week, as the features table holds it under its kind.
    await doc.send(
      new PutCommand({
        TableName: 'p-features',
        Item: { pk: aggregateKey('merchantHistory', 'm-1'), state: quietWeek() },
      }),
    );
    // The SDK clients read their endpoints from the process environment, as in Lambda.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: endpoint.url,
    });
    try {
      const handler = createPredictHandler(
        predictDepsFromEnv(merchantRisk, {
          ...process.env,
          POWERTOOLS_SERVICE_NAME: 'predict',
          POWERTOOLS_METRICS_NAMESPACE: 'aims-test',
          AWS_REGION: 'eu-west-1',
          FEATURES_TABLE: 'p-features',
          DECISIONS_TABLE: 'p-decisions',
          MODEL_ENDPOINT_NAME: 'aims-dev-merchant-risk',
          MODEL_NAME: 'merchant-risk',
          // Generous: the point is the model's answer, not this shared machine's latency.
          MODEL_TIMEOUT_MS: '5000',
          MODEL_THRESHOLDS: '{"watch":0.07,"blockReview":0.25}',
          DECISION_TTL_DAYS: '30',
        }),
      );
      const probed = day({ count: 14, amountSum: 450, smallCount: 8, newCustomers: 9, nightCount: 6 });
      const call = (body: unknown, key: string) =>
        handler(apiEvent({ resource: RESOURCE, body, headers: { 'idempotency-key': key } }), lambdaContext('predict'));
      const quietRes = await call(day(), 'quiet');
      expect(quietRes.statusCode).toBe(200);
      const quiet = PredictResponse.parse(JSON.parse(quietRes.body));
      const first = await call(probed, 'probed');
      expect(first.statusCode).toBe(200);
      const out = PredictResponse.parse(JSON.parse(first.body));
      expect(out).toMatchObject({ degraded: false, model: { name: 'merchant-risk' } });
      // The trained model ranks the probed night burst above the quiet day, and its policy names the outcome.
      expect(out.prediction.score).toBeGreaterThan(quiet.prediction.score);
      expect(out.prediction.outcome).toBe(
        merchantRisk.policy.decide(out.prediction.score, { watch: 0.07, blockReview: 0.25 }),
      );
      expect(out.explanation.length).toBeGreaterThan(0);

      const again = await call(probed, 'probed');
      expect(again.body).toBe(first.body);
      const conflict = await call({ ...probed, count: 15 }, 'probed');
      expect(conflict.statusCode).toBe(409);

      const { Item } = await doc.send(
        new GetCommand({ TableName: 'p-decisions', Key: { transactionId: 'prediction#merchant-risk#probed' } }),
      );
      const record = PredictionRecord.parse(Item);
      expect(record).toMatchObject({ kind: 'prediction', request: probed, prediction: out.prediction });
      // What the decisions stream will carry is a valid prediction for the outbox: a PredictionMade, never poison.
      const derived = derive(marshall(Item as Record<string, unknown>));
      expect(derived.ok && derived.events.map((e) => e.detailType)).toEqual(['PredictionMade']);
    } finally {
      process.env = saved;
      client.destroy();
    }
  }, 60_000);
});
