// Starts the local stand-ins for the template's AWS services under one data directory — DynamoDB (with its table
// streams), Kinesis and S3 in the backends process (../backends), EventBridge, Firehose, SNS and SQS here — and creates
// the template's tables, streams and buckets (idempotent on restart). What each acknowledges is on disk before it answers; see
// docs/local-stage.md for each service's guarantee next to AWS's.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type StreamViewType,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListStreamsCommand,
} from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startLocalBackends } from '../backends/index.js';
import type { Closable, FunctionInvoker, LocalEndpoints, LocalTemplate } from '../types.js';
import { type ArchivedEvent, type Delivery, LocalEventBridge } from './eventbridge.js';
import { type FirehoseObject, LocalFirehose } from './firehose.js';
import type { RunningServer } from './http.js';
import { type SnsMessage, SnsStore, startSnsServer } from './sns.js';
import { type SqsMessage, SqsStore, startSqsServer } from './sqs.js';

export { EventPatternError, matchesEventPattern, validateEventPattern } from './event-pattern.js';
export { type ArchivedEvent, type BusEvent, type Delivery, LocalEventBridge } from './eventbridge.js';
export { expandPrefix, type FirehoseObject, LocalFirehose } from './firehose.js';
export { type SnsMessage, SnsStore } from './sns.js';
export { md5OfMessageAttributes, type SqsMessage, SqsStore } from './sqs.js';

export interface StartLocalServicesOptions {
  readonly template: LocalTemplate;
  /** Root of the local stage's state; each service keeps its own subfolder. */
  readonly dataDir: string;
  /** Runs the Lambda targets of the bus rules. */
  readonly invoker: FunctionInvoker;
  /** First EventBridge retry delay (doubles per attempt, capped at 2 s).
   *  @default 100 */
  readonly eventRetryBaseDelayMs?: number;
  /** Overrides every Firehose buffering interval.
   *  @default - each stream's BufferingHints.IntervalInSeconds */
  readonly firehoseIntervalMs?: number;
  /** Where dynalite, kinesalite and s3rver run: `process` keeps their CPU work (LevelDB, validation) off this event
   *  loop, in a child process logging to `<dataDir>/logs/backends.log`; `in-process` is for debugging.
   *  @default 'process' */
  readonly backends?: 'process' | 'in-process';
}

export interface LocalServices {
  readonly endpoints: Omit<LocalEndpoints, 'sagemakerRuntime'>;
  readonly eventBridge: LocalEventBridge;
  readonly firehose: LocalFirehose;
  readonly sqs: SqsStore;
  readonly sns: SnsStore;
  /** The process running dynalite, kinesalite and s3rver (pid and log undefined when in-process). */
  readonly backends: {
    readonly pid: number | undefined;
    readonly logFile: string | undefined;
    /** Why that process ended while the services were running, if it did. */
    failure(): Error | undefined;
  };
  /** Physical names of what was provisioned (for the banner and tests). */
  readonly provisioned: { readonly tables: string[]; readonly streams: string[]; readonly buckets: string[] };
  /** Which rule target received which event (pending, delivered, dead-lettered or dropped). */
  deliveries(): readonly Delivery[];
  /** The bus archive (`<dataDir>/events/archive.jsonl`). */
  archive(): ArchivedEvent[];
  /** Messages in a queue, by URL, ARN or name (visible or in flight). */
  queueMessages(queue: string): readonly SqsMessage[];
  /** Messages published to a topic, by ARN. */
  topicMessages(topicArn: string): SnsMessage[];
  /** Objects Firehose wrote. */
  firehoseObjects(): readonly FirehoseObject[];
  /** Waits for in-flight bus deliveries and writes Firehose buffers out; rejects when the backends process died. */
  settle(): Promise<void>;
}

const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** CloudFormation table properties → CreateTable input (billing is irrelevant locally; dynalite wants throughput). */
function createTableInput(name: string, p: Readonly<Record<string, unknown>>): CreateTableCommandInput {
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  type Index = { IndexName: string; KeySchema: unknown; Projection: unknown };
  const indexes = (value: unknown, global: boolean) =>
    Array.isArray(value)
      ? (value as Index[]).map((i) => ({
          IndexName: i.IndexName,
          KeySchema: i.KeySchema,
          Projection: i.Projection,
          ...(global ? { ProvisionedThroughput: throughput } : {}),
        }))
      : undefined;
  const gsis = indexes(p.GlobalSecondaryIndexes, true);
  const lsis = indexes(p.LocalSecondaryIndexes, false);
  const stream = streamViewType(p);
  return {
    TableName: name,
    KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    ProvisionedThroughput: throughput,
    ...(gsis ? { GlobalSecondaryIndexes: gsis as CreateTableCommandInput['GlobalSecondaryIndexes'] } : {}),
    ...(lsis ? { LocalSecondaryIndexes: lsis as CreateTableCommandInput['LocalSecondaryIndexes'] } : {}),
    ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream } } : {}),
  };
}

/** The table's stream view type, when the template gives it a StreamSpecification (CloudFormation has no enabled flag:
 *  the property's presence enables the stream). */
function streamViewType(p: Readonly<Record<string, unknown>>): StreamViewType | undefined {
  return (p.StreamSpecification as { StreamViewType?: StreamViewType } | undefined)?.StreamViewType;
}

/** Brings an existing table's stream in line with the template (a table made before its stream was added, or after
 *  it was removed), as a CloudFormation update would: a changed view type is a disable, then an enable. */
async function reconcileStream(client: DynamoDBClient, name: string, wanted: StreamViewType | undefined) {
  const described = await client.send(new DescribeTableCommand({ TableName: name }));
  const current = described.Table?.StreamSpecification?.StreamEnabled
    ? described.Table.StreamSpecification.StreamViewType
    : undefined;
  if (current === wanted) return;
  if (current) {
    await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: false } }));
  }
  if (wanted) {
    await client.send(
      new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: wanted } }),
    );
  }
}

/**
 * Refuses an existing table that lacks an index the template declares: CloudFormation would add it in place, but
 * dynalite cannot add an index to a table, and a Query on the missing index would fail on every request instead.
 */
async function checkIndexes(
  client: DynamoDBClient,
  name: string,
  p: Readonly<Record<string, unknown>>,
  dataDir: string,
) {
  const wanted = ((p.GlobalSecondaryIndexes as { IndexName: string }[] | undefined) ?? []).map((i) => i.IndexName);
  const described = await client.send(new DescribeTableCommand({ TableName: name }));
  const present = new Set((described.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  const missing = wanted.filter((i) => !present.has(i));
  if (missing.length > 0) {
    throw new Error(
      `the table in ${dataDir} predates its index ${missing.join(', ')}, which dynalite cannot add to an existing ` +
        'table: start once with a fresh data directory (remove it, or point AIMS_DATA_DIR elsewhere)',
    );
  }
}

async function provisionTables(template: LocalTemplate, endpoint: string, dataDir: string): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint, region: template.region, credentials: FAKE_CREDENTIALS });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    const names: string[] = [];
    for (const table of template.ofType('AWS::DynamoDB::Table')) {
      names.push(table.ref);
      try {
        if (existing.has(table.ref)) {
          await reconcileStream(client, table.ref, streamViewType(table.properties));
          await checkIndexes(client, table.ref, table.properties, dataDir);
          continue;
        }
        await client.send(new CreateTableCommand(createTableInput(table.ref, table.properties)));
      } catch (error) {
        throw new Error(`creating table ${table.ref} (${table.logicalId}) in dynalite: ${(error as Error).message}`);
      }
    }
    return names;
  } finally {
    client.destroy();
  }
}

async function provisionStreams(template: LocalTemplate, endpoint: string): Promise<string[]> {
  const client = new KinesisClient({
    endpoint,
    region: template.region,
    credentials: FAKE_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
  try {
    const existing = new Set((await client.send(new ListStreamsCommand({}))).StreamNames ?? []);
    const names: string[] = [];
    for (const stream of template.ofType('AWS::Kinesis::Stream')) {
      const p = stream.properties;
      const mode = (p.StreamModeDetails as { StreamMode?: string } | undefined)?.StreamMode;
      const shards = mode === 'ON_DEMAND' ? 1 : Number(p.ShardCount ?? 1);
      names.push(stream.ref);
      if (!existing.has(stream.ref)) {
        await client.send(new CreateStreamCommand({ StreamName: stream.ref, ShardCount: shards }));
      }
      // Bounded wait for ACTIVE (kinesalite is told to create instantly, so this is one or two polls).
      for (let i = 0; i < 50; i += 1) {
        const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream.ref }));
        if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
        if (i === 49) throw new Error(`kinesis stream ${stream.ref} did not become ACTIVE`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return names;
  } finally {
    client.destroy();
  }
}

/** Starts every local service of the template. Close it to stop them all and flush buffered data. */
export async function startLocalServices(options: StartLocalServicesOptions): Promise<LocalServices & Closable> {
  const { template, dataDir } = options;
  const dirs = ['dynamodb', 'kinesis', 's3', 'events', 'firehose', 'sns', 'sqs'].map((d) => join(dataDir, d));
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    // Reverse start order: the bus and Firehose flush into the stores before those stop.
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => {
        process.stderr.write(`local services: error while closing: ${String(error)}\n`);
      });
    }
  };
  try {
    const buckets = template.ofType('AWS::S3::Bucket').map((b) => b.ref);
    const backends = await startLocalBackends({
      dataDir,
      buckets,
      account: template.account,
      region: template.region,
      ...(options.backends ? { isolation: options.backends } : {}),
    });
    closers.push(() => backends.close());
    const { dynamodb: dynamodbUrl, kinesis: kinesisUrl, s3: s3Url } = backends.endpoints;

    const [tables, streams] = await Promise.all([
      provisionTables(template, dynamodbUrl, dataDir),
      provisionStreams(template, kinesisUrl),
    ]);

    const sqs = new SqsStore(template, join(dataDir, 'sqs'));
    const sqsServer = await startSqsServer(sqs, template.account);
    closers.push(async () => {
      sqs.wakeAll();
      await sqsServer.close();
    });
    const sns = new SnsStore(template, join(dataDir, 'sns'));
    const snsServer = await startSnsServer(sns);
    closers.push(async () => {
      await snsServer.close();
      await sns.close();
    });

    const s3 = new S3Client({
      endpoint: s3Url,
      region: template.region,
      credentials: FAKE_CREDENTIALS,
      forcePathStyle: true,
    });
    closers.push(async () => s3.destroy());
    const firehose = new LocalFirehose({
      template,
      s3,
      journalDir: join(dataDir, 'firehose'),
      ...(options.firehoseIntervalMs !== undefined ? { intervalMs: options.firehoseIntervalMs } : {}),
    });
    const firehoseServer: RunningServer = await firehose.start();
    closers.push(() => firehoseServer.close());

    const eventBridge = new LocalEventBridge({
      template,
      dataDir,
      invoker: options.invoker,
      sqs,
      sns,
      ...(options.eventRetryBaseDelayMs !== undefined ? { retryBaseDelayMs: options.eventRetryBaseDelayMs } : {}),
    });
    const eventsServer = await eventBridge.start();
    closers.push(() => eventsServer.close());

    return {
      endpoints: {
        dynamodb: dynamodbUrl,
        kinesis: kinesisUrl,
        s3: s3Url,
        eventbridge: eventsServer.url,
        firehose: firehoseServer.url,
        sns: snsServer.url,
        sqs: sqsServer.url,
      },
      eventBridge,
      firehose,
      sqs,
      sns,
      backends: { pid: backends.pid, logFile: backends.logFile, failure: () => backends.failure() },
      provisioned: { tables, streams, buckets },
      deliveries: () => eventBridge.deliveries(),
      archive: () => eventBridge.archive(),
      queueMessages: (queue) => sqs.peek(queue),
      topicMessages: (topicArn) => sns.messages(topicArn),
      firehoseObjects: () => firehose.objects(),
      settle: async () => {
        const crashed = backends.failure();
        if (crashed) throw crashed;
        await eventBridge.idle();
        await firehose.flush();
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
