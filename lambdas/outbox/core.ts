// The decision outbox: what a decision owes the rest of the system — its TransactionScored / FraudSuspected events and
// its decision-log line — derived from its audit record as the decisions table's stream delivers it (docs/decisions/
// 0004-decision-outbox.md); likewise a real-time prediction's PredictionMade event from its audit record (same table,
// `kind: 'prediction'`, no decision-log line: the log is the fraud decisions' retraining input). Pure apart from its
// ports. At least once: consumers dedupe by transactionId (decisions) or auditId (predictions). It also keeps the review
// queue (issue 13): a new `review` decision opens its review item; an override record (`kind: 'override'`) becomes
// DecisionOverridden and moves its decision's override head (again: the review service did it first unless it died
// after the record's write). Review items themselves (`kind: 'review'`) owe nothing.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { EntryFailure } from '../shared/adapters/entry-retry.js';
import type { EventBatchPublisher } from '../shared/adapters/event-publisher.js';
import { DecisionRecord, PredictionRecord } from '../shared/contracts/api.js';
import { OverrideItem, summaryOfRecord, withoutIndexAttributes } from '../shared/contracts/decisions-table.js';
import { type BusEvent, busEvent, EVENT_SOURCES, EVENT_VERSION, parseEventDetail } from '../shared/contracts/events.js';
import type { OverrideRecord } from '../shared/contracts/review.js';

/** One line of the decision log: the audit record without the request hash and TTL. */
export type DecisionLogRecord = Omit<DecisionRecord, 'requestHash' | 'expiresAt'>;

/** Port: the decision log (Firehose → S3 lake), the retraining input. One result per record, undefined = accepted. */
export interface DecisionLog {
  appendEach(records: readonly DecisionLogRecord[]): Promise<(EntryFailure | undefined)[]>;
}

/** A stream record that can never become a decision's events: parked with everything it carried, never retried. */
export interface PoisonRecord {
  /** The stream record's sequence number. */
  readonly recordId: string;
  readonly reason: string;
  /** The NewImage exactly as the stream delivered it (DynamoDB attribute values), or undefined when it had none. */
  readonly image: unknown;
}

/** Port: where poison records go, image and reason, for a person to look at. */
export interface DeadLetters {
  park(records: readonly PoisonRecord[]): Promise<void>;
}

/** Port: the review items of the decisions table (idempotent writes: the stream may deliver a record twice). */
export interface ReviewQueue {
  /** Opens the review item of a new review decision (pending, in the queue) unless it exists. */
  open(record: DecisionRecord): Promise<void>;
  /** Moves a decision's override head to override `n` and resolves its review item, never backwards. */
  applyHead(n: number, record: OverrideRecord, expiresAt: number): Promise<void>;
}

export interface OutboxPorts {
  readonly events: EventBatchPublisher;
  readonly decisionLog: DecisionLog;
  readonly deadLetters: DeadLetters;
  readonly reviews: ReviewQueue;
}

/** The part of a DynamoDB stream record the relay reads. */
export interface ChangeRecord {
  /** The sequence number: what a batch item failure names. */
  readonly recordId: string;
  readonly eventName?: string;
  readonly newImage?: Record<string, AttributeValue>;
}

export interface RelayOutcome {
  /** Records whose events and log line were all accepted. */
  readonly relayed: number;
  /** Events accepted by the bus. */
  readonly events: number;
  /** Records that are not INSERTs (the mapping's filter lets none through; counted, not relayed). */
  readonly ignored: readonly string[];
  /** Records parked as poison (not retried). */
  readonly poisoned: readonly PoisonRecord[];
  /** Records to retry, by sequence number: some event, the log line or the parking failed. */
  readonly failures: ReadonlyMap<string, Error>;
}

/** A record whose delivery failed after the adapters' own retries: the stream retries it. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}

/** The events a decision owes: TransactionScored always, FraudSuspected when it was not approved. */
export function eventsFor(r: DecisionRecord): BusEvent[] {
  const data = summaryOfRecord(r);
  const events: BusEvent[] = [busEvent('TransactionScored', EVENT_SOURCES.score, data)];
  if (r.decision !== 'approve') {
    events.push(
      busEvent('FraudSuspected', EVENT_SOURCES.score, {
        ...data,
        decision: r.decision,
        reasons: r.reasons,
        explanation: r.explanation,
      }),
    );
  }
  return events;
}

/** The event a prediction owes: PredictionMade. */
export function predictionEvents(r: PredictionRecord): BusEvent[] {
  return [
    busEvent('PredictionMade', EVENT_SOURCES.predict, {
      auditId: r.auditId,
      modelName: r.modelName,
      model: r.model,
      score: r.prediction.score,
      outcome: r.prediction.outcome,
      degraded: r.degraded,
      predictedAt: r.predictedAt,
    }),
  ];
}

/** The decision-log line of a decision. */
export function decisionLogRecord(r: DecisionRecord): DecisionLogRecord {
  const { requestHash: _r, expiresAt: _e, ...line } = r;
  return line;
}

/** The event an override owes: DecisionOverridden, with the override record as its data. */
export function overrideEvents(r: OverrideRecord): BusEvent[] {
  return [busEvent('DecisionOverridden', EVENT_SOURCES.review, r)];
}

/** A write to the review items an audit item owes. */
type ReviewEffect =
  | { readonly open: DecisionRecord }
  | { readonly head: { readonly n: number; readonly record: OverrideRecord; readonly expiresAt: number } };

type Derived =
  /** `line` is undefined for a prediction or an override: they owe events only (and an override its head). */
  | {
      readonly ok: true;
      readonly events: BusEvent[];
      readonly line: DecisionLogRecord | undefined;
      readonly review?: ReviewEffect;
    }
  | { readonly ok: false; readonly reason: string };

/** The events, log line and review write of an audit item: a prediction, an override, a review item or a decision. */
function deriveItem(item: unknown): Derived {
  const kind = (item as { kind?: unknown } | null)?.kind;
  if (kind === 'prediction') {
    const parsed = PredictionRecord.safeParse(item);
    if (!parsed.success) return { ok: false, reason: `not a PredictionRecord: ${parsed.error.message}` };
    return { ok: true, events: predictionEvents(parsed.data), line: undefined };
  }
  if (kind === 'review') return { ok: true, events: [], line: undefined };
  if (kind === 'override') {
    const parsed = OverrideItem.safeParse(item);
    if (!parsed.success) return { ok: false, reason: `not an OverrideItem: ${parsed.error.message}` };
    const { transactionId: key, record, expiresAt } = parsed.data;
    const n = Number(key.slice(key.lastIndexOf('#') + 1));
    return { ok: true, events: overrideEvents(record), line: undefined, review: { head: { n, record, expiresAt } } };
  }
  const parsed = DecisionRecord.safeParse(
    typeof item === 'object' && item !== null ? withoutIndexAttributes(item as Record<string, unknown>) : item,
  );
  if (!parsed.success) return { ok: false, reason: `not a DecisionRecord: ${parsed.error.message}` };
  return {
    ok: true,
    events: eventsFor(parsed.data),
    line: decisionLogRecord(parsed.data),
    ...(parsed.data.decision === 'review' ? { review: { open: parsed.data } } : {}),
  };
}

/** Unmarshals and validates one INSERT image; anything that throws here would throw on every retry too. */
export function derive(image: Record<string, AttributeValue> | undefined): Derived {
  if (!image) return { ok: false, reason: 'the record has no NewImage (is the stream view type NEW_IMAGE?)' };
  let item: unknown;
  try {
    item = unmarshall(image);
  } catch (error) {
    return { ok: false, reason: `the NewImage cannot be unmarshalled: ${(error as Error).message}` };
  }
  const derived = deriveItem(item);
  if (!derived.ok) return derived;
  try {
    for (const e of derived.events) parseEventDetail(e.detailType, { version: EVENT_VERSION, data: e.data });
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  return derived;
}

/**
 * Relays one stream batch: every valid INSERT's events go to the bus and its line to the decision log, batched across
 * records; poison records are parked; a record any of whose deliveries failed is returned for the stream to retry
 * (all of its deliveries then go again: duplicates are possible, never gaps).
 */
export async function relayDecisions(records: readonly ChangeRecord[], ports: OutboxPorts): Promise<RelayOutcome> {
  const failures = new Map<string, Error>();
  const ignored: string[] = [];
  const poisoned: PoisonRecord[] = [];
  const ready: { recordId: string; events: BusEvent[]; line: DecisionLogRecord | undefined; review?: ReviewEffect }[] =
    [];
  for (const record of records) {
    if (record.eventName !== 'INSERT') {
      ignored.push(record.recordId);
      continue;
    }
    const derived = derive(record.newImage);
    if (derived.ok) ready.push({ recordId: record.recordId, ...derived });
    else poisoned.push({ recordId: record.recordId, reason: derived.reason, image: record.newImage });
  }

  const events = ready.flatMap((r) => r.events);
  const owners = ready.flatMap((r) => r.events.map(() => r.recordId));
  const logged = ready.flatMap((r) => (r.line ? [{ recordId: r.recordId, line: r.line }] : []));
  const reviewing = ready.flatMap((r) => (r.review ? [{ recordId: r.recordId, effect: r.review }] : []));
  const [parked, eventResults, lineResults, reviewResults] = await Promise.all([
    poisoned.length > 0
      ? ports.deadLetters.park(poisoned).then(
          () => undefined,
          (error: unknown) => error,
        )
      : undefined,
    events.length > 0 ? ports.events.publishEach(events) : [],
    logged.length > 0 ? ports.decisionLog.appendEach(logged.map((r) => r.line)) : [],
    Promise.all(
      reviewing.map(({ effect }) =>
        ('open' in effect
          ? ports.reviews.open(effect.open)
          : ports.reviews.applyHead(effect.head.n, effect.head.record, effect.head.expiresAt)
        ).then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        ),
      ),
    ),
  ]);

  const fail = (recordId: string, what: string) => {
    const previous = failures.get(recordId)?.message;
    failures.set(recordId, new DeliveryError(previous ? `${previous}; ${what}` : what));
  };
  if (parked !== undefined) {
    for (const p of poisoned) fail(p.recordId, `poison record not parked: ${(parked as Error).message ?? parked}`);
  }
  let accepted = 0;
  eventResults.forEach((failure, i) => {
    const owner = owners[i] as string;
    if (failure) fail(owner, `${events[i]?.detailType} not published (${failure.errorCode}: ${failure.errorMessage})`);
    else accepted++;
  });
  lineResults.forEach((failure, i) => {
    const owner = logged[i]?.recordId as string;
    if (failure) fail(owner, `decision-log line not accepted (${failure.errorCode}: ${failure.errorMessage})`);
  });
  reviewResults.forEach((error, i) => {
    if (error) fail(reviewing[i]?.recordId as string, `review item not written (${error.message})`);
  });
  return {
    relayed: ready.filter((r) => !failures.has(r.recordId)).length,
    events: accepted,
    ignored,
    poisoned: parked === undefined ? poisoned : [],
    failures,
  };
}
