// Alerts handler and SNS adapter: the real SDK against a loopback endpoint that records the Publish request, and
// Powertools idempotency on dynalite.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { dynamoClient, snsClient } from '../../shared/aws.js';
import type { FraudSuspectedData } from '../../shared/contracts/events.js';
import { createPowertools } from '../../shared/powertools.js';
import { lambdaContext } from '../../shared/test/apigw.js';
import { createTable, type LocalServer, startDynalite, TABLES } from '../../shared/test/local.js';
import { createHandler } from '../app.js';
import type { Alert } from '../core.js';
import { SnsAlertPublisher } from '../sns-alert-publisher.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:aims-alerts';
let server: Server;
let endpoint: string;
/** Form fields of every Publish the fake SNS received (the query protocol the SDK speaks). */
const received: URLSearchParams[] = [];
let mod: typeof import('../handler.js');
let dynamo: LocalServer;
let tableNo = 0;
const context = lambdaContext('alerts');

const data: FraudSuspectedData = {
  transactionId: 'al-1',
  customerId: 'cust-1',
  merchantId: 'merch-1',
  amount: 499,
  currency: 'EUR',
  decision: 'review',
  score: 0.71,
  degraded: true,
  model: { name: 'rules', version: '1' },
  decidedAt: '2026-11-23T09:00:00Z',
  reasons: ['velocity_1h'],
  explanation: [{ feature: 'cust_count_1h', contribution: 0.4 }],
};
const event = (detailType: string, detail: unknown, id = 'e') =>
  ({ 'detail-type': detailType, source: 'aims.score', detail, id }) as EventBridgeEvent<string, unknown>;

/** A handler over its own fresh idempotency table. */
async function handlerWith(publisher: { publish(alert: Alert): Promise<void> }) {
  const table = `alerts-idem-${++tableNo}`;
  const client = new DynamoDBClient(dynamo.clientOptions);
  await createTable(client, TABLES.idempotency(table));
  client.destroy();
  return createHandler({
    powertools: createPowertools({ serviceName: 'alerts' }),
    publisher,
    idempotencyStore: new DynamoDBPersistenceLayer({
      tableName: table,
      awsSdkV3Client: dynamoClient(dynamo.clientOptions),
    }),
  });
}

beforeAll(async () => {
  dynamo = await startDynalite();
  const client = new DynamoDBClient(dynamo.clientOptions);
  await createTable(client, TABLES.idempotency('alerts-idem'));
  client.destroy();
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId>' +
          '</PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    POWERTOOLS_SERVICE_NAME: 'alerts',
    POWERTOOLS_METRICS_NAMESPACE: 'AimsTest',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SNS: endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    ALERTS_TOPIC_ARN: TOPIC,
    IDEMPOTENCY_TABLE: 'alerts-idem',
  });
  mod = await import('../handler.js');
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dynamo.close();
});
beforeEach(() => {
  received.length = 0;
});

describe('alerts handler', () => {
  it('GIVEN a FraudSuspected event WHEN handled THEN one SNS Publish with subject, JSON message and filter attributes', async () => {
    await mod.handler(event('FraudSuspected', { version: 1, data }), context);
    expect(received).toHaveLength(1);
    const form = received[0] as URLSearchParams;
    expect(form.get('Action')).toBe('Publish');
    expect(form.get('TopicArn')).toBe(TOPIC);
    expect(form.get('Subject')).toBe('[AIMS medium] review: transaction al-1 (score 0.71)');
    expect(JSON.parse(form.get('Message') ?? '')).toMatchObject({
      transactionId: 'al-1',
      customerId: 'cust-1',
      decision: 'review',
      score: 0.71,
      degraded: true,
      reasons: ['velocity_1h'],
    });
    const attributes: Record<string, string | null> = {};
    for (const n of [1, 2]) {
      attributes[form.get(`MessageAttributes.entry.${n}.Name`) ?? ''] = form.get(
        `MessageAttributes.entry.${n}.Value.StringValue`,
      );
    }
    expect(attributes).toEqual({ decision: 'review', severity: 'medium' });
  });

  it('GIVEN a malformed detail or the wrong detail type WHEN handled THEN it throws and publishes nothing', async () => {
    await expect(
      mod.handler(
        event('FraudSuspected', { version: 1, data: { ...data, transactionId: 'al-bad', score: 7 } }),
        context,
      ),
    ).rejects.toThrow(/invalid FraudSuspected event detail/);
    await expect(mod.handler(event('FraudSuspected', { data }), context)).rejects.toThrow(/invalid/);
    await expect(mod.handler(event('TransactionScored', { version: 1, data }), context)).rejects.toThrow(
      /expected a FraudSuspected event/,
    );
    expect(received).toEqual([]);
  });

  it('GIVEN SNS is failing WHEN handled THEN the error propagates (EventBridge retries, then the DLQ)', async () => {
    const failing = {
      publish: async (_alert: Alert): Promise<void> => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
      },
    };
    const handler = await handlerWith(failing);
    await expect(handler(event('FraudSuspected', { version: 1, data }), context)).rejects.toThrow(/Rate exceeded/);
  });

  it('GIVEN the same FraudSuspected delivered twice (at-least-once, or a retry) WHEN handled THEN one alert is sent', async () => {
    const sent: Alert[] = [];
    const handler = await handlerWith({ publish: async (alert) => void sent.push(alert) });
    await handler(event('FraudSuspected', { version: 1, data }, 'e-1'), context);
    await handler(event('FraudSuspected', { version: 1, data }, 'e-2'), context);
    await handler(event('FraudSuspected', { version: 1, data: { ...data, transactionId: 'al-2' } }, 'e-3'), context);
    expect(sent.map((a) => a.subject)).toEqual([
      '[AIMS medium] review: transaction al-1 (score 0.71)',
      '[AIMS medium] review: transaction al-2 (score 0.71)',
    ]);
  });

  it('GIVEN SNS failed on the first delivery WHEN EventBridge retries THEN the alert is sent (a failure is not remembered)', async () => {
    let fail = true;
    const sent: Alert[] = [];
    const handler = await handlerWith({
      publish: async (alert) => {
        if (fail) throw new Error('Rate exceeded');
        sent.push(alert);
      },
    });
    await expect(handler(event('FraudSuspected', { version: 1, data }), context)).rejects.toThrow(/Rate exceeded/);
    fail = false;
    await handler(event('FraudSuspected', { version: 1, data }), context);
    expect(sent).toHaveLength(1);
  });
});

describe('SnsAlertPublisher', () => {
  it('GIVEN an alert WHEN published THEN the topic gets exactly its subject and message', async () => {
    const sns = snsClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await new SnsAlertPublisher(sns, TOPIC).publish({
      subject: 's',
      message: '{"a":1}',
      attributes: { decision: 'decline', severity: 'high' },
    });
    sns.destroy();
    expect(received.map((f) => [f.get('Subject'), f.get('Message')])).toEqual([['s', '{"a":1}']]);
  });
});
