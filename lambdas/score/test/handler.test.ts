// The score handler end to end: the middy stack with fake ports, then the deployed entry (handler.ts) wired from env to
// dynalite and local HTTP endpoints.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScoreResponse } from '../../shared/contracts/api.js';
import { ErrorBody } from '../../shared/errors.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { createTable, type LocalServer, startDynalite, startJsonServer, TABLES } from '../../shared/test/local.js';
import { createScoreHandler } from '../app.js';
import { harness, txn } from './fakes.js';

quietPowertools();

let dynamo: LocalServer;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

async function stack() {
  const h = harness();
  const handler = createScoreHandler({
    powertools: createPowertools({ serviceName: 'score' }),
    ports: h.ports,
    config: h.config,
  });
  const call = (body: unknown, requestId = 'req-1') =>
    handler(apiEvent({ resource: '/v1/score', body, requestId }), lambdaContext('score'));
  return { h, handler, call };
}

describe('POST /v1/score handler', () => {
  it('GIVEN a valid transaction WHEN posted THEN 200 with a ScoreResponse', async () => {
    const { call } = await stack();
    const res = await call(txn(1));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['x-request-id']).toBe('req-1');
    expect(ScoreResponse.parse(JSON.parse(res.body))).toMatchObject({ transactionId: 't-1', degraded: false });
  });

  it('GIVEN a scored transaction WHEN the same body is retried THEN the stored response returns and the record is written once', async () => {
    const { h, call } = await stack();
    const first = await call(txn(2, { merchantCategory: 'gambling', deviceId: 'd-9' }), 'req-a');
    const again = await call(txn(2, { merchantCategory: 'gambling', deviceId: 'd-9' }), 'req-b');
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body)).toEqual(JSON.parse(first.body));
    // The audit record's conditional write is the commit point: the retry's own result lost and was discarded.
    expect(h.decisions.records.size).toBe(1);
  });

  it('GIVEN a scored transaction WHEN another body uses its id THEN 409 conflict in the error JSON', async () => {
    const { h, call } = await stack();
    await call(txn(3));
    const res = await call(txn(3, { amount: 5_000 }), 'req-c');
    expect(res.statusCode).toBe(409);
    const body = ErrorBody.parse(JSON.parse(res.body));
    expect(body).toMatchObject({ error: { code: 'conflict' }, requestId: 'req-c' });
    expect(h.decisions.records.get('t-3')?.transaction.amount).toBe(txn(3).amount);
  });

  it('GIVEN an invalid body WHEN posted THEN 400 validation_error with one detail per problem', async () => {
    const { h, call } = await stack();
    const res = await call({ ...txn(4), amount: -1, currency: 'euro' });
    expect(res.statusCode).toBe(400);
    const body = ErrorBody.parse(JSON.parse(res.body));
    expect(body.error.code).toBe('validation_error');
    expect((body.error.details as { path: string }[]).map((d) => d.path).sort()).toEqual(['amount', 'currency']);
    expect(h.model.calls).toHaveLength(0);
  });

  it('GIVEN malformed JSON or an empty body WHEN posted THEN 400 validation_error', async () => {
    const { handler } = await stack();
    for (const rawBody of ['{"transactionId":', '']) {
      const res = await handler(apiEvent({ resource: '/v1/score', rawBody }), lambdaContext('score'));
      expect(res.statusCode).toBe(400);
      expect(ErrorBody.parse(JSON.parse(res.body)).error.code).toBe('validation_error');
    }
  });

  it('GIVEN the decisions table fails WHEN posted THEN 500 internal_error without internals', async () => {
    const { h, call } = await stack();
    h.decisions.putIfAbsent = async () => {
      throw new Error('secret connection string leaked');
    };
    const res = await call(txn(5));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/secret/);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'internal_error', message: 'internal error' },
      requestId: 'req-1',
    });
  });
});

describe('lambdas/score/handler.ts as deployed', () => {
  it('GIVEN env pointing at dynalite and a local endpoint WHEN invoked twice THEN it audits once and calls nothing but the model', async () => {
    const aws = await startJsonServer(({ body }) => {
      const rows = JSON.parse(body).inputs[0].shape[0];
      return {
        status: 200,
        body: {
          model_name: 'fraud-detector',
          model_version: '4',
          outputs: [{ name: 'score', shape: [rows, 1], data: Array(rows).fill(0.9) }],
        },
      };
    });
    const client = new DynamoDBClient(dynamo.clientOptions);
    for (const t of [TABLES.features('env-features'), TABLES.decisions('env-decisions')]) {
      await createTable(client, t);
    }
    Object.assign(process.env, {
      POWERTOOLS_SERVICE_NAME: 'score',
      POWERTOOLS_METRICS_NAMESPACE: 'aims-test',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: aws.endpoint,
      FEATURES_TABLE: 'env-features',
      DECISIONS_TABLE: 'env-decisions',
      MODEL_ENDPOINT_NAME: 'aims-dev-fraud-detector',
      MODEL_NAME: 'fraud-detector',
      MODEL_TIMEOUT_MS: '500',
      MODEL_THRESHOLDS: '{"review":0.5,"decline":0.8}',
      DECISION_TTL_DAYS: '90',
    });
    try {
      const { handler } = await import('../handler.js');
      const event = apiEvent({ resource: '/v1/score', body: txn(50) });
      const first = await handler(event, lambdaContext('score'));
      const second = await handler(event, lambdaContext('score'));
      expect(first.statusCode).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({
        decision: 'decline',
        score: 0.9,
        model: { version: '4' },
        degraded: false,
      });
      expect(second.body).toBe(first.body);
      // The retry is scored again, finds the audit record and answers with it; the only other calls were DynamoDB's.
      // Events and the decision-log line are the outbox's, from the table's stream.
      expect(aws.requests.map((r) => r.url).every((url) => url.includes('invocations'))).toBe(true);
      expect(aws.requests).toHaveLength(2);
    } finally {
      client.destroy();
      await aws.close();
    }
  });
});
