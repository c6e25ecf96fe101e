// Local EventBridge: PutEvents over AWS JSON 1.1, the template's rules applied to every event, journaled async
// delivery to targets with the target's RetryPolicy and DeadLetterConfig (resumed after a restart), and every event
// appended to the bus archive.
//
// One deliberate difference from AWS: a Lambda target's function error counts as a failed delivery (retried, then
// sent to the target's DLQ). On AWS the event is handed to Lambda's async queue and its own retries apply.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionInvoker, LocalResource, LocalTemplate } from '../types.js';
import { matchesEventPattern, validateEventPattern } from './event-pattern.js';
import { AwsServiceError, awsJsonHandler, listen, type RunningServer } from './http.js';
import { AppendLog, trimTornLine } from './journal.js';
import type { SnsStore } from './sns.js';
import type { SqsStore } from './sqs.js';

export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

export interface ArchivedEvent {
  readonly bus: string;
  readonly receivedAt: string;
  readonly event: BusEvent;
}

export interface Delivery {
  readonly ruleName: string;
  readonly ruleArn: string;
  readonly targetId: string;
  readonly targetArn: string;
  readonly eventId: string;
  readonly input: unknown;
  status: 'pending' | 'delivered' | 'dead-lettered' | 'dropped';
  attempts: number;
  lastError?: string;
}

interface Target {
  readonly id: string;
  readonly arn: string;
  readonly maxRetries: number;
  readonly maxAgeSeconds: number;
  readonly deadLetterArn?: string;
  /** A Lambda target: EventBridge hands the event to Lambda's asynchronous queue, and Lambda retries function errors
   *  per the function's EventInvokeConfig, then sends an invocation record to its on-failure destination or
   *  discards the event. `maxRetries`/`maxAgeSeconds` above are then Lambda's. */
  readonly lambda?: { readonly onFailureArn?: string };
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly pathsMap: Record<string, string>; readonly template: string };
}

interface Rule {
  readonly name: string;
  readonly arn: string;
  readonly bus: string;
  /** The event pattern; undefined for a scheduled rule. */
  readonly pattern: unknown;
  /** Period of a `rate(...)` schedule in ms; undefined for a pattern rule. */
  readonly periodMs?: number;
  readonly targets: readonly Target[];
}

const RATE_UNITS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** `rate(15 minutes)` → 900000. Cron schedules are refused with a clear message (none in the template today). */
export function schedulePeriodMs(expression: string, where: string): number {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  if (!match) throw new Error(`${where}: the local bus runs rate(...) schedules only, got '${expression}'`);
  const [, count, unit] = match;
  return Number(count) * (RATE_UNITS[unit as string] as number);
}

export interface EventBridgeOptions {
  readonly template: LocalTemplate;
  readonly dataDir: string;
  readonly invoker: FunctionInvoker;
  readonly sqs: SqsStore;
  readonly sns?: SnsStore;
  /** First retry delay; doubles per attempt up to `retryMaxDelayMs` (AWS backs off far longer; tests want it short).
   *  @default 100 */
  readonly retryBaseDelayMs?: number;
  /** Longest retry delay.
   *  @default 2000 */
  readonly retryMaxDelayMs?: number;
  /** Time for retries and event age (tests).
   *  @default - the system clock and setTimeout */
  readonly clock?: BusClock;
  /** Deliveries `deliveries()` keeps (the latest). @default DELIVERY_LOG_LIMIT */
  readonly deliveryLogLimit?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `$.detail.data.id` style paths (the subset EventBridge InputPath and InputPathsMap use). */
function jsonPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  if (!path.startsWith('$.')) throw new Error(`unsupported JSON path ${path}`);
  let current: unknown = value;
  for (const part of path.slice(2).split('.')) {
    if (!isRecord(current)) return undefined;
    current = current[part];
  }
  return current;
}

function busNameOf(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'default';
  return value.startsWith('arn:') ? (value.split('/').pop() ?? 'default') : value;
}

/** A function's own error (what Lambda reports as errorType and errorMessage), as opposed to failing to run it. */
class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(`${errorType}: ${errorMessage}`);
  }
}

/** Lambda's defaults for an asynchronous invocation without an EventInvokeConfig: 2 retries, 6 hours. */
const LAMBDA_ASYNC_DEFAULTS = { maxRetries: 2, maxAgeSeconds: 21_600 };

/** How Lambda handles a failed asynchronous invocation of the function `arn`: its EventInvokeConfig (`$LATEST`, or
 *  the qualifier the ARN names), else Lambda's defaults and no destination. */
function lambdaAsyncPolicy(
  template: LocalTemplate,
  arn: string,
  where: string,
): { maxRetries: number; maxAgeSeconds: number; lambda: { onFailureArn?: string } } {
  const fn = template.byArn(arn);
  const qualifier = /^arn:aws:lambda:[^:]+:\d{12}:function:[^:]+:([^:]+)$/.exec(arn)?.[1] ?? '$LATEST';
  const config = template
    .ofType('AWS::Lambda::EventInvokeConfig')
    .find((c) => fn !== undefined && c.properties.FunctionName === fn.ref && c.properties.Qualifier === qualifier);
  if (!config) return { ...LAMBDA_ASYNC_DEFAULTS, lambda: {} };
  const p = config.properties;
  const destination =
    isRecord(p.DestinationConfig) && isRecord(p.DestinationConfig.OnFailure)
      ? p.DestinationConfig.OnFailure.Destination
      : undefined;
  if (destination !== undefined && (typeof destination !== 'string' || !destination.startsWith('arn:aws:sqs:'))) {
    throw new Error(`${where}: on-failure destination ${String(destination)}: only SQS queues are supported locally`);
  }
  return {
    maxRetries: Number(p.MaximumRetryAttempts ?? LAMBDA_ASYNC_DEFAULTS.maxRetries),
    maxAgeSeconds: Number(p.MaximumEventAgeInSeconds ?? LAMBDA_ASYNC_DEFAULTS.maxAgeSeconds),
    lambda: destination === undefined ? {} : { onFailureArn: destination },
  };
}

function rulesOf(template: LocalTemplate): Rule[] {
  return template.ofType('AWS::Events::Rule').flatMap((resource: LocalResource) => {
    const p = resource.properties;
    if (p.State === 'DISABLED') return [];
    const where = `${resource.stackName}/${resource.logicalId}`;
    const periodMs =
      typeof p.ScheduleExpression === 'string' ? schedulePeriodMs(p.ScheduleExpression, where) : undefined;
    if (periodMs === undefined && p.EventPattern === undefined) return [];
    const pattern =
      p.EventPattern === undefined
        ? undefined
        : typeof p.EventPattern === 'string'
          ? (JSON.parse(p.EventPattern) as unknown)
          : p.EventPattern;
    try {
      if (pattern !== undefined) validateEventPattern(pattern);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    const targets = (Array.isArray(p.Targets) ? p.Targets : []).filter(isRecord).map((t): Target => {
      const retry = isRecord(t.RetryPolicy) ? t.RetryPolicy : {};
      const dlq =
        isRecord(t.DeadLetterConfig) && typeof t.DeadLetterConfig.Arn === 'string' ? t.DeadLetterConfig.Arn : undefined;
      const transformer = isRecord(t.InputTransformer) ? t.InputTransformer : undefined;
      const arn = String(t.Arn ?? '');
      return {
        id: String(t.Id ?? ''),
        arn,
        maxRetries: Number(retry.MaximumRetryAttempts ?? 185),
        maxAgeSeconds: Number(retry.MaximumEventAgeInSeconds ?? 86_400),
        ...(dlq ? { deadLetterArn: dlq } : {}),
        // The local Lambda always accepts the event: only the function's own async handling can fail it.
        ...(arn.startsWith('arn:aws:lambda:') ? lambdaAsyncPolicy(template, arn, where) : {}),
        ...(typeof t.Input === 'string' ? { input: t.Input } : {}),
        ...(typeof t.InputPath === 'string' ? { inputPath: t.InputPath } : {}),
        ...(transformer
          ? {
              inputTransformer: {
                pathsMap: (isRecord(transformer.InputPathsMap) ? transformer.InputPathsMap : {}) as Record<
                  string,
                  string
                >,
                template: String(transformer.InputTemplate ?? ''),
              },
            }
          : {}),
      };
    });
    const name = resource.ref.includes('|') ? (resource.ref.split('|').pop() ?? resource.ref) : resource.ref;
    return [
      {
        name,
        arn: resource.attributes.Arn ?? '',
        bus: busNameOf(p.EventBusName),
        pattern,
        ...(periodMs !== undefined ? { periodMs } : {}),
        targets,
      },
    ];
  });
}

function targetInput(target: Target, event: BusEvent): unknown {
  if (target.input !== undefined) return JSON.parse(target.input) as unknown;
  if (target.inputPath !== undefined) return jsonPath(event, target.inputPath);
  if (target.inputTransformer) {
    const { pathsMap, template } = target.inputTransformer;
    const rendered = template.replace(/<([A-Za-z0-9_.-]+)>/g, (whole, name: string) => {
      if (name === 'aws.events.event.json') return JSON.stringify(event);
      const path = pathsMap[name];
      if (path === undefined) return whole;
      const value = jsonPath(event, path);
      return typeof value === 'string' ? value : JSON.stringify(value ?? null);
    });
    try {
      return JSON.parse(rendered) as unknown;
    } catch {
      return rendered;
    }
  }
  return event;
}

/** Deliveries kept for `deliveries()`: enough for any test or console view, bounded so a long demo does not grow. */
export const DELIVERY_LOG_LIMIT = 5_000;

/** The journal is rewritten with only its pending deliveries once this many (or as many as pending) have ended. */
const COMPACT_AFTER_ENDED = 1_000;

/** A journal line: a target invocation accepted, an attempt made, or the invocation ended. */
type JournalLine =
  | { op: 'put'; id: string; rule: string; target: string; event: BusEvent; acceptedAt: number; attempts?: number }
  | { op: 'try'; id: string; attempts: number }
  | { op: 'end'; id: string; status: Delivery['status'] };

interface Invocation {
  readonly id: string;
  readonly rule: Rule;
  readonly target: Target;
  readonly event: BusEvent;
  readonly acceptedAt: number;
  readonly delivery: Delivery;
}

/** Time for the retry loop: injectable so tests drive retries and event age without sleeping. */
export interface BusClock {
  now(): number;
  /** Resolves after `ms`, or at once when `cancel` fires (shutdown). */
  sleep(ms: number, cancel: AbortSignal): Promise<void>;
}

const systemClock: BusClock = {
  now: () => Date.now(),
  sleep: (ms, cancel) =>
    new Promise((resolve) => {
      if (cancel.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        cancel.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      cancel.addEventListener('abort', done);
    }),
};

/** Reads the delivery journal: the invocations not ended, with their attempts (a torn last line was never acked). */
function readJournal(file: string): Map<string, Extract<JournalLine, { op: 'put' }>> {
  const pending = new Map<string, Extract<JournalLine, { op: 'put' }>>();
  if (!existsSync(file)) return pending;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    let line: JournalLine;
    try {
      line = JSON.parse(text) as JournalLine;
    } catch {
      break;
    }
    if (line.op === 'put') pending.set(line.id, line);
    else if (line.op === 'try') {
      const put = pending.get(line.id);
      if (put) put.attempts = line.attempts;
    } else pending.delete(line.id);
  }
  return pending;
}

/**
 * EventBridge's promise, locally: every target invocation of an accepted event is journaled
 * (`<dataDir>/events/deliveries.jsonl`) before the event is archived and before PutEvents answers (after one
 * fdatasync per request); it is retried with the target's RetryPolicy and exponential backoff, sent to its
 * DeadLetterConfig queue when exhausted, and resumed by the next instance on the same data dir after a crash or a
 * stop. At least once: a crash after a delivery and before its end line reaches the disk delivers it again.
 */
export class LocalEventBridge {
  private readonly rules: Rule[];
  private readonly buses: Set<string>;
  private readonly archiveFile: string;
  private readonly archiveLog: AppendLog;
  private readonly journal: AppendLog;
  private readonly log: Delivery[] = [];
  private readonly pending = new Map<string, Invocation>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly clock: BusClock;
  private readonly closing = new AbortController();
  private recovered: Extract<JournalLine, { op: 'put' }>[];
  private ended = 0;

  constructor(private readonly options: EventBridgeOptions) {
    this.rules = rulesOf(options.template);
    this.buses = new Set(['default', ...options.template.ofType('AWS::Events::EventBus').map((b) => b.ref)]);
    const dir = join(options.dataDir, 'events');
    mkdirSync(dir, { recursive: true });
    this.archiveFile = join(dir, 'archive.jsonl');
    trimTornLine(this.archiveFile);
    this.archiveLog = new AppendLog(this.archiveFile, { created: !existsSync(this.archiveFile) });
    const journalFile = join(dir, 'deliveries.jsonl');
    const created = !existsSync(journalFile);
    this.recovered = [...readJournal(journalFile).values()];
    this.journal = new AppendLog(journalFile, { created });
    // Start from a journal holding only what is still to deliver (bounded by the pending work, not by history).
    if (!created) this.journal.rewrite(this.recovered.map((line) => `${JSON.stringify(line)}\n`).join(''));
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 2_000;
    this.clock = options.clock ?? systemClock;
  }

  /** PutEvents: validates entries like AWS, journals the target invocations, archives and routes each event. */
  putEvents(input: Record<string, unknown>): { FailedEntryCount: number; Entries: Record<string, string>[] } {
    const entries = Array.isArray(input.Entries) ? input.Entries : [];
    if (entries.length < 1 || entries.length > 10) {
      throw new AwsServiceError('ValidationException', 'Entries must contain between 1 and 10 entries');
    }
    let failed = 0;
    const results = entries.map((raw): Record<string, string> => {
      const entry = isRecord(raw) ? raw : {};
      const bus = busNameOf(entry.EventBusName);
      const fail = (code: string, message: string): Record<string, string> => {
        failed += 1;
        return { ErrorCode: code, ErrorMessage: message };
      };
      if (!this.buses.has(bus)) return fail('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      if (typeof entry.Source !== 'string' || entry.Source === '')
        return fail('InvalidArgument', 'Parameter Source is not valid.');
      if (typeof entry.DetailType !== 'string' || entry.DetailType === '') {
        return fail('InvalidArgument', 'Parameter DetailType is not valid.');
      }
      if (typeof entry.Detail !== 'string') return fail('InvalidArgument', 'Parameter Detail is not valid.');
      if (Buffer.byteLength(JSON.stringify(entry)) > 256 * 1024) {
        return fail('InvalidArgument', 'Total size of the entries in the request is over the limit.');
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        return fail('MalformedDetail', 'Detail is malformed.');
      }
      if (!isRecord(detail)) return fail('MalformedDetail', 'Detail is malformed.');
      const time = typeof entry.Time === 'string' || typeof entry.Time === 'number' ? new Date(entry.Time) : new Date();
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: this.options.template.account,
        time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: this.options.template.region,
        resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
        detail,
      };
      this.accept(bus, event);
      return { EventId: event.id };
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Resolves once everything journaled and archived so far is on disk (PutEvents answers after it). */
  async sync(): Promise<void> {
    await Promise.all([this.journal.sync(), this.archiveLog.sync()]);
  }

  private accept(bus: string, event: BusEvent): void {
    const matching = this.rules.filter(
      (rule) => rule.pattern !== undefined && rule.bus === bus && matchesEventPattern(rule.pattern, event),
    );
    // Journal first: an archived event always has its target invocations on disk.
    const invocations = matching.flatMap((rule) => this.enqueue(rule, event));
    const archived: ArchivedEvent = { bus, receivedAt: new Date().toISOString(), event };
    this.archiveLog.append(`${JSON.stringify(archived)}\n`);
    for (const invocation of invocations) this.run(invocation);
  }

  /** Fires a scheduled rule now, as EventBridge does on its schedule: a `Scheduled Event` to each of its targets. */
  triggerSchedule(ruleNameOrArn: string): string {
    const rule = this.rules.find(
      (r) => r.periodMs !== undefined && (r.name === ruleNameOrArn || r.arn === ruleNameOrArn),
    );
    if (!rule) throw new Error(`no scheduled rule '${ruleNameOrArn}' in the template`);
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.options.template.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.template.region,
      resources: [rule.arn],
      detail: {},
    };
    for (const invocation of this.enqueue(rule, event)) this.run(invocation);
    return event.id;
  }

  /** Journals one invocation per target of the rule (one write for all of them). */
  private enqueue(rule: Rule, event: BusEvent): Invocation[] {
    const acceptedAt = this.clock.now();
    const invocations = rule.targets.map((target) => this.invocation(randomUUID(), rule, target, event, acceptedAt, 0));
    const lines = invocations.map((i) =>
      JSON.stringify({
        op: 'put',
        id: i.id,
        rule: rule.arn,
        target: i.target.id,
        event,
        acceptedAt,
      } satisfies JournalLine),
    );
    if (lines.length > 0) this.journal.append(`${lines.join('\n')}\n`);
    return invocations;
  }

  private invocation(
    id: string,
    rule: Rule,
    target: Target,
    event: BusEvent,
    acceptedAt: number,
    attempts: number,
  ): Invocation {
    const delivery: Delivery = {
      ruleName: rule.name,
      ruleArn: rule.arn,
      targetId: target.id,
      targetArn: target.arn,
      eventId: event.id,
      input: targetInput(target, event),
      status: 'pending',
      attempts,
    };
    this.log.push(delivery);
    // Trimmed in chunks so each push stays O(1) on average.
    const limit = this.options.deliveryLogLimit ?? DELIVERY_LOG_LIMIT;
    if (this.log.length >= 2 * limit) this.log.splice(0, this.log.length - limit);
    const invocation = { id, rule, target, event, acceptedAt, delivery };
    this.pending.set(id, invocation);
    return invocation;
  }

  private run(invocation: Invocation): void {
    const run = this.deliver(invocation)
      .catch((error: unknown) => {
        // Only the journal or the DLQ store failing lands here; the invocation stays pending for the next start.
        process.stderr.write(`local eventbridge: delivery ${invocation.id}: ${String(error)}\n`);
      })
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private async attempt(target: Target, input: unknown): Promise<void> {
    // Lambda functions and state machines both run through the invoker (a state machine target starts an execution).
    if (target.arn.startsWith('arn:aws:lambda:') || target.arn.startsWith('arn:aws:states:')) {
      // The signal: a bus that stops while its runtime has not started yet stops waiting for it.
      const result = await this.options.invoker.invoke(target.arn, input, this.closing.signal);
      if (!result.ok) throw new FunctionError(result.errorType, result.errorMessage);
      return;
    }
    const body = typeof input === 'string' ? input : JSON.stringify(input);
    if (target.arn.startsWith('arn:aws:sqs:')) {
      this.options.sqs.send(target.arn, body);
      return;
    }
    if (target.arn.startsWith('arn:aws:sns:') && this.options.sns) {
      this.options.sns.publish(target.arn, body);
      await this.options.sns.sync();
      return;
    }
    throw new Error(
      `target ${target.arn} is not a kind the local bus can deliver to (Lambda, Step Functions, SQS, SNS)`,
    );
  }

  private async deliver(invocation: Invocation): Promise<void> {
    const { rule, target, event, delivery } = invocation;
    let failure: unknown;
    let tooOld = false;
    for (;;) {
      if (this.closing.signal.aborted) return; // stays pending in the journal: the next start resumes it
      delivery.attempts += 1;
      // Not awaited: losing this line in a crash only grants one more attempt after the restart.
      this.journal.append(`${JSON.stringify({ op: 'try', id: invocation.id, attempts: delivery.attempts })}\n`);
      try {
        await this.attempt(target, delivery.input);
        this.end(invocation, 'delivered');
        return;
      } catch (error) {
        delivery.lastError = error instanceof Error ? error.message : String(error);
        failure = error;
      }
      // An attempt cut short by the stage stopping is not the target's failure: it stays pending for the next start.
      if (this.closing.signal.aborted) return;
      const retriesUsed = delivery.attempts - 1;
      tooOld = this.clock.now() - invocation.acceptedAt >= target.maxAgeSeconds * 1000;
      if (retriesUsed >= target.maxRetries || tooOld) break;
      await this.clock.sleep(this.retryDelayMs(target, retriesUsed), this.closing.signal);
    }
    if (target.lambda) {
      this.lambdaFailed(invocation, target.lambda.onFailureArn, failure, tooOld);
    } else if (target.deadLetterArn) {
      // AWS puts the original event in the DLQ and says why in message attributes.
      this.options.sqs.send(target.deadLetterArn, JSON.stringify(event), {
        RULE_ARN: { DataType: 'String', StringValue: rule.arn },
        TARGET_ARN: { DataType: 'String', StringValue: target.arn },
        ERROR_CODE: { DataType: 'String', StringValue: 'FunctionError' },
        ERROR_MESSAGE: { DataType: 'String', StringValue: (delivery.lastError ?? '').slice(0, 256) },
      });
      this.end(invocation, 'dead-lettered');
    } else {
      this.end(invocation, 'dropped');
    }
  }

  /**
   * Lambda gave up on an asynchronous invocation: the invocation record goes to the function's on-failure destination
   * (as Lambda writes it: the event as requestPayload, the error as responsePayload); without one Lambda discards the
   * event, which is said loudly here since nothing else will show it.
   */
  private lambdaFailed(
    invocation: Invocation,
    onFailureArn: string | undefined,
    failure: unknown,
    tooOld: boolean,
  ): void {
    const { target, delivery } = invocation;
    const attempts = delivery.attempts;
    if (!onFailureArn) {
      process.stderr.write(
        `local lambda: discarded event ${invocation.event.id} for ${target.arn} after ${attempts} attempts ` +
          `(${delivery.lastError ?? 'error'}): the function has no on-failure destination, as on AWS\n`,
      );
      this.end(invocation, 'dropped');
      return;
    }
    const { errorType, errorMessage } =
      failure instanceof FunctionError
        ? failure
        : { errorType: 'Error', errorMessage: failure instanceof Error ? failure.message : String(failure) };
    const record = {
      version: '1.0',
      timestamp: new Date(this.clock.now()).toISOString(),
      requestContext: {
        requestId: invocation.id,
        functionArn: /:function:[^:]+$/.test(target.arn) ? `${target.arn}:$LATEST` : target.arn,
        condition: tooOld ? 'EventAgeExceeded' : 'RetriesExhausted',
        approximateInvokeCount: attempts,
      },
      requestPayload: delivery.input,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType, errorMessage },
    };
    this.options.sqs.send(onFailureArn, JSON.stringify(record));
    this.end(invocation, 'dead-lettered');
  }

  /**
   * The wait before retry `retriesUsed + 1`: exponential backoff, and for a Lambda target never less than the
   * function's timeout. On AWS a Lambda target is invoked asynchronously and Lambda retries a function error after
   * about 1 and then 2 minutes; what matters locally is that a retry does not come before an invocation cut off by a
   * crash has timed out, or it meets that invocation's idempotency lock (held for the function's timeout) and fails
   * again, until the event lands in the DLQ although the function would succeed.
   */
  private retryDelayMs(target: Target, retriesUsed: number): number {
    const backoff = Math.min(this.retryBaseDelayMs * 2 ** retriesUsed, this.retryMaxDelayMs);
    if (!target.arn.startsWith('arn:aws:lambda:')) return backoff;
    const timeoutSeconds = this.options.invoker.timeoutSeconds?.(target.arn);
    return timeoutSeconds === undefined ? backoff : Math.max(backoff, timeoutSeconds * 1000);
  }

  /** Records the end of an invocation; compacts the journal once enough have ended. */
  private end(invocation: Invocation, status: Delivery['status']): void {
    invocation.delivery.status = status;
    this.pending.delete(invocation.id);
    // Not awaited: a crash before the next fdatasync redelivers this one (at least once, like EventBridge).
    this.journal.append(`${JSON.stringify({ op: 'end', id: invocation.id, status })}\n`);
    this.ended += 1;
    if (this.ended >= Math.max(COMPACT_AFTER_ENDED, this.pending.size)) this.compact();
  }

  private compact(): void {
    const lines = [...this.pending.values()].map(
      (i) =>
        `${JSON.stringify({
          op: 'put',
          id: i.id,
          rule: i.rule.arn,
          target: i.target.id,
          event: i.event,
          acceptedAt: i.acceptedAt,
          attempts: i.delivery.attempts,
        } satisfies JournalLine)}\n`,
    );
    this.journal.rewrite(lines.join(''));
    this.ended = 0;
  }

  /** Resumes what a previous instance journaled and did not finish (its attempts count against the retry policy).
   *  start() calls it; idempotent. */
  resume(): void {
    const recovered = this.recovered;
    this.recovered = [];
    for (const line of recovered) {
      const rule = this.rules.find((r) => r.arn === line.rule);
      const target = rule?.targets.find((t) => t.id === line.target);
      if (!rule || !target) {
        // The template changed under the data dir: nothing to deliver to any more.
        process.stderr.write(
          `local eventbridge: dropping ${line.id}: rule ${line.rule} target ${line.target} is gone\n`,
        );
        this.journal.append(`${JSON.stringify({ op: 'end', id: line.id, status: 'dropped' })}\n`);
        continue;
      }
      this.run(this.invocation(line.id, rule, target, line.event, line.acceptedAt, line.attempts ?? 0));
    }
  }

  /** Target invocations journaled and not yet delivered, dead-lettered or dropped. */
  pendingCount(): number {
    return this.pending.size + this.recovered.length;
  }

  /** The latest deliveries (pending ones included), for tests: which target got which event. */
  deliveries(): readonly Delivery[] {
    return this.log.slice(-(this.options.deliveryLogLimit ?? DELIVERY_LOG_LIMIT));
  }

  /** Resolves once every delivery started so far has finished (delivered, dead-lettered or dropped). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The bus archive: every accepted event, oldest first, across restarts. */
  archive(): ArchivedEvent[] {
    if (!existsSync(this.archiveFile)) return [];
    return readFileSync(this.archiveFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ArchivedEvent);
  }

  ruleNames(): string[] {
    return this.rules.map((r) => r.name);
  }

  async start(port = 0): Promise<RunningServer> {
    const server = await listen(
      awsJsonHandler('AWSEvents', 'application/x-amz-json-1.1', {
        PutEvents: async (input) => {
          const out = this.putEvents(input);
          await this.sync();
          return out;
        },
      }),
      port,
    );
    this.resume();
    // Scheduled rules fire on their rate while the stage runs (not at start: a restart must not re-run them).
    const timers = this.rules
      .filter((r) => r.periodMs !== undefined)
      .map((rule) =>
        setInterval(() => this.closing.signal.aborted || this.triggerSchedule(rule.arn), rule.periodMs).unref(),
      );
    return {
      url: server.url,
      close: async () => {
        for (const timer of timers) clearInterval(timer);
        await server.close();
        // Retries waiting for their backoff stop; what is undelivered stays journaled for the next start.
        this.closing.abort();
        await this.idle();
        await Promise.all([this.journal.close(), this.archiveLog.close()]);
      },
    };
  }
}
