// startLocalServices end to end: real emulators on 127.0.0.1 driven by real AWS SDK v3 clients, then a restart.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadLocalTemplate } from '../../template/index.js';
import type { Closable, FunctionInvoker, InvokeResult, LocalTemplate } from '../../types.js';
import { LocalEventBridge } from '../eventbridge.js';
import { type LocalServices, startLocalServices } from '../index.js';
import { SqsStore } from '../sqs.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'eu-west-1';

/** A real invoker stand-in: records every call and fails for functions listed in `failing`. */
class RecordingInvoker implements FunctionInvoker {
  readonly calls: { target: string; event: unknown }[] = [];
  readonly failing = new Set<string>();
  async invoke(target: string, event: unknown): Promise<InvokeResult> {
    this.calls.push({ target, event });
    if ([...this.failing].some((name) => target.endsWith(`:${name}`))) {
      return { ok: false, errorType: 'Error', errorMessage: 'boom', durationMs: 1 };
    }
    return { ok: true, payload: null, durationMs: 1 };
  }
}

const template = {
  Resources: {
    Table: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'id', AttributeType: 'S' },
          { AttributeName: 'customer', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byCustomer',
            KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    },
    Stream: { Type: 'AWS::Kinesis::Stream', Properties: { StreamModeDetails: { StreamMode: 'ON_DEMAND' } } },
    Lake: { Type: 'AWS::S3::Bucket', Properties: {} },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'TestBus' } },
    Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
    Good: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
    Bad: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
    // EventBridge invokes Lambda asynchronously: the function's own config says how its errors are retried and where
    // they end (the rule's RetryPolicy and DLQ only cover handing the event to Lambda).
    BadAsync: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'Bad' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
      },
    },
    Lost: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
    LostRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { 'detail-type': ['Lost'] },
        Targets: [
          {
            Id: 'T0',
            Arn: { 'Fn::GetAtt': ['Lost', 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } },
          },
        ],
      },
    },
    GoodRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { source: ['aims.score'], 'detail-type': ['FraudSuspected'] },
        Targets: [{ Id: 'T0', Arn: { 'Fn::GetAtt': ['Good', 'Arn'] } }],
      },
    },
    BadRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { 'detail-type': ['LabelReported'], source: [{ 'anything-but': 'aims.feedback' }] },
        Targets: [
          {
            Id: 'T0',
            Arn: { 'Fn::GetAtt': ['Bad', 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } },
          },
        ],
      },
    },
    Log: {
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      Properties: {
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: { 'Fn::GetAtt': ['Lake', 'Arn'] },
          Prefix: 'decisions/dt=!{timestamp:yyyy-MM-dd}/',
          CompressionFormat: 'GZIP',
          BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
        },
      },
    },
  },
};

function writeAssembly(root: string, resources: typeof template = template): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'S.template.json'), JSON.stringify(resources));
  writeFileSync(
    join(root, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: {
        S: {
          type: 'aws:cloudformation:stack',
          environment: `aws://123456789012/${region}`,
          properties: { templateFile: 'S.template.json', stackName: 'T-S' },
        },
      },
    }),
  );
}

async function sqs(endpoint: string, operation: string, input: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${operation}` },
    body: JSON.stringify(input),
  });
  return { status: response.status, ...((await response.json()) as Record<string, unknown>) };
}

describe('startLocalServices', () => {
  let root: string;
  let dataDir: string;
  let local: LocalTemplate;
  let services: (LocalServices & Closable) | undefined;
  const invoker = new RecordingInvoker();
  invoker.failing.add('T-S-Bad');
  invoker.failing.add('T-S-Lost');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'aims-services-'));
    dataDir = join(root, 'data');
    writeAssembly(join(root, 'asm'));
    local = loadLocalTemplate({ assemblyDir: join(root, 'asm'), stageName: 'T' });
    services = await startLocalServices({ template: local, dataDir, invoker, eventRetryBaseDelayMs: 10 });
  });
  afterAll(async () => {
    await services?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const started = (): LocalServices & Closable => {
    if (!services) throw new Error('services did not start');
    return services;
  };

  it('GIVEN the template WHEN started THEN its table (with GSI), stream and bucket exist and work', async () => {
    const { endpoints, provisioned } = started();
    expect(provisioned).toEqual({ tables: ['T-S-Table'], streams: ['T-S-Stream'], buckets: ['t-s-lake'] });
    const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials });
    await ddb.send(new PutItemCommand({ TableName: 'T-S-Table', Item: { id: { S: '1' }, customer: { S: 'c1' } } }));
    const byCustomer = await ddb.send(
      new QueryCommand({
        TableName: 'T-S-Table',
        IndexName: 'byCustomer',
        KeyConditionExpression: 'customer = :c',
        ExpressionAttributeValues: { ':c': { S: 'c1' } },
      }),
    );
    expect(byCustomer.Items?.[0]?.id?.S).toBe('1');
    ddb.destroy();

    const kinesis = new KinesisClient({
      endpoint: endpoints.kinesis,
      region,
      credentials,
      requestHandler: new NodeHttpHandler(),
    });
    await kinesis.send(
      new PutRecordCommand({ StreamName: 'T-S-Stream', PartitionKey: 'k', Data: Buffer.from('hello') }),
    );
    const shards = await kinesis.send(new ListShardsCommand({ StreamName: 'T-S-Stream' }));
    expect(shards.Shards).toHaveLength(1);
    const iterator = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: 'T-S-Stream',
        ShardId: shards.Shards?.[0]?.ShardId ?? '',
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const records = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator ?? '' }));
    expect(Buffer.from(records.Records?.[0]?.Data ?? []).toString()).toBe('hello');
    kinesis.destroy();

    // No forcePathStyle: an IP endpoint makes SDK v3 use path-style requests, as the Lambdas' clients will.
    const s3 = new S3Client({ endpoint: endpoints.s3, region, credentials });
    await s3.send(new PutObjectCommand({ Bucket: 't-s-lake', Key: 'a/b.json', Body: '{"x":1}' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: 't-s-lake', Key: 'a/b.json' }));
    expect(await object.Body?.transformToString()).toBe('{"x":1}');
    s3.destroy();
  });

  it('GIVEN bus rules WHEN events are put THEN matching targets get them, function errors retry per the function async config then land in its on-failure queue', async () => {
    const services = started();
    const events = new EventBridgeClient({ endpoint: services.endpoints.eventbridge, region, credentials });
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'TestBus', Source: 'aims.score', DetailType: 'FraudSuspected', Detail: '{"version":1}' },
          {
            EventBusName: 'TestBus',
            Source: 'bank.chargebacks',
            DetailType: 'LabelReported',
            Detail: '{"label":"fraud"}',
          },
          {
            EventBusName: 'TestBus',
            Source: 'aims.feedback',
            DetailType: 'LabelReported',
            Detail: '{"label":"fraud"}',
          },
          { EventBusName: 'NoSuchBus', Source: 'x', DetailType: 'y', Detail: '{}' },
          { EventBusName: 'TestBus', Source: 'x', DetailType: 'y', Detail: 'not json' },
          { EventBusName: 'TestBus', Source: 'x.lost', DetailType: 'Lost', Detail: '{}' },
        ],
      }),
    );
    events.destroy();
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[3]?.ErrorCode).toBe('ResourceNotFoundException');
    expect(result.Entries?.[4]?.ErrorCode).toBe('MalformedDetail');
    await services.settle();

    const deliveries = services.deliveries();
    expect(deliveries.map((d) => [d.ruleName, d.status, d.attempts])).toEqual([
      ['T-S-GoodRule', 'delivered', 1],
      // The function's MaximumRetryAttempts (1), not the rule's RetryPolicy (2).
      ['T-S-BadRule', 'dead-lettered', 2],
      // No EventInvokeConfig: Lambda's 2 retries, then the event is discarded — the rule's DLQ never sees it.
      ['T-S-LostRule', 'dropped', 3],
    ]);
    const good = invoker.calls.find((c) => c.target.endsWith(':T-S-Good'))?.event as Record<string, unknown>;
    expect(good).toMatchObject({
      source: 'aims.score',
      'detail-type': 'FraudSuspected',
      account: '123456789012',
      detail: { version: 1 },
    });
    expect(services.archive().map((a) => a.event.source)).toEqual([
      'aims.score',
      'bank.chargebacks',
      'aims.feedback',
      'x.lost',
    ]);

    const queueUrl = local.ofType('AWS::SQS::Queue')[0]?.attributes.QueueName ?? '';
    const attributes = await sqs(services.endpoints.sqs, 'GetQueueAttributes', {
      QueueUrl: `${services.endpoints.sqs}/123456789012/${queueUrl}`,
      AttributeNames: ['ApproximateNumberOfMessages'],
    });
    expect(attributes.Attributes).toEqual({ ApproximateNumberOfMessages: '1' });
    const received = await sqs(services.endpoints.sqs, 'ReceiveMessage', {
      QueueUrl: `http://elsewhere/123456789012/${queueUrl}`,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
    });
    const messages = received.Messages as {
      Body: string;
      ReceiptHandle: string;
      MessageAttributes: Record<string, { StringValue: string }>;
    }[];
    expect(messages).toHaveLength(1);
    // Lambda's on-failure invocation record: the event, the attempts, the error.
    expect(JSON.parse(messages[0]?.Body ?? '{}')).toMatchObject({
      version: '1.0',
      requestContext: {
        functionArn: expect.stringMatching(/:function:T-S-Bad:\$LATEST$/),
        condition: 'RetriesExhausted',
        approximateInvokeCount: 2,
      },
      requestPayload: { source: 'bank.chargebacks' },
      responseContext: { functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom' },
    });
    const deleted = await sqs(services.endpoints.sqs, 'DeleteMessage', {
      QueueUrl: queueUrl,
      ReceiptHandle: messages[0]?.ReceiptHandle,
    });
    expect(deleted.status).toBe(200);
    const missing = await sqs(services.endpoints.sqs, 'SendMessage', { QueueUrl: 'nope', MessageBody: 'x' });
    expect(missing).toMatchObject({ status: 400, __type: 'com.amazonaws.sqs#QueueDoesNotExist' });
  });

  it('GIVEN a GZIP Firehose stream WHEN records are put and flushed THEN one object lands under the dated prefix', async () => {
    const services = started();
    const firehose = new FirehoseClient({ endpoint: services.endpoints.firehose, region, credentials });
    const out = await firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'T-S-Log',
        Records: [{ Data: Buffer.from('{"a":1}\n') }, { Data: Buffer.from('{"a":2}\n') }],
      }),
    );
    firehose.destroy();
    expect(out.FailedPutCount).toBe(0);
    await services.settle();
    const s3 = new S3Client({ endpoint: services.endpoints.s3, region, credentials, forcePathStyle: true });
    const day = new Date().toISOString().slice(0, 10);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 't-s-lake', Prefix: `decisions/dt=${day}/` }));
    expect(listed.Contents).toHaveLength(1);
    const key = listed.Contents?.[0]?.Key ?? '';
    expect(key).toMatch(
      new RegExp(`^decisions/dt=${day}/T-S-Log-1-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}\\.gz$`),
    );
    const object = await s3.send(new GetObjectCommand({ Bucket: 't-s-lake', Key: key }));
    const bytes = Buffer.from(await (object.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
    expect(gunzipSync(bytes).toString()).toBe('{"a":1}\n{"a":2}\n');
    s3.destroy();
  });

  it('GIVEN a topic WHEN published through the SDK THEN the message is stored and an unknown topic is NotFound', async () => {
    const services = started();
    const topicArn = local.ofType('AWS::SNS::Topic')[0]?.ref ?? '';
    const sns = new SNSClient({ endpoint: services.endpoints.sns, region, credentials });
    const published = await sns.send(
      new PublishCommand({ TopicArn: topicArn, Subject: 'fraud', Message: '{"tx":"1"}' }),
    );
    expect(published.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    await expect(sns.send(new PublishCommand({ TopicArn: `${topicArn}-nope`, Message: 'x' }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    sns.destroy();
    expect(services.topicMessages(topicArn).map((m) => [m.Subject, m.Message])).toEqual([['fraud', '{"tx":"1"}']]);
  });

  it('GIVEN data in every store WHEN the services restart on the same data dir THEN nothing is lost', async () => {
    const before = started();
    await sqs(before.endpoints.sqs, 'SendMessage', { QueueUrl: 'T-S-Dlq', MessageBody: 'kept' });
    await before.close();
    services = await startLocalServices({ template: local, dataDir, invoker });
    const after = started();
    const ddb = new DynamoDBClient({ endpoint: after.endpoints.dynamodb, region, credentials });
    const item = await ddb.send(new GetItemCommand({ TableName: 'T-S-Table', Key: { id: { S: '1' } } }));
    ddb.destroy();
    expect(item.Item?.customer?.S).toBe('c1');
    expect(after.queueMessages('T-S-Dlq').map((m) => m.Body)).toEqual(['kept']);
    expect(after.archive()).toHaveLength(4);
    expect(after.topicMessages(local.ofType('AWS::SNS::Topic')[0]?.ref ?? '')).toHaveLength(1);
  });

  it('GIVEN more deliveries than the log keeps WHEN events keep arriving THEN only the latest are kept', async () => {
    const recorder = new RecordingInvoker();
    const busDir = join(root, 'bounded-bus');
    const bus = new LocalEventBridge({
      template: local,
      dataDir: busDir,
      invoker: recorder,
      sqs: new SqsStore(local, join(busDir, 'sqs')),
      deliveryLogLimit: 3,
    });
    for (let i = 0; i < 10; i++) {
      bus.putEvents({
        Entries: [
          { EventBusName: 'TestBus', Source: 'aims.score', DetailType: 'FraudSuspected', Detail: `{"n":${i}}` },
        ],
      });
    }
    await bus.idle();
    expect(recorder.calls).toHaveLength(10);
    expect(bus.deliveries().map((d) => (d.input as { detail: { n: number } }).detail.n)).toEqual([7, 8, 9]);
  });

  it('GIVEN a table whose StreamSpecification the template adds, changes and removes WHEN the services restart THEN its stream follows', async () => {
    const streamRoot = join(root, 'streams');
    const streamData = join(streamRoot, 'data');
    const startWith = async (streamSpecification: { StreamViewType: string } | undefined) => {
      const table = template.Resources.Table;
      const properties = {
        ...table.Properties,
        ...(streamSpecification ? { StreamSpecification: streamSpecification } : {}),
      };
      writeAssembly(join(streamRoot, 'asm'), {
        Resources: { Table: { ...table, Properties: properties } },
      } as typeof template);
      return startLocalServices({
        template: loadLocalTemplate({ assemblyDir: join(streamRoot, 'asm'), stageName: 'T' }),
        dataDir: streamData,
        invoker,
      });
    };
    const describe = async (running: LocalServices) => {
      const ddb = new DynamoDBClient({ endpoint: running.endpoints.dynamodb, region, credentials });
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'T-S-Table' }));
      ddb.destroy();
      return { spec: Table?.StreamSpecification, arn: Table?.LatestStreamArn };
    };
    const streamArn = (local: LocalTemplate) => local.ofType('AWS::DynamoDB::Table')[0]?.attributes.StreamArn;
    const expectations: [{ StreamViewType: string } | undefined, object | undefined][] = [
      [undefined, undefined],
      [{ StreamViewType: 'NEW_IMAGE' }, { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' }],
      [{ StreamViewType: 'NEW_AND_OLD_IMAGES' }, { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' }],
      [undefined, undefined],
    ];
    for (const [wanted, shown] of expectations) {
      const running = await startWith(wanted);
      try {
        const { spec, arn } = await describe(running);
        expect(spec).toEqual(shown);
        // The stream's ARN is the one `GetAtt Table.StreamArn` resolves to, so a mapping of the template finds it.
        expect(arn).toBe(
          shown ? streamArn(loadLocalTemplate({ assemblyDir: join(streamRoot, 'asm'), stageName: 'T' })) : undefined,
        );
      } finally {
        await running.close();
      }
    }
  });
});
