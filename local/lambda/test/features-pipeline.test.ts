// The dev stage's real Kinesis mapping and features bundle end to end: kinesalite → poller → worker → dynalite, DLQ.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, KinesisClient, PutRecordsCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SqsStore, startSqsServer } from '../../services/sqs.js';
import { loadLocalTemplate } from '../../template/index.js';
import type { LocalEndpoints } from '../../types.js';
import { type EventSourceMappings, startEventSourceMappings } from '../esm.js';
import { type LambdaRuntime, startLambdaRuntime } from '../runtime.js';
import { closedEndpoints, REGION, tempDir } from './fixtures.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => Server;
const kinesalite = require('kinesalite') as (options: { createStreamMs: number }) => Server;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const listen = (server: Server) =>
  new Promise<string>((resolveListen) =>
    server.listen(0, '127.0.0.1', () => resolveListen(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );

function transaction(i: number) {
  return {
    transactionId: `tx-pipeline-${i}`,
    customerId: `cust-${i % 3}`,
    merchantId: 'merchant-1',
    merchantCategory: 'grocery',
    amount: 10 + i,
    currency: 'EUR',
    country: 'DE',
    channel: 'online',
    timestamp: new Date(Date.now() - 60_000 + i * 1000).toISOString(),
  };
}

describe('dev features mapping with the real bundle', () => {
  const template = loadLocalTemplate({ assemblyDir: 'cdk.out', stageName: 'Dev' });
  const dataDir = tempDir('lambda-features');
  const servers: Server[] = [];
  let sqs: { url: string; close(): Promise<void> };
  let store: SqsStore;
  let endpoints: LocalEndpoints;
  let runtime: LambdaRuntime;
  let mappings: EventSourceMappings;
  let dynamo: DynamoDBClient;
  let kinesis: KinesisClient;
  // The features mapping reads the Kinesis stream (the outbox's reads the decisions table's stream).
  const mapping = template
    .ofType('AWS::Lambda::EventSourceMapping')
    .find((m) => String(m.properties.EventSourceArn).startsWith('arn:aws:kinesis:'));
  if (!mapping) throw new Error('the dev template has no event-source mapping on a Kinesis stream');
  const streamName = String(mapping.properties.EventSourceArn).split('/').pop() ?? '';
  const featuresFn = template.byArn(String(mapping.properties.FunctionName));
  if (!featuresFn) throw new Error(`mapping ${mapping.logicalId} names no function of the template`);
  const tableName = String(
    (featuresFn.properties.Environment as { Variables: Record<string, string> }).Variables.FEATURES_TABLE,
  );
  const dlqArn = (mapping.properties.DestinationConfig as { OnFailure: { Destination: string } }).OnFailure.Destination;

  beforeAll(async () => {
    const [ddb, kin] = [dynalite({ createTableMs: 0 }), kinesalite({ createStreamMs: 0 })];
    servers.push(ddb, kin);
    store = new SqsStore(template, join(dataDir, 'sqs'));
    sqs = await startSqsServer(store, template.account);
    endpoints = { ...closedEndpoints(), dynamodb: await listen(ddb), kinesis: await listen(kin), sqs: sqs.url };
    dynamo = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: REGION, credentials });
    kinesis = new KinesisClient({
      endpoint: endpoints.kinesis,
      region: REGION,
      credentials,
      requestHandler: new NodeHttpHandler(),
    });
    const table = template.ofType('AWS::DynamoDB::Table').find((r) => r.ref === tableName);
    if (!table) throw new Error(`no table ${tableName} in the dev template`);
    const p = table.properties as Pick<CreateTableCommandInput, 'KeySchema' | 'AttributeDefinitions'>;
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: p.KeySchema,
        AttributeDefinitions: p.AttributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 10, minDelay: 1 }, { StreamName: streamName });
    runtime = await startLambdaRuntime({ template, endpoints, dataDir });
    mappings = await startEventSourceMappings({
      template,
      invoker: runtime,
      endpoints,
      dataDir,
      pollIntervalMs: 50,
      retryBackoffMs: 10,
    });
  });

  afterAll(async () => {
    await mappings?.close();
    await runtime?.close();
    await sqs?.close();
    dynamo?.destroy();
    kinesis?.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GIVEN valid transactions and a poison record WHEN drained THEN aggregates land and the poison goes to the DLQ', async () => {
    const records = [1, 2, 3, 4].map((i) => ({ PartitionKey: 'p', Data: Buffer.from(JSON.stringify(transaction(i))) }));
    records.push({ PartitionKey: 'p', Data: Buffer.from('{not json') });
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
    const poisonSeq = put.Records?.[4]?.SequenceNumber;
    await mappings.drain(60_000);

    const items = await dynamo.send(new ScanCommand({ TableName: tableName }));
    expect(items.Count ?? 0).toBeGreaterThan(0);
    const dlq = store.peek(dlqArn);
    expect(dlq).toHaveLength(1);
    expect(JSON.parse(dlq[0]?.Body ?? '{}')).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 },
      KinesisBatchInfo: { startSequenceNumber: poisonSeq, endSequenceNumber: poisonSeq, batchSize: 1 },
    });
    expect(mappings.stats().find((m) => m.id.endsWith(mapping.logicalId))).toMatchObject({
      recordsSucceeded: 4,
      recordsFailed: 1,
    });
  });
});
