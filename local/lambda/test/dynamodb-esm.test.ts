// Tests of a local event-source mapping over a DynamoDB table stream: real backends (dynalite behind the stream
// recorder), real worker runtime, real local SQS as the on-failure destination; the mapping is a fixture resource
// with the settings an outbox relay uses.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { type LocalBackends, startLocalBackends } from '../../backends/index.js';
import { journalFile, StreamJournalReader, type StreamRecord } from '../../backends/table-streams.js';
import type { RunningServer } from '../../services/http.js';
import { SqsStore, startSqsServer } from '../../services/sqs.js';
import { tableStreamArn } from '../../template/naming.js';
import type { LocalEndpoints, LocalResource } from '../../types.js';
import { type EventSourceMappings, mappingConfig, startEventSourceMappings } from '../esm.js';
import { type LambdaRuntime, startLambdaRuntime } from '../runtime.js';
import { ACCOUNT, closedEndpoints, functionResource, makeTemplate, REGION, tempDir } from './fixtures.js';

const TABLE = 'Dev-Data-DecisionsTable0000';
const STREAM_ARN = tableStreamArn(`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE}`);
const QUEUE = 'Dev-Services-RelayFailures0000';
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:${QUEUE}`;

// Appends every delivery to OUT_FILE; items with poison=true are reported as failed, crash=true throws.
const RELAY = `
import { appendFileSync } from 'node:fs';
export const handler = async (event) => {
  appendFileSync(process.env.OUT_FILE, JSON.stringify(event) + '\\n');
  const image = (r) => r.dynamodb.NewImage ?? {};
  if (event.Records.some((r) => image(r).crash?.BOOL)) throw new Error('cannot relay this batch');
  return { batchItemFailures: event.Records.filter((r) => image(r).poison?.BOOL).map((r) => ({ itemIdentifier: r.dynamodb.SequenceNumber })) };
};`;

function relayMapping(filters?: string[]): LocalResource {
  return {
    stackName: 'Dev-Services',
    logicalId: 'RelayStreamMapping0000',
    type: 'AWS::Lambda::EventSourceMapping',
    properties: {
      EventSourceArn: STREAM_ARN,
      FunctionName: 'Relay',
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 0,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: QUEUE_ARN } },
      ...(filters ? { FilterCriteria: { Filters: filters.map((Pattern) => ({ Pattern })) } } : {}),
    },
    metadata: {},
    ref: 'relay-esm-uuid',
    attributes: {},
  };
}

const tableResource: LocalResource = {
  stackName: 'Dev-Data',
  logicalId: 'DecisionsTable0000',
  type: 'AWS::DynamoDB::Table',
  properties: { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } },
  metadata: {},
  ref: TABLE,
  attributes: { Arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE}`, StreamArn: STREAM_ARN },
};

const queueResource: LocalResource = {
  stackName: 'Dev-Services',
  logicalId: 'RelayFailures0000',
  type: 'AWS::SQS::Queue',
  properties: {},
  metadata: {},
  ref: QUEUE,
  attributes: { Arn: QUEUE_ARN, QueueName: QUEUE },
};

describe('startEventSourceMappings (DynamoDB table stream)', () => {
  const dataDir = tempDir('lambda-ddb-esm');
  const outFile = join(dataDir, 'deliveries.jsonl');
  const assemblyDir = join(dataDir, 'cdk.out', 'assembly-Dev');
  const relay = functionResource(assemblyDir, { name: 'Relay', source: RELAY, env: { OUT_FILE: outFile } });
  let template = makeTemplate([relay, tableResource, queueResource, relayMapping()], assemblyDir);
  let backends: LocalBackends;
  let sqsStore: SqsStore;
  let sqsServer: RunningServer;
  let endpoints: LocalEndpoints;
  let dynamo: DynamoDBClient;
  let runtime: LambdaRuntime;
  let mappings: EventSourceMappings;
  let sequence = 0;

  const startMappings = () =>
    startEventSourceMappings({
      template,
      invoker: runtime,
      endpoints,
      dataDir,
      pollIntervalMs: 20,
      retryBackoffMs: 10,
    });
  const deliveries = (): { Records: StreamRecord[] }[] =>
    readFileSync(outFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { Records: StreamRecord[] });
  const pk = (r: StreamRecord) => (r.dynamodb.Keys.pk as { S: string }).S;
  const deliveredKeys = () => deliveries().flatMap((e) => e.Records.map(pk));
  let failuresBefore = 0;
  const failures = () =>
    sqsStore
      .peek(QUEUE_ARN)
      .slice(failuresBefore)
      .map((m) => JSON.parse(m.Body));
  const ids = (n: number) => Array.from({ length: n }, () => `d-${++sequence}`);

  /** Puts the items in one BatchWriteItem: their records reach the journal together, so they form one batch. */
  async function putAll(items: { id: string; poison?: boolean; crash?: boolean }[]): Promise<void> {
    await dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: items.map(({ id, poison, crash }) => ({
            PutRequest: {
              Item: {
                pk: { S: id },
                ...(poison ? { poison: { BOOL: true } } : {}),
                ...(crash ? { crash: { BOOL: true } } : {}),
              },
            },
          })),
        },
      }),
    );
  }

  beforeAll(async () => {
    backends = await startLocalBackends({
      dataDir,
      buckets: [],
      account: ACCOUNT,
      region: REGION,
      isolation: 'in-process',
    });
    sqsStore = new SqsStore(template, join(dataDir, 'sqs'));
    sqsServer = await startSqsServer(sqsStore, ACCOUNT);
    endpoints = { ...closedEndpoints(), dynamodb: backends.endpoints.dynamodb, sqs: sqsServer.url };
    dynamo = new DynamoDBClient({
      endpoint: endpoints.dynamodb,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await dynamo.send(
      new CreateTableCommand({
        TableName: TABLE,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    await waitUntilTableExists({ client: dynamo, maxWaitTime: 10, minDelay: 1 }, { TableName: TABLE });
    runtime = await startLambdaRuntime({ template, endpoints, dataDir, eager: true });
    mappings = await startMappings();
  });

  afterAll(async () => {
    await mappings?.close();
    await runtime?.close();
    await sqsServer?.close();
    dynamo?.destroy();
    await backends?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    rmSync(outFile, { force: true });
    failuresBefore = sqsStore.peek(QUEUE_ARN).length;
  });

  it('GIVEN a mapping on a table without a StreamSpecification WHEN read THEN it is refused, as Lambda refuses it', () => {
    const noStream = { ...tableResource, properties: {} };
    expect(() => mappingConfig(makeTemplate([relay, noStream, relayMapping()], assemblyDir), relayMapping())).toThrow(
      /table DecisionsTable0000 has no StreamSpecification/,
    );
    expect(() => mappingConfig(makeTemplate([relay, relayMapping()], assemblyDir), relayMapping())).toThrow(
      /no table of the template has the stream/,
    );
    const badFilter = relayMapping(['{"eventName":[{"nope":1}]}']);
    expect(() => mappingConfig(template, badFilter)).toThrow(
      /FilterCriteria.Filters\[0\].Pattern is not a valid pattern/,
    );
  });

  it('GIVEN the mapping WHEN read THEN it is a table-stream mapping with the template’s settings', () => {
    expect(mappings.mappings).toEqual([
      expect.objectContaining({
        source: 'dynamodb',
        streamArn: STREAM_ARN,
        streamName: TABLE,
        batchSize: 10,
        startingPosition: 'TRIM_HORIZON',
        maximumRetryAttempts: 3,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: true,
        onFailureArn: QUEUE_ARN,
        filters: [],
      }),
    ]);
  });

  it('GIVEN writes to the table WHEN drained THEN the function gets Lambda’s DynamoDB event, in order', async () => {
    const [a, b] = ids(2);
    await putAll([{ id: a as string }, { id: b as string }]);
    await mappings.drain();
    expect(deliveries()).toHaveLength(1);
    const [first, second] = deliveries()[0]?.Records ?? [];
    // The function gets the stream's change records as they are (their shape is the recorder's test's business).
    const journaled = new StreamJournalReader(journalFile(dataDir, TABLE), { at: 'TRIM_HORIZON' })
      .read(1_000)
      .map((r) => r.record);
    expect([first, second]).toEqual(journaled.slice(-2));
    expect(first).toMatchObject({
      eventName: 'INSERT',
      eventSourceARN: STREAM_ARN,
      dynamodb: { Keys: { pk: { S: a } }, NewImage: { pk: { S: a } }, StreamViewType: 'NEW_IMAGE' },
    });
    expect(second && pk(second)).toBe(b);
    expect(Number(second?.dynamodb.SequenceNumber)).toBeGreaterThan(Number(first?.dynamodb.SequenceNumber));
  });

  it('GIVEN a record the function reports as failed WHEN retries run out THEN the DLQ gets DDBStreamBatchInfo for the tail', async () => {
    const [a, b, c, d] = ids(4) as [string, string, string, string];
    await putAll([{ id: a }, { id: b }, { id: c, poison: true }, { id: d }]);
    await mappings.drain();
    // First call a b c d; then 3 retries from the failed record (c d).
    expect(deliveries().map((e) => e.Records.map(pk))).toEqual([
      [a, b, c, d],
      [c, d],
      [c, d],
      [c, d],
    ]);
    const tail = deliveries()[1]?.Records ?? [];
    expect(failures()).toEqual([
      expect.objectContaining({
        requestContext: expect.objectContaining({
          functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Relay`,
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 4,
        }),
        version: '1.0',
        DDBStreamBatchInfo: {
          shardId: expect.stringMatching(/^shardId-/),
          startSequenceNumber: tail[0]?.dynamodb.SequenceNumber,
          endSequenceNumber: tail[1]?.dynamodb.SequenceNumber,
          approximateArrivalOfFirstRecord: expect.any(String),
          approximateArrivalOfLastRecord: expect.any(String),
          batchSize: 2,
          streamArn: STREAM_ARN,
        },
      }),
    ]);
  });

  it('GIVEN a record that makes the function throw WHEN bisected THEN only that record goes to the DLQ', async () => {
    const keys = ids(6);
    await putAll(keys.map((id, i) => ({ id, crash: i === 4 })));
    await mappings.drain();
    for (const key of keys.filter((_, i) => i !== 4)) expect(deliveredKeys()).toContain(key);
    expect(
      deliveries().filter((e) => e.Records.length === 1 && pk(e.Records[0] as StreamRecord) === keys[4]),
    ).toHaveLength(4);
    const [failure] = failures();
    expect(failures()).toHaveLength(1);
    expect(failure.responseContext.functionError).toBe('Unhandled');
    expect(failure.DDBStreamBatchInfo.batchSize).toBe(1);
  });

  it('GIVEN FilterCriteria on eventName and the image WHEN records arrive THEN only matching ones are delivered and the rest checkpointed past', async () => {
    await mappings.close();
    template = makeTemplate(
      [
        relay,
        tableResource,
        queueResource,
        relayMapping(['{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["decision"]}}}}']),
      ],
      assemblyDir,
    );
    mappings = await startMappings();
    const [keep, other, gone] = ids(3) as [string, string, string];
    const writes: [string, string][] = [
      [keep, 'decision'],
      [other, 'note'],
      [gone, 'decision'],
    ];
    for (const [id, kind] of writes) {
      await dynamo.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: id }, kind: { S: kind } } }));
    }
    await dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: keep } },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '1' } },
      }),
    );
    await dynamo.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: gone } } }));
    await mappings.drain();
    expect(deliveredKeys()).toEqual([keep, gone]);
    expect(deliveries().flatMap((e) => e.Records.map((r) => r.eventName))).toEqual(['INSERT', 'INSERT']);
    expect(mappings.stats()[0]).toMatchObject({ recordsFiltered: 3 });
    // The last record (the REMOVE) was filtered out, yet the checkpoint is past it.
    const checkpoint = JSON.parse(
      readFileSync(join(dataDir, 'esm', 'Dev-Services-RelayStreamMapping0000.json'), 'utf8'),
    );
    const lastSeq = Object.values(checkpoint.shards as Record<string, { sequenceNumber: string }>)[0]?.sequenceNumber;
    const journal = readFileSync(join(dataDir, 'dynamodb-streams', `${TABLE}.jsonl`), 'utf8')
      .trim()
      .split('\n');
    const lastRecord = journal
      .map((l) => JSON.parse(l))
      .filter((l) => l.t === 'record')
      .at(-1);
    expect(lastSeq).toBe(lastRecord.record.dynamodb.SequenceNumber);
  });

  it('GIVEN a restart WHEN the mapping starts again THEN it resumes after its checkpoint (nothing redelivered)', async () => {
    await mappings.close();
    template = makeTemplate([relay, tableResource, queueResource, relayMapping()], assemblyDir);
    const fresh = ids(3);
    await putAll(fresh.map((id) => ({ id })));
    mappings = await startMappings();
    await mappings.drain();
    expect(deliveredKeys()).toEqual(fresh);
    expect(mappings.stats()[0]).toMatchObject({ shards: 1, recordsSucceeded: 3, recordsFailed: 0 });
  });
});
