// The template's Kinesis event-source mappings run locally: shard pollers over kinesalite that invoke the function
// with Lambda's Kinesis event, honour batching, partial batch responses, bisection, retries, record age and the
// on-failure destination, and persist checkpoints under `<dataDir>/esm/` so a restart resumes where it stopped.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type {
  Closable,
  FunctionInvoker,
  InvokeResult,
  LocalEndpoints,
  LocalResource,
  LocalTemplate,
} from '../types.js';
import { type FailureDestination, failureDestination } from './destinations.js';

export interface EventSourceMappingsOptions {
  readonly template: LocalTemplate;
  readonly invoker: FunctionInvoker;
  readonly endpoints: LocalEndpoints;
  /** Checkpoints go to `<dataDir>/esm/<mapping>.json`, the poller log to `<dataDir>/logs/esm.log`. */
  readonly dataDir: string;
  /** Pause between GetRecords calls on an empty shard (Lambda polls each shard about once a second). @default 250 */
  readonly pollIntervalMs?: number;
  /** First retry delay after a failed batch; doubles per attempt up to 5 s. @default 200 */
  readonly retryBackoffMs?: number;
}

/** One Kinesis mapping of the template, with Lambda's defaults filled in. */
export interface KinesisMappingConfig {
  /** `<StackName>-<LogicalId>`: names the checkpoint file. */
  readonly id: string;
  readonly logicalId: string;
  readonly functionName: string;
  readonly functionRoleArn: string;
  readonly streamArn: string;
  readonly streamName: string;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  readonly startingPositionTimestamp?: number;
  /** -1 = retry until the records expire (Lambda's default). */
  readonly maximumRetryAttempts: number;
  /** -1 = never expire (Lambda's default). */
  readonly maximumRecordAgeSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly onFailureArn?: string;
}

export interface MappingStats {
  readonly id: string;
  readonly functionName: string;
  readonly streamName: string;
  readonly shards: number;
  readonly invocations: number;
  readonly recordsSucceeded: number;
  /** Records given up on (sent to the on-failure destination, or dropped when there is none). */
  readonly recordsFailed: number;
  readonly lastError?: string;
}

export interface EventSourceMappings extends Closable {
  readonly mappings: readonly KinesisMappingConfig[];
  /** Resolves once every shard of every mapping has polled empty after this call with nothing in flight:
   *  all records put before the call are processed (or sent to the on-failure destination). */
  drain(timeoutMs?: number): Promise<void>;
  /** Same as drain(). */
  idle(timeoutMs?: number): Promise<void>;
  stats(): MappingStats[];
}

const STREAM_ARN = /^arn:aws[^:]*:kinesis:[^:]*:[^:]*:stream\/(.+)$/;
const MAX_BACKOFF_MS = 5_000;

function num(resource: LocalResource, key: string, fallback: number): number {
  const value = resource.properties[key];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${resource.logicalId}: ${key} is ${JSON.stringify(value)}, not a number`);
  return n;
}

/** Reads one `AWS::Lambda::EventSourceMapping`; throws for settings the local poller would silently ignore. */
export function kinesisMappingConfig(template: LocalTemplate, resource: LocalResource): KinesisMappingConfig {
  const p = resource.properties;
  const where = `${resource.stackName}/${resource.logicalId}`;
  const streamArn = String(p.EventSourceArn ?? '');
  const streamName = STREAM_ARN.exec(streamArn)?.[1];
  if (!streamName) throw new Error(`${where}: EventSourceArn ${streamArn} is not a Kinesis stream`);
  for (const key of ['FilterCriteria', 'TumblingWindowInSeconds', 'KmsKeyArn']) {
    if (p[key] !== undefined) throw new Error(`${where}: ${key} is not supported by the local Kinesis poller`);
  }
  const functionName = String(p.FunctionName ?? '');
  if (!functionName) throw new Error(`${where}: no FunctionName`);
  const fn =
    template.byArn(functionName) ??
    template.ofType('AWS::Lambda::Function').find((r) => r.ref === functionName || r.attributes.Arn === functionName);
  const startingPosition = String(p.StartingPosition ?? '');
  if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST' && startingPosition !== 'AT_TIMESTAMP') {
    throw new Error(`${where}: StartingPosition ${JSON.stringify(p.StartingPosition)} is not valid for Kinesis`);
  }
  const responseTypes = Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes : [];
  const destination = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure
    ?.Destination;
  return {
    id: `${resource.stackName}-${resource.logicalId}`,
    logicalId: resource.logicalId,
    functionName,
    functionRoleArn:
      typeof fn?.properties.Role === 'string'
        ? fn.properties.Role
        : `arn:aws:iam::${template.account}:role/${functionName}`,
    streamArn,
    streamName,
    batchSize: num(resource, 'BatchSize', 100),
    batchingWindowMs: num(resource, 'MaximumBatchingWindowInSeconds', 0) * 1000,
    startingPosition,
    ...(p.StartingPositionTimestamp === undefined
      ? {}
      : { startingPositionTimestamp: num(resource, 'StartingPositionTimestamp', 0) }),
    maximumRetryAttempts: num(resource, 'MaximumRetryAttempts', -1),
    maximumRecordAgeSeconds: num(resource, 'MaximumRecordAgeInSeconds', -1),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true || p.BisectBatchOnFunctionError === 'true',
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    ...(typeof destination === 'string' ? { onFailureArn: destination } : {}),
  };
}

/** Lambda's Kinesis event for a batch of records of one shard. */
export function kinesisEvent(config: KinesisMappingConfig, region: string, shardId: string, records: KinesisRecord[]) {
  return {
    Records: records.map((r) => ({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey ?? '',
        sequenceNumber: r.SequenceNumber ?? '',
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: config.functionRoleArn,
      awsRegion: region,
      eventSourceARN: config.streamArn,
    })),
  };
}

/** Index of the first failed record of a partial batch response; -1 when all succeeded; 0 when the response is
 *  malformed (Lambda then treats the whole batch as failed). */
export function firstFailedIndex(payload: unknown, records: readonly KinesisRecord[]): number {
  if (payload === null || payload === undefined || typeof payload !== 'object') return -1;
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return -1;
  if (!Array.isArray(failures)) return 0;
  let first = -1;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const at = typeof id === 'string' && id !== '' ? records.findIndex((r) => r.SequenceNumber === id) : -1;
    if (at < 0) return 0;
    if (first < 0 || at < first) first = at;
  }
  return first;
}

interface CheckpointFile {
  mapping: string;
  streamArn: string;
  functionName: string;
  /** When a LATEST mapping first started: a restart before any record resumes from here (AT_TIMESTAMP). */
  startedAt?: string;
  shards: Record<string, { sequenceNumber: string; updatedAt: string }>;
}

const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

/** Pauses that close() cuts short, so shutdown never waits out a retry backoff. */
class Naps {
  private readonly wakers = new Set<() => void>();
  private stopped = false;
  nap(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolveNap) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolveNap();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
  wakeAll(): void {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
  }
}

class MappingRunner {
  private readonly checkpointPath: string;
  private readonly state: CheckpointFile;
  private readonly destination: FailureDestination | undefined;
  private readonly shards = new Map<string, { idleAt: number; done: boolean }>();
  private closed = false;
  private loops: Promise<void>[] = [];
  private discovery: Promise<void> | undefined;
  private counters = { invocations: 0, recordsSucceeded: 0, recordsFailed: 0 };
  private lastError: string | undefined;
  private pollCounter: () => number;
  private readonly naps = new Naps();

  constructor(
    readonly config: KinesisMappingConfig,
    private readonly options: EventSourceMappingsOptions,
    private readonly kinesis: KinesisClient,
    pollCounter: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.pollCounter = pollCounter;
    const dir = join(options.dataDir, 'esm');
    mkdirSync(dir, { recursive: true });
    this.checkpointPath = join(dir, `${config.id}.json`);
    this.state = existsSync(this.checkpointPath)
      ? (JSON.parse(readFileSync(this.checkpointPath, 'utf8')) as CheckpointFile)
      : { mapping: config.id, streamArn: config.streamArn, functionName: config.functionName, shards: {} };
    if (config.startingPosition === 'LATEST' && !this.state.startedAt) {
      this.state.startedAt = new Date().toISOString();
      this.persist();
    }
    this.destination = config.onFailureArn
      ? failureDestination(config.onFailureArn, options.endpoints, options.template.region)
      : undefined;
  }

  start(): void {
    this.discovery = this.discoverShards();
  }

  private persist(): void {
    const tmp = `${this.checkpointPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    renameSync(tmp, this.checkpointPath);
  }

  private checkpoint(shardId: string, record: KinesisRecord | undefined): void {
    if (!record?.SequenceNumber) return;
    this.state.shards[shardId] = { sequenceNumber: record.SequenceNumber, updatedAt: new Date().toISOString() };
    this.persist();
  }

  /** Finds the stream's shards (waiting for the stream to exist) and starts one poller per shard. */
  private async discoverShards(): Promise<void> {
    while (!this.closed) {
      try {
        const shardIds: string[] = [];
        let exclusiveStartShardId: string | undefined;
        for (;;) {
          const out = await this.kinesis.send(
            new DescribeStreamCommand({
              StreamName: this.config.streamName,
              ...(exclusiveStartShardId ? { ExclusiveStartShardId: exclusiveStartShardId } : {}),
            }),
          );
          const shards = out.StreamDescription?.Shards ?? [];
          shardIds.push(...shards.map((s) => s.ShardId ?? '').filter(Boolean));
          if (!out.StreamDescription?.HasMoreShards || shards.length === 0) break;
          exclusiveStartShardId = shards.at(-1)?.ShardId;
        }
        for (const shardId of shardIds) {
          if (this.shards.has(shardId)) continue;
          this.shards.set(shardId, { idleAt: -1, done: false });
          this.loops.push(this.pollShard(shardId));
        }
        return;
      } catch (error) {
        this.fail(`describe stream ${this.config.streamName}`, error);
        await this.naps.nap(1_000);
      }
    }
  }

  private fail(what: string, error: unknown): void {
    this.lastError = `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    this.log(`${this.config.id} ${this.lastError}`);
  }

  private async iterator(shardId: string, afterSequenceNumber: string | undefined): Promise<string> {
    const base = { StreamName: this.config.streamName, ShardId: shardId };
    const after = afterSequenceNumber ?? this.state.shards[shardId]?.sequenceNumber;
    let input: GetShardIteratorCommandInput;
    if (after) input = { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after };
    else if (this.config.startingPosition === 'AT_TIMESTAMP') {
      input = {
        ...base,
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp: new Date((this.config.startingPositionTimestamp ?? 0) * 1000),
      };
    } else if (this.config.startingPosition === 'LATEST' && this.state.startedAt) {
      input = { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(this.state.startedAt) };
    } else input = { ...base, ShardIteratorType: this.config.startingPosition };
    const out = await this.kinesis.send(new GetShardIteratorCommand(input));
    if (!out.ShardIterator) throw new Error(`no shard iterator for ${shardId}`);
    return out.ShardIterator;
  }

  private async pollShard(shardId: string): Promise<void> {
    const shard = this.shards.get(shardId);
    if (!shard) return;
    const buffer: KinesisRecord[] = [];
    let iterator: string | undefined;
    let lastFetched: string | undefined;
    let windowStart: number | undefined;
    let shardClosed = false;
    const pollInterval = this.options.pollIntervalMs ?? 250;
    while (!this.closed) {
      let fetched = 0;
      if (!shardClosed && buffer.length < this.config.batchSize) {
        const pollId = this.pollCounter();
        let out: GetRecordsCommandOutput;
        try {
          iterator ??= await this.iterator(shardId, lastFetched);
          out = await this.kinesis.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: this.config.batchSize }),
          );
        } catch (error) {
          // An expired iterator is routine; anything else (kinesalite gone) is logged and retried.
          if ((error as Error).name !== 'ExpiredIteratorException') this.fail(`GetRecords ${shardId}`, error);
          iterator = undefined;
          await this.naps.nap(error instanceof Error && error.name === 'ExpiredIteratorException' ? 0 : 1_000);
          continue;
        }
        const records = out.Records ?? [];
        fetched = records.length;
        buffer.push(...records);
        if (records.length > 0) lastFetched = records.at(-1)?.SequenceNumber;
        if (out.NextShardIterator) iterator = out.NextShardIterator;
        else shardClosed = true;
        if (buffer.length === 0) {
          shard.idleAt = pollId;
          if (shardClosed) break;
          await this.naps.nap(pollInterval);
          continue;
        }
      }
      if (buffer.length === 0) break;
      // Batching window: keep reading until the batch is full or the window since the first record has passed.
      if (buffer.length < this.config.batchSize && this.config.batchingWindowMs > 0 && !shardClosed) {
        windowStart ??= performance.now();
        const remaining = this.config.batchingWindowMs - (performance.now() - windowStart);
        if (remaining > 0) {
          if (fetched === 0) await this.naps.nap(Math.min(pollInterval, remaining));
          continue;
        }
      }
      windowStart = undefined;
      await this.processBatch(shardId, buffer.splice(0, this.config.batchSize), 0);
    }
    shard.done = true;
  }

  private async invoke(event: unknown): Promise<InvokeResult> {
    this.counters.invocations++;
    try {
      return await this.options.invoker.invoke(this.config.functionName, event);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      return { ok: false, errorType: e.name, errorMessage: e.message, durationMs: 0 };
    }
  }

  /** Delivers `records` (contiguous, in order) until they succeed or are given up on; checkpoints as it goes. */
  private async processBatch(shardId: string, batch: KinesisRecord[], attemptsSoFar: number): Promise<void> {
    let records = batch;
    let attempts = attemptsSoFar;
    while (records.length > 0 && !this.closed) {
      if (this.config.maximumRecordAgeSeconds >= 0) {
        const oldest = Date.now() - this.config.maximumRecordAgeSeconds * 1000;
        const fresh = records.findIndex((r) => (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) >= oldest);
        const expired = fresh < 0 ? records.length : fresh;
        if (expired > 0) {
          await this.giveUp(shardId, records.slice(0, expired), 'RecordAgeExceeded', attempts, undefined);
          records = records.slice(expired);
          continue;
        }
      }
      const result = await this.invoke(kinesisEvent(this.config, this.options.template.region, shardId, records));
      const failedAt = !result.ok
        ? 0
        : this.config.reportBatchItemFailures
          ? firstFailedIndex(result.payload, records)
          : -1;
      if (failedAt < 0) {
        this.counters.recordsSucceeded += records.length;
        this.checkpoint(shardId, records.at(-1));
        return;
      }
      if (!result.ok) this.fail(`invoke ${this.config.functionName}`, `${result.errorType}: ${result.errorMessage}`);
      if (failedAt > 0) {
        // Records before the first reported failure are done: checkpoint them, retry from the failed one.
        this.counters.recordsSucceeded += failedAt;
        this.checkpoint(shardId, records[failedAt - 1]);
        records = records.slice(failedAt);
      } else if (!result.ok && this.config.bisectBatchOnFunctionError && records.length > 1) {
        // Splitting does not count against the retry quota; each half is retried on its own.
        const half = Math.ceil(records.length / 2);
        await this.processBatch(shardId, records.slice(0, half), attempts);
        await this.processBatch(shardId, records.slice(half), attempts);
        return;
      }
      attempts++;
      if (this.config.maximumRetryAttempts >= 0 && attempts > this.config.maximumRetryAttempts) {
        await this.giveUp(shardId, records, 'RetryAttemptsExhausted', attempts, result.ok ? undefined : 'Unhandled');
        return;
      }
      await this.naps.nap(Math.min((this.options.retryBackoffMs ?? 200) * 2 ** (attempts - 1), MAX_BACKOFF_MS));
    }
  }

  /** Sends AWS's on-failure record for `records` to the destination (retrying the send), then skips them. */
  private async giveUp(
    shardId: string,
    records: KinesisRecord[],
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded',
    invokeCount: number,
    functionError: string | undefined,
  ): Promise<void> {
    const first = records[0];
    const last = records.at(-1);
    const message = {
      requestContext: {
        requestId: crypto.randomUUID(),
        functionArn: this.functionArn(),
        condition,
        approximateInvokeCount: invokeCount,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(functionError ? { functionError } : {}),
      },
      version: '1.0',
      timestamp: new Date().toISOString(),
      KinesisBatchInfo: {
        shardId,
        startSequenceNumber: first?.SequenceNumber,
        endSequenceNumber: last?.SequenceNumber,
        approximateArrivalOfFirstRecord: first?.ApproximateArrivalTimestamp?.toISOString(),
        approximateArrivalOfLastRecord: last?.ApproximateArrivalTimestamp?.toISOString(),
        batchSize: records.length,
        streamArn: this.config.streamArn,
      },
    };
    this.counters.recordsFailed += records.length;
    if (!this.destination) {
      this.log(`${this.config.id} dropped ${records.length} record(s) (${condition}); no on-failure destination`);
    } else {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.destination.send(message);
          this.log(`${this.config.id} sent ${records.length} record(s) to ${this.destination.arn} (${condition})`);
          break;
        } catch (error) {
          this.fail(`on-failure destination ${this.destination.arn} (attempt ${attempt})`, error);
          if (attempt >= 5 || this.closed) {
            this.log(`${this.config.id} LOST on-failure record: ${JSON.stringify(message)}`);
            break;
          }
          await this.naps.nap(500 * attempt);
        }
      }
    }
    this.checkpoint(shardId, last);
  }

  private functionArn(): string {
    const name = this.config.functionName;
    if (name.startsWith('arn:')) return name;
    const { region, account } = this.options.template;
    return `arn:aws:lambda:${region}:${account}:function:${name}`;
  }

  /** True when every shard has been found and has polled empty (with nothing buffered) since poll `mark`. */
  idleSince(mark: number): boolean {
    if (this.shards.size === 0) return false;
    return [...this.shards.values()].every((s) => s.done || s.idleAt > mark);
  }

  describeState(): string {
    const shards = [...this.shards.entries()].map(([id, s]) => `${id} idleAt=${s.idleAt}${s.done ? ' done' : ''}`);
    return `${this.config.id}: ${shards.join(', ') || 'no shards discovered'}${this.lastError ? ` (last error: ${this.lastError})` : ''}`;
  }

  stats(): MappingStats {
    return {
      id: this.config.id,
      functionName: this.config.functionName,
      streamName: this.config.streamName,
      shards: this.shards.size,
      ...this.counters,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.naps.wakeAll();
    await this.discovery;
    await Promise.all(this.loops);
  }
}

/** Starts a poller for every enabled Kinesis `AWS::Lambda::EventSourceMapping` of the template. */
export async function startEventSourceMappings(options: EventSourceMappingsOptions): Promise<EventSourceMappings> {
  const { template, endpoints, dataDir } = options;
  const resources = template
    .ofType('AWS::Lambda::EventSourceMapping')
    .filter((r) => r.properties.Enabled !== false && r.properties.Enabled !== 'false');
  const configs = resources.map((r) => kinesisMappingConfig(template, r));
  const kinesis = new KinesisClient({
    endpoint: endpoints.kinesis,
    region: template.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // kinesalite speaks HTTP/1.1 only.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 10_000 }),
    maxAttempts: 1,
  });
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const logPath = join(dataDir, 'logs', 'esm.log');
  const log = (line: string) => appendFileSync(logPath, `${new Date().toISOString()} ${line}\n`);
  let polls = 0;
  const nextPoll = () => ++polls;
  const runners = configs.map((config) => new MappingRunner(config, options, kinesis, nextPoll, log));
  for (const runner of runners) runner.start();

  const drain = async (timeoutMs = 30_000): Promise<void> => {
    const mark = polls;
    const deadline = performance.now() + timeoutMs;
    while (!runners.every((r) => r.idleSince(mark))) {
      if (performance.now() > deadline) {
        throw new Error(
          `event-source mappings not idle after ${timeoutMs} ms: ${runners.map((r) => r.describeState()).join('; ')}`,
        );
      }
      await sleep(20);
    }
  };

  return {
    mappings: configs,
    drain,
    idle: drain,
    stats: () => runners.map((r) => r.stats()),
    close: async () => {
      await Promise.all(runners.map((r) => r.close()));
      kinesis.destroy();
    },
  };
}
