// Crash durability of the local Firehose, bus, SNS and SQS at the unit level: an instance acknowledges work and is
// dropped without close or flush (as a SIGKILL would leave it); a new instance on the same data dir must finish it.
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeferredInvoker } from '../../deferred-invoker.js';
import { loadLocalTemplate } from '../../template/index.js';
import type { FunctionInvoker, InvokeResult, LocalTemplate } from '../../types.js';
import { type BusClock, LocalEventBridge } from '../eventbridge.js';
import { LocalFirehose } from '../firehose.js';
import { SnsStore } from '../sns.js';
import { SqsStore } from '../sqs.js';

const template = {
  Resources: {
    Lake: { Type: 'AWS::S3::Bucket', Properties: {} },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'TestBus' } },
    Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
    Alerts: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
    AlertsAsync: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: 'Alerts' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
      },
    },
    AlertsRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { source: ['aims.score'], 'detail-type': ['FraudSuspected'] },
        Targets: [
          {
            Id: 'T0',
            Arn: { 'Fn::GetAtt': ['Alerts', 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
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

/** The invoker port in memory: counts calls per event id and fails while `down` is set. */
class TargetInvoker implements FunctionInvoker {
  readonly calls: string[] = [];
  down = false;
  /** What the runtime reports as the function's timeout (undefined: not a function it runs). */
  timeout: number | undefined;
  timeoutSeconds(): number | undefined {
    return this.timeout;
  }
  async invoke(_target: string, event: unknown): Promise<InvokeResult> {
    this.calls.push((event as { id: string }).id);
    if (this.down) return { ok: false, errorType: 'Error', errorMessage: 'target down', durationMs: 1 };
    return { ok: true, payload: null, durationMs: 1 };
  }
}

/** The S3 port in memory: objects by key (a rewrite of a key replaces it), optionally failing. */
class FakeS3 {
  readonly objects = new Map<string, Buffer>();
  puts = 0;
  failing = false;
  async send(command: { input: { Key?: string; Body?: unknown } }): Promise<object> {
    if (this.failing) throw new Error('s3 unavailable');
    this.puts += 1;
    this.objects.set(String(command.input.Key), command.input.Body as Buffer);
    return {};
  }
  lines(): string[] {
    return [...this.objects.values()].flatMap((body) => gunzipSync(body).toString().split('\n').filter(Boolean));
  }
}

/** Retries at once and never sleeps; `stuck` makes every backoff wait until shutdown (an instance left hanging).
 *  `backoffs(n)` resolves once n retry waits have begun, i.e. n attempts have failed. */
interface TestClock extends BusClock {
  at: number;
  /** Every wait asked for, in ms. */
  readonly waits: number[];
  backoffs(n: number): Promise<void>;
}

function testClock(options: { stuck?: boolean; start?: number } = {}): TestClock {
  let began = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const clock: TestClock = {
    at: options.start ?? 1_700_000_000_000,
    waits: [],
    now: () => clock.at,
    sleep: (ms: number, cancel: AbortSignal): Promise<void> => {
      clock.waits.push(ms);
      began += 1;
      for (const w of waiting.filter((w) => w.n <= began)) w.resolve();
      return options.stuck
        ? new Promise<void>((resolve) => cancel.addEventListener('abort', () => resolve()))
        : Promise.resolve();
    },
    backoffs: (n: number): Promise<void> =>
      began >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve })),
  };
  return clock;
}

let root: string;
let local: LocalTemplate;
let dataDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'aims-durable-'));
  const asm = join(root, 'asm');
  mkdirSync(asm, { recursive: true });
  writeFileSync(join(asm, 'S.template.json'), JSON.stringify(template));
  writeFileSync(
    join(asm, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: {
        S: {
          type: 'aws:cloudformation:stack',
          environment: 'aws://123456789012/eu-west-1',
          properties: { templateFile: 'S.template.json', stackName: 'T-S' },
        },
      },
    }),
  );
  local = loadLocalTemplate({ assemblyDir: asm, stageName: 'T' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  dataDir = mkdtempSync(join(root, 'data-'));
});

const record = (n: number) => ({ Data: Buffer.from(`{"n":${n}}\n`).toString('base64') });
const firehose = (s3: FakeS3) =>
  new LocalFirehose({ template: local, s3: s3 as unknown as S3Client, journalDir: join(dataDir, 'firehose') });
const segments = () => readdirSync(join(dataDir, 'firehose', 'T-S-Log'));

describe('local Firehose journal', () => {
  it('GIVEN 300 acknowledged records WHEN the instance is dropped unflushed THEN a new one delivers all 300 once', async () => {
    const s3 = new FakeS3();
    const crashed = firehose(s3);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) calls.push(crashed.putRecord({ DeliveryStreamName: 'T-S-Log', Record: record(i) }));
    for (let b = 0; b < 4; b++) {
      const Records = Array.from({ length: 50 }, (_, i) => record(100 + b * 50 + i));
      calls.push(crashed.putRecordBatch({ DeliveryStreamName: 'T-S-Log', Records }));
    }
    await Promise.all(calls);
    expect(s3.puts).toBe(0); // all still buffered: the 60 s interval has not passed

    const restarted = firehose(s3);
    expect(restarted.pendingRecords()).toEqual({ 'T-S-Log': 300 });
    await restarted.flush();
    expect(s3.lines()).toEqual(Array.from({ length: 300 }, (_, n) => `{"n":${n}}`));
    expect(segments()).toEqual([]);

    // Delivered and removed: a third instance has nothing left to send.
    const third = firehose(s3);
    await third.flush();
    expect(s3.puts).toBe(1);
  });

  it('GIVEN a crash after the object write and before the journal cleanup WHEN restarted THEN the same object is rewritten, not duplicated', async () => {
    const s3 = new FakeS3();
    const first = firehose(s3);
    await first.putRecordBatch({ DeliveryStreamName: 'T-S-Log', Records: [record(1), record(2)] });
    const [segment] = segments();
    const saved = join(root, 'saved.seg');
    copyFileSync(join(dataDir, 'firehose', 'T-S-Log', segment as string), saved);
    await first.flush();
    // As if the process died between PutObject and unlink: the segment is still on disk.
    copyFileSync(saved, join(dataDir, 'firehose', 'T-S-Log', segment as string));

    await firehose(s3).flush();
    expect(s3.puts).toBe(2);
    expect(s3.objects.size).toBe(1);
    expect(s3.lines()).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('GIVEN S3 failing WHEN flushed THEN the records stay journaled and the next flush delivers them', async () => {
    const s3 = new FakeS3();
    const stream = firehose(s3);
    await stream.putRecord({ DeliveryStreamName: 'T-S-Log', Record: record(7) });
    s3.failing = true;
    await expect(stream.flush()).rejects.toThrow(/s3 unavailable/);
    expect(stream.pendingRecords()).toEqual({ 'T-S-Log': 1 });
    expect(segments()).toHaveLength(1);
    s3.failing = false;
    await stream.flush();
    expect(s3.lines()).toEqual(['{"n":7}']);
    expect(segments()).toEqual([]);
  });

  it('GIVEN a segment torn by a crash mid-write WHEN restarted THEN the acknowledged records before the tear are delivered', async () => {
    const s3 = new FakeS3();
    await firehose(s3).putRecordBatch({ DeliveryStreamName: 'T-S-Log', Records: [record(1), record(2)] });
    const [segment] = segments();
    // A frame header promising 100 bytes followed by 3: the write the crash interrupted, never acknowledged.
    const torn = Buffer.alloc(11);
    torn.writeUInt32BE(100, 0);
    appendFileSync(join(dataDir, 'firehose', 'T-S-Log', segment as string), torn);
    await firehose(s3).flush();
    expect(s3.lines()).toEqual(['{"n":1}', '{"n":2}']);
  });
});

describe('local bus delivery journal', () => {
  const fraud = (n: number) => ({
    Entries: [{ EventBusName: 'TestBus', Source: 'aims.score', DetailType: 'FraudSuspected', Detail: `{"n":${n}}` }],
  });
  const bus = (invoker: FunctionInvoker, clock: BusClock) =>
    new LocalEventBridge({ template: local, dataDir, invoker, sqs: new SqsStore(local, join(dataDir, 'sqs')), clock });
  const dlq = () => new SqsStore(local, join(dataDir, 'sqs')).peek('T-S-Dlq');
  /** Leaves one FraudSuspected delivery journaled with one failed attempt (on `invoker`, set failing), as a SIGKILL
   *  mid-retry does; returns its event id. */
  const crashWithOnePending = async (invoker = new TargetInvoker()): Promise<string | undefined> => {
    invoker.down = true;
    const clock = testClock({ stuck: true });
    const crashed = bus(invoker, clock);
    const id = crashed.putEvents(fraud(1)).Entries[0]?.EventId;
    await crashed.sync();
    await clock.backoffs(1);
    return id;
  };

  it('GIVEN accepted events whose target fails WHEN the bus is dropped mid-retry THEN a new bus on the same dir delivers each once', async () => {
    const invoker = new TargetInvoker();
    invoker.down = true;
    const clock = testClock({ stuck: true });
    const crashed = bus(invoker, clock);
    const ids = [1, 2, 3].map((n) => crashed.putEvents(fraud(n)).Entries[0]?.EventId);
    await crashed.sync();
    await clock.backoffs(3); // the first attempts failed; their backoff never ends in this instance
    expect(crashed.pendingCount()).toBe(3);

    invoker.down = false;
    invoker.calls.length = 0;
    const restarted = bus(invoker, testClock());
    expect(restarted.pendingCount()).toBe(3);
    restarted.resume();
    await restarted.idle();
    expect(invoker.calls.sort()).toEqual([...ids].sort());
    expect(restarted.deliveries().map((d) => [d.status, d.attempts])).toEqual([
      ['delivered', 2],
      ['delivered', 2],
      ['delivered', 2],
    ]);
    expect(restarted.archive().map((a) => a.event.id)).toEqual(ids);
    expect(dlq()).toEqual([]);

    // Nothing is delivered twice: a third bus finds nothing pending.
    const third = bus(invoker, testClock());
    third.resume();
    await third.idle();
    expect(third.pendingCount()).toBe(0);
    expect(invoker.calls).toHaveLength(3);
  });

  it('GIVEN a Lambda target failing WHEN retried THEN no retry comes before the function could have timed out', async () => {
    // A crash mid-invocation leaves its idempotency lock for the function's timeout: a quicker retry meets the lock.
    const invoker = new TargetInvoker();
    invoker.down = true;
    invoker.timeout = 10;
    const clock = testClock({ stuck: true });
    const running = bus(invoker, clock);
    running.putEvents(fraud(1));
    await running.sync();
    await clock.backoffs(1);
    expect(clock.waits).toEqual([10_000]);
  });

  it('GIVEN retries counted before a crash WHEN they run out after the restart THEN the event lands in the DLQ once', async () => {
    const invoker = new TargetInvoker();
    const id = await crashWithOnePending(invoker);
    expect(invoker.calls).toHaveLength(1);

    const restarted = bus(invoker, testClock());
    restarted.resume();
    await restarted.idle();
    // The function's MaximumRetryAttempts 2: three attempts in all, across both instances.
    expect(invoker.calls).toHaveLength(3);
    expect(restarted.deliveries().map((d) => d.status)).toEqual(['dead-lettered']);
    const dead = dlq().map((m) => JSON.parse(m.Body) as Record<string, Record<string, unknown>>);
    expect(dead.map((record) => record.requestPayload?.id)).toEqual([id]);
    expect(dead[0]?.requestContext).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 3 });
    expect(dead[0]?.responsePayload).toEqual({ errorType: 'Error', errorMessage: 'target down' });
  });

  it('GIVEN an event older than MaximumEventAgeInSeconds WHEN resumed THEN it is dead-lettered after one more attempt', async () => {
    const invoker = new TargetInvoker();
    invoker.down = true;
    const clock = testClock({ stuck: true });
    bus(invoker, clock).putEvents(fraud(1));
    await clock.backoffs(1);
    const later = testClock({ start: clock.at + 3_600_000 });
    const restarted = bus(invoker, later);
    restarted.resume();
    await restarted.idle();
    expect(invoker.calls).toHaveLength(2);
    expect(dlq()).toHaveLength(1);
  });

  it('GIVEN a running bus with a failing target WHEN it is stopped THEN the event is kept for the next start, not dead-lettered', async () => {
    const invoker = new TargetInvoker();
    invoker.down = true;
    const first = bus(invoker, testClock({ stuck: true }));
    const server = await first.start();
    first.putEvents(fraud(1));
    await server.close();
    expect(first.deliveries().map((d) => d.status)).toEqual(['pending']);
    expect(dlq()).toEqual([]);

    invoker.down = false;
    const second = bus(invoker, testClock());
    const again = await second.start();
    await second.idle();
    await again.close();
    expect(second.deliveries().map((d) => [d.status, d.attempts])).toEqual([['delivered', 2]]);
  });

  describe('WHEN it runs in the stage, which starts the bus before the Lambda runtime (the deferred invoker)', () => {
    it('THEN a delivery resumed before the runtime started waits for it and is delivered once, not dead-lettered', async () => {
      const id = await crashWithOnePending();
      const deferred = new DeferredInvoker();
      // Retries would come at once on this clock: without the wait the four left would run out before the runtime.
      const restarted = bus(deferred, testClock());
      restarted.resume();
      const runtime = new TargetInvoker();
      deferred.setRuntime(runtime);
      await restarted.idle();
      expect(runtime.calls).toEqual([id]);
      expect(restarted.deliveries().map((d) => [d.status, d.attempts])).toEqual([['delivered', 2]]);
      expect(dlq()).toEqual([]);
    });

    it("THEN a failing Lambda target is retried no sooner than the function's timeout the runtime reports", async () => {
      const deferred = new DeferredInvoker();
      const runtime = new TargetInvoker();
      runtime.down = true;
      runtime.timeout = 10;
      deferred.setRuntime(runtime);
      const clock = testClock({ stuck: true });
      bus(deferred, clock).putEvents(fraud(1));
      await clock.backoffs(1);
      expect(clock.waits).toEqual([10_000]);
    });

    it('THEN a bus stopped while a delivery waits for the runtime stops at once and keeps the delivery for the next start', async () => {
      await crashWithOnePending();
      const neverStarted = bus(new DeferredInvoker(), testClock());
      const server = await neverStarted.start(); // resumes the journaled delivery, which waits for a runtime
      await server.close();
      expect(neverStarted.deliveries().map((d) => d.status)).toEqual(['pending']);
      expect(dlq()).toEqual([]);

      const runtime = new TargetInvoker();
      const next = bus(runtime, testClock());
      next.resume();
      await next.idle();
      expect(next.deliveries().map((d) => d.status)).toEqual(['delivered']);
      expect(runtime.calls).toHaveLength(1);
    });
  });

  it('GIVEN many delivered events WHEN the journal compacts THEN it holds only what is pending', async () => {
    const invoker = new TargetInvoker();
    const live = bus(invoker, testClock());
    for (let i = 0; i < 1_200; i++) live.putEvents(fraud(i));
    await live.idle();
    await live.sync();
    const lines = readFileSync(join(dataDir, 'events', 'deliveries.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean);
    // 1,200 events × (put, try, end) = 3,600 lines without compaction; after it, only the last 200 events' lines.
    expect(lines.length).toBeLessThanOrEqual(600);
    expect(invoker.calls).toHaveLength(1_200);
    expect(live.pendingCount()).toBe(0);
  });

  it('GIVEN an archive line torn by a crash WHEN a new bus archives THEN the archive still reads', async () => {
    const invoker = new TargetInvoker();
    const first = bus(invoker, testClock());
    first.putEvents(fraud(1));
    await first.idle();
    appendFileSync(join(dataDir, 'events', 'archive.jsonl'), '{"bus":"TestBus","rec');
    const second = bus(invoker, testClock());
    second.putEvents(fraud(2));
    expect(second.archive().map((a) => (a.event.detail as { n: number }).n)).toEqual([1, 2]);
  });
});

describe('local SNS and SQS stores', () => {
  it('GIVEN a topic file torn by a crash WHEN published again THEN every acknowledged message reads back', async () => {
    const dir = join(dataDir, 'sns');
    const topicArn = local.ofType('AWS::SNS::Topic')[0]?.ref ?? '';
    const first = new SnsStore(local, dir);
    first.publish(topicArn, 'one');
    await first.sync();
    const [file] = readdirSync(dir);
    appendFileSync(join(dir, file as string), '{"MessageId":"torn');
    const second = new SnsStore(local, dir);
    second.publish(topicArn, 'two');
    await second.sync();
    expect(second.messages(topicArn).map((m) => m.Message)).toEqual(['one', 'two']);
    await second.close();
  });

  it('GIVEN a message sent WHEN the store is dropped THEN a new store on the dir holds it and no temporary file is left', () => {
    const dir = join(dataDir, 'sqs');
    new SqsStore(local, dir).send('T-S-Dlq', 'kept');
    expect(new SqsStore(local, dir).peek('T-S-Dlq').map((m) => m.Body)).toEqual(['kept']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
