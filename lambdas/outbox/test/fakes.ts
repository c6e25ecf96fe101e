// Test doubles and stream records for the outbox: audit records as the decisions table's stream delivers them, and
// in-memory ports whose failures are chosen per transaction.
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { EntryFailure } from '../../shared/adapters/entry-retry.js';
import type { EventBatchPublisher, EventFailure } from '../../shared/adapters/event-publisher.js';
import { type DecisionRecord, type PredictionRecord, predictionAuditId } from '../../shared/contracts/api.js';
import { type BusEvent, toPutEventsEntry } from '../../shared/contracts/events.js';
import type { OverrideRecord } from '../../shared/contracts/review.js';
import { decisionRecord } from '../../shared/test/records.js';
import type { DeadLetters, DecisionLog, DecisionLogRecord, OutboxPorts, PoisonRecord, ReviewQueue } from '../core.js';

export function decision(n: number, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return decisionRecord(`t-${n}`, {
    score: 0.123456789,
    features: { log_amount: 4.874434, hour_sin: 1.2246467991473532e-16, is_new_device: 0 },
    latencyMs: 12.34,
    expiresAt: 1_764_590_401,
    ...overrides,
  });
}

/** A merchant-risk prediction's audit record under idempotency key `key`. */
export function prediction(key: string): PredictionRecord {
  const auditId = predictionAuditId('merchant-risk', key);
  return {
    transactionId: auditId,
    kind: 'prediction',
    auditId,
    modelName: 'merchant-risk',
    idempotencyKey: key,
    request: { merchantId: 'm-7', date: '2026-11-01', count: 12 },
    prediction: { score: 0.42, outcome: 'watch' },
    degraded: false,
    reasons: [],
    explanation: [{ feature: 'night_share', contribution: 0.2 }],
    model: { name: 'merchant-risk', version: '1' },
    features: { night_share: 0.4 },
    featureHash: 'c'.repeat(64),
    requestHash: 'd'.repeat(64),
    latencyMs: 3.5,
    predictedAt: '2026-11-02T00:40:00.000Z',
    expiresAt: 1_764_636_000,
  };
}

/** The audit item as the stream's NewImage: marshalled as the DocumentClient writes it. */
export const image = (record: unknown) =>
  marshall(record as Record<string, unknown>, { removeUndefinedValues: true, convertClassInstanceToMap: false });

export function streamRecord(
  sequenceNumber: string,
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  newImage?: Record<string, unknown>,
): DynamoDBRecord {
  return {
    eventID: `ev-${sequenceNumber}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:111111111111:table/decisions/stream/2026-11-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1_761_998_401,
      Keys: { transactionId: { S: String((newImage?.transactionId as { S?: string } | undefined)?.S ?? '') } },
      ...(newImage ? { NewImage: newImage as never } : {}),
      SequenceNumber: sequenceNumber,
      SizeBytes: 1_500,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

export const inserts = (records: readonly DecisionRecord[], firstSequence = 100): DynamoDBRecord[] =>
  records.map((r, i) => streamRecord(String(firstSequence + i), 'INSERT', image(r)));

export const streamEvent = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

const refused = (what: string): EntryFailure => ({ errorCode: 'ServiceUnavailable', errorMessage: `${what} refused` });

/** Publishes (validating as EventBridge's adapter does) unless the event's transaction is in `failFor`. */
export class MemoryBus implements EventBatchPublisher {
  readonly published: BusEvent[] = [];
  readonly calls: number[] = [];
  readonly failFor = new Set<string>();
  async publishEach(events: readonly BusEvent[]): Promise<(EventFailure | undefined)[]> {
    this.calls.push(events.length);
    return events.map((event) => {
      toPutEventsEntry(event, 'memory');
      const id = (event.data as { transactionId?: string; auditId?: string }).transactionId;
      if (id !== undefined && this.failFor.has(id)) {
        return { detailType: event.detailType, ...refused(event.detailType) };
      }
      this.published.push(event);
      return undefined;
    });
  }
}

export class MemoryDecisionLog implements DecisionLog {
  readonly lines: string[] = [];
  readonly failFor = new Set<string>();
  async appendEach(records: readonly DecisionLogRecord[]): Promise<(EntryFailure | undefined)[]> {
    return records.map((r) => {
      if (this.failFor.has(r.transactionId)) return refused('line');
      this.lines.push(`${JSON.stringify(r)}\n`);
      return undefined;
    });
  }
}

export class MemoryDeadLetters implements DeadLetters {
  readonly parked: PoisonRecord[] = [];
  failing = false;
  async park(records: readonly PoisonRecord[]): Promise<void> {
    if (this.failing) throw new Error('dead-letter queue unavailable');
    this.parked.push(...records);
  }
}

/** Review items in memory: opened decisions and override heads, failing for the transactions in `failFor`. */
export class MemoryReviewQueue implements ReviewQueue {
  readonly opened: string[] = [];
  readonly heads = new Map<string, { n: number; decision: string }>();
  readonly failFor = new Set<string>();
  async open(record: DecisionRecord): Promise<void> {
    if (this.failFor.has(record.transactionId)) throw new Error('table unavailable');
    if (!this.opened.includes(record.transactionId)) this.opened.push(record.transactionId);
  }
  async applyHead(n: number, record: OverrideRecord): Promise<void> {
    if (this.failFor.has(record.transactionId)) throw new Error('table unavailable');
    if ((this.heads.get(record.transactionId)?.n ?? 0) < n) {
      this.heads.set(record.transactionId, { n, decision: record.decision });
    }
  }
}

export function ports(): OutboxPorts & {
  bus: MemoryBus;
  log: MemoryDecisionLog;
  dead: MemoryDeadLetters;
  queue: MemoryReviewQueue;
} {
  const bus = new MemoryBus();
  const log = new MemoryDecisionLog();
  const dead = new MemoryDeadLetters();
  const queue = new MemoryReviewQueue();
  return { events: bus, decisionLog: log, deadLetters: dead, reviews: queue, bus, log, dead, queue };
}
