// Tests of the local Kinesis event-source mapping: real kinesalite, real worker runtime, the dev template's mapping.
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateStreamCommand, KinesisClient, PutRecordsCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocalEndpoints, LocalResource } from '../../types.js';
import { type EventSourceMappings, firstFailedIndex, startEventSourceMappings } from '../esm.js';
import { type LambdaRuntime, startLambdaRuntime } from '../runtime.js';
import {
  ACCOUNT,
  closedEndpoints,
  devStack,
  devTemplate,
  functionResource,
  makeTemplate,
  REGION,
  tempDir,
} from './fixtures.js';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite') as (options: { createStreamMs: number; path?: string }) => Server;

const STREAM = 'Dev-Data-TransactionStreamC0357204';
const STREAM_ARN = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${STREAM}`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:Dev-Services-FeaturesDeadLetterQueueF9F1A4AC`;

// Appends every delivery to OUT_FILE; records with {"poison":true} are reported as failed, {"crash":true} throws.
const CONSUMER = `
import { appendFileSync } from 'node:fs';
export const handler = async (event) => {
  const records = event.Records.map((r) => ({ ...r, body: JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) }));
  appendFileSync(process.env.OUT_FILE, JSON.stringify(event) + '\\n');
  if (records.some((r) => r.body.crash)) throw new Error('cannot handle this batch');
  return { batchItemFailures: records.filter((r) => r.body.poison).map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
};`;

interface KinesisEventRecord {
  kinesis: { sequenceNumber: string; data: string; partitionKey: string };
  [key: string]: unknown;
}

/** The dev template's own mapping properties, pointed at the test consumer. */
function devMapping(functionName: string): LocalResource {
  // The dev services stack maps a Kinesis stream (features) and a table stream (outbox): take the Kinesis one, found
  // by the type of the data-stack resource its source's output points at.
  const data = devTemplate('DevData');
  const sourceType = (arn: unknown): string | undefined => {
    const output = (arn as { 'Fn::GetStackOutput'?: { OutputName: string } })['Fn::GetStackOutput']?.OutputName;
    const value = output ? data.Outputs?.[output]?.Value : undefined;
    const [producer] = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'] ?? [];
    return producer ? data.Resources[producer]?.Type : undefined;
  };
  const [logicalId, raw] =
    Object.entries(devStack('DevServices')).find(
      ([, r]) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        sourceType(r.Properties?.EventSourceArn) === 'AWS::Kinesis::Stream',
    ) ?? [];
  if (!logicalId || !raw) throw new Error('the dev template has no event-source mapping on a Kinesis stream');
  return {
    stackName: 'Dev-Services',
    logicalId,
    type: raw.Type,
    properties: {
      ...raw.Properties,
      EventSourceArn: STREAM_ARN,
      FunctionName: functionName,
      DestinationConfig: { OnFailure: { Destination: QUEUE_ARN } },
    },
    metadata: {},
    ref: 'local-esm-uuid',
    attributes: {},
  };
}

describe('startEventSourceMappings (Kinesis)', () => {
  let dataDir: string;
  let outFile: string;
  let kinesisServer: Server;
  let sqsServer: Server;
  const sqsMessages: { target: string; body: { QueueUrl: string; MessageBody: string } }[] = [];
  let endpoints: LocalEndpoints;
  let kinesis: KinesisClient;
  let runtime: LambdaRuntime;
  let mappings: EventSourceMappings;
  let template: ReturnType<typeof makeTemplate>;
  let sequence = 0;

  const listen = (server: Server) =>
    new Promise<string>((resolveListen) =>
      server.listen(0, '127.0.0.1', () => resolveListen(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
    );

  const deliveries = (): { Records: KinesisEventRecord[] }[] =>
    readFileSync(outFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { Records: KinesisEventRecord[] });
  const deliveredIds = () =>
    deliveries().flatMap((e) =>
      e.Records.map((r) => (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as { id: string }).id),
    );

  async function put(bodies: Record<string, unknown>[]): Promise<string[]> {
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: bodies.map((b) => ({ PartitionKey: 'customer-1', Data: Buffer.from(JSON.stringify(b)) })),
      }),
    );
    return (out.Records ?? []).map((r) => r.SequenceNumber ?? '');
  }

  const startMappings = () =>
    startEventSourceMappings({
      template,
      invoker: runtime,
      endpoints,
      dataDir,
      pollIntervalMs: 50,
      retryBackoffMs: 10,
    });

  beforeAll(async () => {
    dataDir = tempDir('lambda-esm');
    outFile = join(dataDir, 'deliveries.jsonl');
    kinesisServer = kinesalite({ createStreamMs: 0 });
    // Stands in for the local SQS server: records AmazonSQS.SendMessage calls as the SDK's JSON protocol sends them.
    sqsServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        sqsMessages.push({ target: String(req.headers['x-amz-target']), body: JSON.parse(body) });
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        res.end(JSON.stringify({ MessageId: `m-${sqsMessages.length}`, MD5OfMessageBody: '' }));
      });
    });
    endpoints = { ...closedEndpoints(), kinesis: await listen(kinesisServer), sqs: await listen(sqsServer) };
    kinesis = new KinesisClient({
      endpoint: endpoints.kinesis,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler(),
    });
    await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 10, minDelay: 1 }, { StreamName: STREAM });
    const assemblyDir = join(dataDir, 'cdk.out', 'assembly-Dev');
    template = makeTemplate(
      [
        functionResource(assemblyDir, { name: 'Consumer', source: CONSUMER, env: { OUT_FILE: outFile } }),
        devMapping('Consumer'),
      ],
      assemblyDir,
    );
    runtime = await startLambdaRuntime({ template, endpoints, dataDir, eager: true });
    mappings = await startMappings();
  });

  afterAll(async () => {
    await mappings?.close();
    await runtime?.close();
    kinesis?.destroy();
    await new Promise((r) => kinesisServer.close(r));
    await new Promise((r) => sqsServer.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    rmSync(outFile, { force: true });
    sqsMessages.length = 0;
  });

  const ids = (n: number) => Array.from({ length: n }, () => `tx-${++sequence}`);

  it('GIVEN the dev mapping WHEN read THEN its batching, retry and destination settings are the template’s', () => {
    expect(mappings.mappings).toEqual([
      expect.objectContaining({
        functionName: 'Consumer',
        streamName: STREAM,
        batchSize: 100,
        batchingWindowMs: 1000,
        startingPosition: 'TRIM_HORIZON',
        maximumRetryAttempts: 3,
        maximumRecordAgeSeconds: 21600,
        bisectBatchOnFunctionError: true,
        reportBatchItemFailures: true,
        onFailureArn: QUEUE_ARN,
        functionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ConsumerRole`,
      }),
    ]);
  });

  it('GIVEN records on the stream WHEN drained THEN one batch carries them in order as Lambda’s Kinesis event', async () => {
    const sent = ids(5);
    const seqs = await put(sent.map((id) => ({ id })));
    await mappings.drain();
    const events = deliveries();
    // The 1 s batching window gathers all five into one invocation.
    expect(events).toHaveLength(1);
    expect(deliveredIds()).toEqual(sent);
    const first = events[0]?.Records[0];
    expect(first).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'customer-1',
        sequenceNumber: seqs[0],
        data: Buffer.from(JSON.stringify({ id: sent[0] })).toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seqs[0]}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/ConsumerRole`,
      awsRegion: REGION,
      eventSourceARN: STREAM_ARN,
    });
    const checkpoint = JSON.parse(
      readFileSync(join(dataDir, 'esm', `Dev-Services-${devMapping('x').logicalId}.json`), 'utf8'),
    );
    expect(checkpoint.shards['shardId-000000000000'].sequenceNumber).toBe(seqs[4]);
  });

  it('GIVEN a record the function reports as failed WHEN retries run out THEN the rest lands and the DLQ gets the tail', async () => {
    const [a, b, c, d] = ids(4);
    const seqs = await put([{ id: a }, { id: b }, { id: c, poison: true }, { id: d }]);
    await mappings.drain();
    // First call: a b c d; then 3 retries from the failed record (c d), as Lambda retries from the checkpoint.
    expect(deliveries().map((e) => e.Records.length)).toEqual([4, 2, 2, 2]);
    expect(sqsMessages).toHaveLength(1);
    expect(sqsMessages[0]?.target).toBe('AmazonSQS.SendMessage');
    expect(sqsMessages[0]?.body.QueueUrl).toBe(
      `${endpoints.sqs}/${ACCOUNT}/Dev-Services-FeaturesDeadLetterQueueF9F1A4AC`,
    );
    const record = JSON.parse(sqsMessages[0]?.body.MessageBody ?? '{}');
    expect(record).toMatchObject({
      requestContext: {
        functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:Consumer`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      version: '1.0',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: seqs[2],
        endSequenceNumber: seqs[3],
        batchSize: 2,
        streamArn: STREAM_ARN,
      },
    });
    expect(record.responseContext.functionError).toBeUndefined();
    expect(Date.parse(record.KinesisBatchInfo.approximateArrivalOfFirstRecord)).not.toBeNaN();
  });

  it('GIVEN a record that makes the function throw WHEN bisected THEN only that record goes to the DLQ', async () => {
    const sent = ids(8);
    const crashAt = 5;
    const seqs = await put(sent.map((id, i) => (i === crashAt ? { id, crash: true } : { id })));
    await mappings.drain();
    const delivered = deliveredIds();
    // Every good record was delivered in a batch that succeeded; the bad one alone exhausted its retries.
    for (const id of sent.filter((_, i) => i !== crashAt)) expect(delivered).toContain(id);
    const alone = deliveries().filter(
      (e) => e.Records.length === 1 && e.Records[0]?.kinesis.sequenceNumber === seqs[crashAt],
    );
    expect(alone).toHaveLength(4);
    expect(sqsMessages).toHaveLength(1);
    const record = JSON.parse(sqsMessages[0]?.body.MessageBody ?? '{}');
    expect(record.responseContext.functionError).toBe('Unhandled');
    expect(record.KinesisBatchInfo).toMatchObject({ startSequenceNumber: seqs[crashAt], batchSize: 1 });
  });

  it('GIVEN a restart WHEN the mapping starts again THEN it resumes after the checkpoint (nothing redelivered)', async () => {
    await mappings.close();
    const sent = ids(3);
    await put(sent.map((id) => ({ id })));
    mappings = await startMappings();
    await mappings.drain();
    expect(deliveredIds()).toEqual(sent);
    expect(mappings.stats()[0]).toMatchObject({ shards: 1, recordsFailed: 0, recordsSucceeded: 3 });
  });
  it('GIVEN FilterCriteria on the data WHEN records arrive THEN only matching ones are delivered, the rest checkpointed past', async () => {
    await mappings.close();
    const filtered = devMapping('Consumer');
    template = makeTemplate(
      [
        template.ofType('AWS::Lambda::Function')[0] as LocalResource,
        {
          ...filtered,
          properties: {
            ...filtered.properties,
            FilterCriteria: { Filters: [{ Pattern: '{"data":{"keep":[true]}}' }] },
          },
        },
      ],
      template.assemblyDir,
    );
    mappings = await startMappings();
    const [a, b, c, d] = ids(4);
    const seqs = await put([{ id: a, keep: true }, { id: b }, { id: c, keep: true }, { id: d, keep: false }]);
    await mappings.drain();
    expect(deliveredIds()).toEqual([a, c]);
    expect(mappings.stats()[0]).toMatchObject({ recordsSucceeded: 2, recordsFiltered: 2 });
    const checkpoint = JSON.parse(
      readFileSync(join(dataDir, 'esm', `Dev-Services-${filtered.logicalId}.json`), 'utf8'),
    );
    expect(checkpoint.shards['shardId-000000000000'].sequenceNumber).toBe(seqs[3]);
  });
});

describe('firstFailedIndex', () => {
  const records = ['1', '2', '3'];
  it.each([
    ['no response', null, -1],
    ['empty failures', { batchItemFailures: [] }, -1],
    ['the lowest failed record', { batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] }, 1],
    ['an unknown identifier (whole batch)', { batchItemFailures: [{ itemIdentifier: '9' }] }, 0],
    ['an empty identifier (whole batch)', { batchItemFailures: [{ itemIdentifier: '' }] }, 0],
    ['a non-array (whole batch)', { batchItemFailures: 'x' }, 0],
  ])('GIVEN %s WHEN parsed THEN the first failed index is right', (_name, payload, expected) => {
    expect(firstFailedIndex(payload, records)).toBe(expected);
  });
});
