// Features handler as deployed (env wiring, BatchProcessor, partial batch response) against dynalite.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { CustomerState } from '../../../models/fraud-detector/src/features.js';
import fraudDetector from '../../../models/fraud-detector/src/module.js';
import type { Transaction } from '../../../models/shared/contracts/transaction.js';
import { dynamoDocumentClient } from '../../shared/aws.js';
import { createPowertools } from '../../shared/powertools.js';
import { createHandler } from '../app.js';
import type { AggregateStore } from '../core.js';
import { type LocalServer, startDynalite } from './local-servers.js';

const TABLE = 'features';
let server: LocalServer;
let mod: typeof import('../handler.js');
const context = { awsRequestId: 'req', functionName: 'features' } as Context;

const txn = (n: number, customerId: string, merchantId: string): Transaction => ({
  transactionId: `t-${n}`,
  customerId,
  merchantId,
  merchantCategory: 'fuel',
  amount: 40 + n,
  currency: 'EUR',
  country: 'IT',
  channel: 'card_present',
  timestamp: new Date(Date.UTC(2026, 10, 4, 10, n)).toISOString(),
});
const kinesisRecord = (data: string, seq: number): KinesisStreamRecord =>
  ({
    eventSource: 'aws:kinesis',
    eventID: `shardId-000000000000:${seq}`,
    eventName: 'aws:kinesis:record',
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'pk',
      sequenceNumber: String(49_600_000_000 + seq),
      data,
      approximateArrivalTimestamp: 1_763_000_000,
    },
  }) as KinesisStreamRecord;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

async function customer(id: string): Promise<{ version: number; state: CustomerState } | undefined> {
  const doc = dynamoDocumentClient(server.clientOptions);
  const { Item } = await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: `customer#${id}` } }));
  doc.destroy();
  return Item as { version: number; state: CustomerState } | undefined;
}

beforeAll(async () => {
  server = await startDynalite();
  const raw = new DynamoDBClient(server.clientOptions);
  await raw.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  raw.destroy();
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'features',
    POWERTOOLS_METRICS_NAMESPACE: 'AimsTest',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    FEATURES_TABLE: TABLE,
  });
  mod = await import('../handler.js');
});
afterAll(async () => {
  await server.close();
});

describe('features handler', () => {
  const records = [
    kinesisRecord(encode(txn(1, 'c1', 'm1')), 1),
    kinesisRecord(Buffer.from('{"transactionId": oops').toString('base64'), 2),
    kinesisRecord(encode(txn(3, 'c1', 'm2')), 3),
    kinesisRecord(encode({ ...txn(4, 'c2', 'm1'), currency: 'euro' }), 4),
    kinesisRecord(encode(txn(5, 'c2', 'm1')), 5),
  ];
  const event: KinesisStreamEvent = { Records: records };

  it('GIVEN a batch with two poison records WHEN handled THEN exactly those are batchItemFailures and the rest land', async () => {
    const response = await mod.handler(event, context);
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: records[1]?.kinesis.sequenceNumber },
        { itemIdentifier: records[3]?.kinesis.sequenceNumber },
      ],
    });
    expect((await customer('c1'))?.state.count).toBe(2);
    expect((await customer('c2'))?.state.count).toBe(1);
  });

  it('GIVEN the same batch redelivered WHEN handled THEN the same failures and no aggregate changes', async () => {
    const before = await customer('c1');
    const response = await mod.handler(event, context);
    expect(response.batchItemFailures).toHaveLength(2);
    expect(await customer('c1')).toEqual(before);
  });

  it('GIVEN the table throttles one entity WHEN handled THEN only records of that entity are reported', async () => {
    const real = (await import('../dynamo-aggregate-store.js')).DynamoAggregateStore;
    const inner = new real(dynamoDocumentClient(server.clientOptions), TABLE);
    const store: AggregateStore = {
      get: (pk) => inner.get(pk),
      put: async (pk, kind, state, expected) => {
        if (pk === 'merchant#m9') {
          throw Object.assign(new Error('Throughput exceeds the current capacity'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
        return inner.put(pk, kind, state, expected);
      },
    };
    const handler = createHandler({
      powertools: createPowertools({ serviceName: 'features' }),
      store,
      module: fraudDetector,
    });
    const batch = [kinesisRecord(encode(txn(10, 'c3', 'm9')), 10), kinesisRecord(encode(txn(11, 'c3', 'm1')), 11)];
    const response = await handler({ Records: batch }, context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: batch[0]?.kinesis.sequenceNumber }] });
    // The customer write landed for both; the retry of record 10 will find it applied and only write the merchant.
    expect((await customer('c3'))?.state.count).toBe(2);
  });

  it('GIVEN a batch of only poison records WHEN handled THEN it throws so the mapping retries / bisects it', async () => {
    await expect(mod.handler({ Records: [kinesisRecord('bm90IGpzb24=', 20)] }, context)).rejects.toThrow(
      /All records failed processing/,
    );
  });
});
