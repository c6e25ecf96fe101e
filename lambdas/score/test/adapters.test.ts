// Score adapters with the real AWS SDK: features and decisions tables on dynalite; SageMaker Runtime against a local
// HTTP server speaking its wire protocol.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  applyToCustomer,
  applyToMerchant,
  emptyCustomerState,
  emptyMerchantState,
} from '../../../models/fraud-detector/src/features.js';
import fraudDetector from '../../../models/fraud-detector/src/module.js';
import { DynamoDecisionStore } from '../../shared/adapters/decision-store.js';
import { dynamoDocumentClient, sageMakerRuntimeClient } from '../../shared/aws.js';
import type { DecisionRecord } from '../../shared/contracts/api.js';
import { aggregateKey } from '../../shared/contracts/features.js';
import { createTable, type LocalServer, startDynalite, startJsonServer, TABLES } from '../../shared/test/local.js';
import { DynamoFeatureReader, SageMakerModelEndpoint } from '../adapters.js';
import { txn } from './fakes.js';

let dynamo: LocalServer;
beforeAll(async () => {
  dynamo = await startDynalite();
  const client = new DynamoDBClient(dynamo.clientOptions);
  await createTable(client, TABLES.features('features'));
  await createTable(client, TABLES.decisions('decisions'));
  client.destroy();
});
afterAll(async () => {
  await dynamo.close();
});

describe('DynamoFeatureReader', () => {
  it('GIVEN aggregates written in the features layout WHEN reading THEN both states come back in one call', async () => {
    const doc = dynamoDocumentClient(dynamo.clientOptions);
    const customer = applyToCustomer(emptyCustomerState(), txn(1, { customerId: 'c-a' }));
    const merchant = applyToMerchant(emptyMerchantState(), txn(1, { merchantId: 'm-a' }));
    for (const [pk, kind, state] of [
      [aggregateKey('customer', 'c-a'), 'customer', customer],
      [aggregateKey('merchant', 'm-a'), 'merchant', merchant],
    ] as const) {
      await doc.send(new PutCommand({ TableName: 'features', Item: { pk, kind, state, version: 1, updatedAt: 'x' } }));
    }
    const reader = new DynamoFeatureReader(doc, 'features', fraudDetector.entities);
    const out = await reader.read(txn(2, { customerId: 'c-a', merchantId: 'm-a' }));
    expect(out).toEqual({ customer, merchant });
  });

  it('GIVEN an unseen customer and merchant WHEN reading THEN the empty states come back', async () => {
    const doc = dynamoDocumentClient(dynamo.clientOptions);
    const reader = new DynamoFeatureReader(doc, 'features', fraudDetector.entities);
    const out = await reader.read(txn(2, { customerId: 'c-new', merchantId: 'm-new' }));
    expect(out).toEqual({ customer: emptyCustomerState(), merchant: emptyMerchantState() });
  });

  it('GIVEN an item whose state is not a v1 state WHEN reading THEN it fails naming the item', async () => {
    const doc = dynamoDocumentClient(dynamo.clientOptions);
    await doc.send(
      new PutCommand({ TableName: 'features', Item: { pk: aggregateKey('customer', 'c-bad'), state: { version: 2 } } }),
    );
    const reader = new DynamoFeatureReader(doc, 'features', fraudDetector.entities);
    await expect(reader.read(txn(2, { customerId: 'c-bad', merchantId: 'm-new' }))).rejects.toThrow(
      /customer#c-bad does not hold a v1 state/,
    );
  });
});

const record = (id: string, expiresAt: number): DecisionRecord => ({
  transactionId: id,
  customerId: 'c-1',
  transaction: txn(1, { transactionId: id }),
  decision: 'review',
  score: 0.6,
  degraded: false,
  reasons: ['device never seen for this customer'],
  explanation: [{ feature: 'is_new_device', contribution: 0.4 }],
  model: { name: 'fraud-detector', version: '3' },
  features: { log_amount: 3.7 },
  featureHash: 'a'.repeat(64),
  requestHash: 'b'.repeat(64),
  latencyMs: 4.2,
  decidedAt: '2026-11-01T12:00:00.000Z',
  expiresAt,
});

describe('DynamoDecisionStore', () => {
  const now = new Date('2026-11-01T12:00:00Z');
  const later = Math.floor(now.getTime() / 1000) + 3600;

  it('GIVEN no record WHEN putIfAbsent twice THEN the first creates and the second returns the stored one untouched', async () => {
    const store = new DynamoDecisionStore(dynamoDocumentClient(dynamo.clientOptions), 'decisions', () => now);
    expect(await store.putIfAbsent(record('d-1', later))).toEqual({ created: true });
    const second = await store.putIfAbsent({ ...record('d-1', later), score: 0.99 });
    expect(second).toEqual({ created: false, existing: record('d-1', later) });
    expect(await store.get('d-1')).toEqual(record('d-1', later));
  });

  it('GIVEN a record past expiresAt WHEN reading THEN it is absent (dynalite never expires TTL)', async () => {
    const store = new DynamoDecisionStore(dynamoDocumentClient(dynamo.clientOptions), 'decisions', () => now);
    await store.putIfAbsent(record('d-2', Math.floor(now.getTime() / 1000) - 1));
    expect(await store.get('d-2')).toBeUndefined();
    expect(await store.get('d-none')).toBeUndefined();
  });
});

describe('SageMakerModelEndpoint', () => {
  it('GIVEN a v2 endpoint WHEN invoking THEN the body, content type and inference id are sent and scores parsed', async () => {
    const server = await startJsonServer(({ body }) => {
      const input = JSON.parse(body).inputs[0];
      const n = input.shape[0];
      return {
        status: 200,
        body: {
          model_name: 'fraud-detector',
          model_version: '12',
          outputs: [
            { name: 'score', shape: [n, 1], datatype: 'FP32', data: Array.from({ length: n }, (_, i) => i / 10) },
          ],
        },
      };
    });
    try {
      const endpoint = new SageMakerModelEndpoint({
        client: sageMakerRuntimeClient(server.clientOptions),
        endpointName: 'aims-dev-fraud-detector',
        modelName: 'fallback-name',
      });
      const out = await endpoint.invoke(
        [
          [1, 2],
          [3, 4],
        ],
        { inferenceId: 't-77', signal: new AbortController().signal },
      );
      expect(out).toEqual({ scores: [0, 0.1], model: { name: 'fraud-detector', version: '12' } });
      const request = server.requests[0];
      expect(request?.url).toBe('/endpoints/aims-dev-fraud-detector/invocations');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.headers['x-amzn-sagemaker-inference-id']).toBe('t-77');
      expect(JSON.parse(request?.body ?? '')).toEqual({
        inputs: [{ name: 'features', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }],
      });
    } finally {
      await server.close();
    }
  });

  it('GIVEN an endpoint answering too few scores or non-probabilities WHEN invoking THEN it fails saying why', async () => {
    let data: unknown[] = [0.5];
    const server = await startJsonServer(() => ({
      status: 200,
      body: { outputs: [{ name: 'score', shape: [1, 1], data }] },
    }));
    try {
      const endpoint = new SageMakerModelEndpoint({
        client: sageMakerRuntimeClient(server.clientOptions),
        endpointName: 'e',
        modelName: 'm',
      });
      const signal = new AbortController().signal;
      await expect(endpoint.invoke([[1], [2]], { inferenceId: 'x', signal })).rejects.toThrow(/1 scores for 2 rows/);
      data = [1.5];
      await expect(endpoint.invoke([[1]], { inferenceId: 'x', signal })).rejects.toThrow(/not a probability/);
      data = [0.25];
      expect(await endpoint.invoke([[1]], { inferenceId: 'x', signal })).toEqual({
        scores: [0.25],
        model: { name: 'm', version: 'unknown' },
      });
    } finally {
      await server.close();
    }
  });

  it('GIVEN a slow endpoint WHEN the signal aborts THEN the call rejects promptly', async () => {
    const server = await startJsonServer(() => ({ status: 200, body: { outputs: [] }, delayMs: 2_000 }));
    try {
      const endpoint = new SageMakerModelEndpoint({
        client: sageMakerRuntimeClient(server.clientOptions),
        endpointName: 'e',
        modelName: 'm',
      });
      const started = performance.now();
      await expect(endpoint.invoke([[1]], { inferenceId: 'x', signal: AbortSignal.timeout(50) })).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await server.close();
    }
  });
});
