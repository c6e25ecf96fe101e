// The template's stream event-source mappings run locally — Kinesis streams (./kinesis-esm.ts) and DynamoDB table
// streams (./dynamodb-esm.ts) — with one poller per shard that honours FilterCriteria, batching, partial batch
// responses, bisection, retries, record age and the on-failure destination, and checkpoints under `<dataDir>/esm/` so
// a restart resumes where it stopped.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableOfStreamArn } from '../backends/table-streams.js';
import { matchesEventPattern, validateEventPattern } from '../services/event-pattern.js';
import type {
  Closable,
  FunctionInvoker,
  InvokeResult,
  LocalEndpoints,
  LocalResource,
  LocalTemplate,
} from '../types.js';
import { type FailureDestination, failureDestination } from './destinations.js';
import { tableStreamSource } from './dynamodb-esm.js';
import { KINESIS_STREAM_ARN, kinesisSource } from './kinesis-esm.js';

export interface EventSourceMappingsOptions {
  readonly template: LocalTemplate;
  readonly invoker: FunctionInvoker;
  readonly endpoints: LocalEndpoints;
  /** Checkpoints go to `<dataDir>/esm/<mapping>.json`, the poller log to `<dataDir>/logs/esm.log`; table streams are
   *  read from `<dataDir>/dynamodb-streams/`. */
  readonly dataDir: string;
  /** Pause between reads of an empty shard (Lambda polls each shard about once a second, a table stream's four times
   *  a second). @default 250 */
  readonly pollIntervalMs?: number;
  /** First retry delay after a failed batch; doubles per attempt up to 5 s. @default 200 */
  readonly retryBackoffMs?: number;
}

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** One stream mapping of the template, with Lambda's defaults filled in. */
export interface MappingConfig {
  /** `<StackName>-<LogicalId>`: names the checkpoint file. */
  readonly id: string;
  readonly logicalId: string;
  readonly source: 'kinesis' | 'dynamodb';
  readonly functionName: string;
  readonly functionRoleArn: string;
  /** The EventSourceArn: a Kinesis stream's ARN or a table's StreamArn. */
  readonly streamArn: string;
  /** The Kinesis stream, or the table whose stream it is. */
  readonly streamName: string;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly startingPosition: StartingPosition;
  readonly startingPositionTimestamp?: number;
  /** -1 = retry until the records expire (Lambda's default). */
  readonly maximumRetryAttempts: number;
  /** -1 = never expire (Lambda's default). */
  readonly maximumRecordAgeSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly onFailureArn?: string;
  /** FilterCriteria patterns (EventBridge pattern syntax); a record is delivered when any matches. */
  readonly filters: readonly unknown[];
}

/** A record as the poller handles it, whatever the stream. */
export interface SourceRecord {
  readonly sequenceNumber: string;
  /** When the stream took the record (ms since the epoch): the record's age counts from here. */
  readonly arrivalMs: number;
  /** The record as Lambda puts it into the event's `Records[]`. */
  readonly event: unknown;
  /** What FilterCriteria patterns match against. */
  readonly filterSubject: unknown;
}

export type ReadPosition =
  | { readonly after: string }
  | { readonly at: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly atTimestampMs: number };

export interface ShardReader {
  /** Up to `limit` records after the last ones read; `closed` once the shard will never have more. Throws when the
   *  stream cannot be read (the poller logs it and tries again). */
  read(limit: number): Promise<{ records: SourceRecord[]; closed: boolean }>;
}

/** A stream the pollers read: its shards, and a reader per shard. */
export interface StreamSource {
  /** The field of the on-failure record that describes the batch. */
  readonly batchInfoField: 'KinesisBatchInfo' | 'DDBStreamBatchInfo';
  shardIds(): Promise<string[]>;
  open(shardId: string, from: ReadPosition): ShardReader;
  close(): void;
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
  /** Records FilterCriteria skipped. */
  readonly recordsFiltered: number;
  readonly lastError?: string;
}

export interface EventSourceMappings extends Closable {
  readonly mappings: readonly MappingConfig[];
  /** Resolves once every shard of every mapping has polled empty after this call with nothing in flight:
   *  all records put before the call are processed (or sent to the on-failure destination). */
  drain(timeoutMs?: number): Promise<void>;
  /** Same as drain(). */
  idle(timeoutMs?: number): Promise<void>;
  stats(): MappingStats[];
}

const MAX_BACKOFF_MS = 5_000;

function num(resource: LocalResource, key: string, fallback: number): number {
  const value = resource.properties[key];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${resource.logicalId}: ${key} is ${JSON.stringify(value)}, not a number`);
  return n;
}

/** The patterns of a mapping's FilterCriteria, checked up front so a bad pattern fails at start, not on a record. */
function filterPatterns(where: string, criteria: unknown): unknown[] {
  if (criteria === undefined) return [];
  const filters = (criteria as { Filters?: unknown } | null)?.Filters;
  if (!Array.isArray(filters)) throw new Error(`${where}: FilterCriteria needs a Filters list`);
  return filters.map((filter, i) => {
    const raw = (filter as { Pattern?: unknown } | null)?.Pattern;
    try {
      const pattern = typeof raw === 'string' ? JSON.parse(raw) : raw;
      validateEventPattern(pattern);
      return pattern;
    } catch (error) {
      throw new Error(
        `${where}: FilterCriteria.Filters[${i}].Pattern is not a valid pattern: ${(error as Error).message}`,
      );
    }
  });
}

/** Reads one `AWS::Lambda::EventSourceMapping` over a stream; throws for settings the local poller would silently
 *  ignore and for sources it cannot read. */
export function mappingConfig(template: LocalTemplate, resource: LocalResource): MappingConfig {
  const p = resource.properties;
  const where = `${resource.stackName}/${resource.logicalId}`;
  const streamArn = String(p.EventSourceArn ?? '');
  const kinesisStream = KINESIS_STREAM_ARN.exec(streamArn)?.[1];
  const table = tableOfStreamArn(streamArn);
  const source = kinesisStream ? 'kinesis' : table ? 'dynamodb' : undefined;
  const streamName = kinesisStream ?? table;
  if (!source || !streamName) {
    throw new Error(`${where}: EventSourceArn ${streamArn} is neither a Kinesis stream nor a DynamoDB table stream`);
  }
  if (source === 'dynamodb') {
    // Lambda refuses a mapping on a stream that does not exist: so does the local stage, rather than poll in vain.
    const owner = template.ofType('AWS::DynamoDB::Table').find((t) => t.attributes.StreamArn === streamArn);
    if (!owner) throw new Error(`${where}: no table of the template has the stream ${streamArn}`);
    if (owner.properties.StreamSpecification === undefined) {
      throw new Error(`${where}: table ${owner.logicalId} has no StreamSpecification, so no stream ${streamArn}`);
    }
  }
  for (const key of ['TumblingWindowInSeconds', 'KmsKeyArn']) {
    if (p[key] !== undefined) throw new Error(`${where}: ${key} is not supported by the local stream poller`);
  }
  const functionName = String(p.FunctionName ?? '');
  if (!functionName) throw new Error(`${where}: no FunctionName`);
  const fn =
    template.byArn(functionName) ??
    template.ofType('AWS::Lambda::Function').find((r) => r.ref === functionName || r.attributes.Arn === functionName);
  const startingPosition = String(p.StartingPosition ?? '');
  const positions = source === 'kinesis' ? ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] : ['TRIM_HORIZON', 'LATEST'];
  if (!positions.includes(startingPosition)) {
    throw new Error(`${where}: StartingPosition ${JSON.stringify(p.StartingPosition)} is not valid for ${source}`);
  }
  const responseTypes = Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes : [];
  const destination = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure
    ?.Destination;
  return {
    id: `${resource.stackName}-${resource.logicalId}`,
    logicalId: resource.logicalId,
    source,
    functionName,
    functionRoleArn:
      typeof fn?.properties.Role === 'string'
        ? fn.properties.Role
        : `arn:aws:iam::${template.account}:role/${functionName}`,
    streamArn,
    streamName,
    batchSize: num(resource, 'BatchSize', 100),
    batchingWindowMs: num(resource, 'MaximumBatchingWindowInSeconds', 0) * 1000,
    startingPosition: startingPosition as StartingPosition,
    ...(p.StartingPositionTimestamp === undefined
      ? {}
      : { startingPositionTimestamp: num(resource, 'StartingPositionTimestamp', 0) }),
    maximumRetryAttempts: num(resource, 'MaximumRetryAttempts', -1),
    maximumRecordAgeSeconds: num(resource, 'MaximumRecordAgeInSeconds', -1),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true || p.BisectBatchOnFunctionError === 'true',
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    ...(typeof destination === 'string' ? { onFailureArn: destination } : {}),
    filters: filterPatterns(where, p.FilterCriteria),
  };
}

/** Index of the first failed record of a partial batch response (`itemIdentifier` = the record's sequence number);
 *  -1 when all succeeded; 0 when the response is malformed (Lambda then treats the whole batch as failed). */
export function firstFailedIndex(payload: unknown, sequenceNumbers: readonly string[]): number {
  if (payload === null || payload === undefined || typeof payload !== 'object') return -1;
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return -1;
  if (!Array.isArray(failures)) return 0;
  let first = -1;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const at = typeof id === 'string' && id !== '' ? sequenceNumbers.indexOf(id) : -1;
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
  private counters = { invocations: 0, recordsSucceeded: 0, recordsFailed: 0, recordsFiltered: 0 };
  private lastError: string | undefined;
  private readonly naps = new Naps();

  constructor(
    readonly config: MappingConfig,
    private readonly source: StreamSource,
    private readonly options: EventSourceMappingsOptions,
    private readonly pollCounter: () => number,
    private readonly log: (line: string) => void,
  ) {
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

  private checkpoint(shardId: string, record: SourceRecord | undefined): void {
    if (!record) return;
    this.state.shards[shardId] = { sequenceNumber: record.sequenceNumber, updatedAt: new Date().toISOString() };
    this.persist();
  }

  /** Where a shard's reader starts: after its checkpoint, else the mapping's starting position. */
  private startOf(shardId: string): ReadPosition {
    const after = this.state.shards[shardId]?.sequenceNumber;
    if (after) return { after };
    if (this.config.startingPosition === 'AT_TIMESTAMP') {
      return { atTimestampMs: (this.config.startingPositionTimestamp ?? 0) * 1000 };
    }
    if (this.config.startingPosition === 'LATEST' && this.state.startedAt) {
      return { atTimestampMs: Date.parse(this.state.startedAt) };
    }
    return { at: this.config.startingPosition };
  }

  /** Finds the stream's shards (waiting for the stream to exist) and starts one poller per shard. */
  private async discoverShards(): Promise<void> {
    while (!this.closed) {
      try {
        for (const shardId of await this.source.shardIds()) {
          if (this.shards.has(shardId)) continue;
          this.shards.set(shardId, { idleAt: -1, done: false });
          this.loops.push(this.pollShard(shardId));
        }
        return;
      } catch (error) {
        this.fail(`find the shards of ${this.config.streamName}`, error);
        await this.naps.nap(1_000);
      }
    }
  }

  private fail(what: string, error: unknown): void {
    this.lastError = `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    this.log(`${this.config.id} ${this.lastError}`);
  }

  private matches(record: SourceRecord): boolean {
    const { filters } = this.config;
    return filters.length === 0 || filters.some((pattern) => matchesEventPattern(pattern, record.filterSubject));
  }

  private async pollShard(shardId: string): Promise<void> {
    const shard = this.shards.get(shardId);
    if (!shard) return;
    const reader = this.source.open(shardId, this.startOf(shardId));
    const buffer: SourceRecord[] = [];
    // The last record the filters skipped after the last buffered one: checkpointed once nothing is buffered.
    let skipped: SourceRecord | undefined;
    let windowStart: number | undefined;
    let shardClosed = false;
    const pollInterval = this.options.pollIntervalMs ?? 250;
    const checkpointSkipped = () => {
      if (buffer.length > 0 || !skipped) return;
      this.checkpoint(shardId, skipped);
      skipped = undefined;
    };
    while (!this.closed) {
      let fetched = 0;
      if (!shardClosed && buffer.length < this.config.batchSize) {
        const pollId = this.pollCounter();
        let out: Awaited<ReturnType<ShardReader['read']>>;
        try {
          out = await reader.read(this.config.batchSize);
        } catch (error) {
          this.fail(`read ${this.config.streamName} ${shardId}`, error);
          await this.naps.nap(1_000);
          continue;
        }
        fetched = out.records.length;
        shardClosed = out.closed;
        for (const record of out.records) {
          if (this.matches(record)) {
            buffer.push(record);
            skipped = undefined;
          } else {
            skipped = record;
            this.counters.recordsFiltered++;
          }
        }
        checkpointSkipped();
        if (buffer.length === 0) {
          if (fetched > 0) continue;
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
      if (!this.closed) checkpointSkipped();
    }
    shard.done = true;
  }

  private async invoke(records: readonly SourceRecord[]): Promise<InvokeResult> {
    this.counters.invocations++;
    try {
      return await this.options.invoker.invoke(this.config.functionName, { Records: records.map((r) => r.event) });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      return { ok: false, errorType: e.name, errorMessage: e.message, durationMs: 0 };
    }
  }

  /** Delivers `records` (contiguous, in order) until they succeed or are given up on; checkpoints as it goes. */
  private async processBatch(shardId: string, batch: SourceRecord[], attemptsSoFar: number): Promise<void> {
    let records = batch;
    let attempts = attemptsSoFar;
    while (records.length > 0 && !this.closed) {
      if (this.config.maximumRecordAgeSeconds >= 0) {
        const oldest = Date.now() - this.config.maximumRecordAgeSeconds * 1000;
        const fresh = records.findIndex((r) => r.arrivalMs >= oldest);
        const expired = fresh < 0 ? records.length : fresh;
        if (expired > 0) {
          await this.giveUp(shardId, records.slice(0, expired), 'RecordAgeExceeded', attempts, undefined);
          records = records.slice(expired);
          continue;
        }
      }
      const result = await this.invoke(records);
      const failedAt = !result.ok
        ? 0
        : this.config.reportBatchItemFailures
          ? firstFailedIndex(
              result.payload,
              records.map((r) => r.sequenceNumber),
            )
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
    records: SourceRecord[],
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded',
    invokeCount: number,
    functionError: string | undefined,
  ): Promise<void> {
    const first = records[0];
    const last = records.at(-1);
    const arrival = (r: SourceRecord | undefined) => (r ? new Date(r.arrivalMs).toISOString() : undefined);
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
      [this.source.batchInfoField]: {
        shardId,
        startSequenceNumber: first?.sequenceNumber,
        endSequenceNumber: last?.sequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
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
    this.source.close();
  }
}

/** Starts a poller for every enabled stream `AWS::Lambda::EventSourceMapping` of the template. */
export async function startEventSourceMappings(options: EventSourceMappingsOptions): Promise<EventSourceMappings> {
  const { template, endpoints, dataDir } = options;
  const resources = template
    .ofType('AWS::Lambda::EventSourceMapping')
    .filter((r) => r.properties.Enabled !== false && r.properties.Enabled !== 'false');
  const configs = resources.map((r) => mappingConfig(template, r));
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const logPath = join(dataDir, 'logs', 'esm.log');
  const log = (line: string) => appendFileSync(logPath, `${new Date().toISOString()} ${line}\n`);
  let polls = 0;
  const nextPoll = () => ++polls;
  const runners = configs.map((config) => {
    const source =
      config.source === 'kinesis'
        ? kinesisSource(config, endpoints.kinesis, template.region)
        : tableStreamSource(dataDir, config.streamName);
    return new MappingRunner(config, source, options, nextPoll, log);
  });
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
    },
  };
}
