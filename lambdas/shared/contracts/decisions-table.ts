// The decisions (audit) table's layout beyond its key: the `byDay` index the decisions list, the review queue and the
// live figures read, and the items that sit beside the audit records (review items, override records). The data stack
// builds the index from these names and the adapters write and read by them, so the two cannot drift apart.
import * as z from 'zod';
import { Decision } from '../../../models/shared/contracts/decision.js';
import type { DecisionRecord } from './api.js';
import { OverrideRecord, ReviewState } from './review.js';
import { ScoredDecision } from './scored-decision.js';

/**
 * The time-bucket index. Partition key `dayBucket` = `<list>#<UTC day>`, sort key `decidedAt`: a day's decisions
 * (`d#2026-12-07`) or the day's review decisions still pending (`q#2026-12-07`), newest first by a reverse Query.
 * A day rather than an hour: every write of the moment lands in one partition either way (the bucket of now), so
 * the write heat is the same; a day needs 24× fewer reads to walk back over quiet time. One partition takes about
 * 1,000 writes/s, so the index carries up to ≈1,000 decisions/s; beyond that the bucket needs a shard suffix
 * (`d#<day>#<n>`) and the list a merge of n Queries. Only items carrying `dayBucket` are in the index (sparse):
 * decisions, and review items while pending; predictions, overrides and resolved review items are not.
 */
export const DECISIONS_BY_DAY = {
  indexName: 'byDay',
  partitionKey: 'dayBucket',
  sortKey: 'decidedAt',
  /** What the index copies besides the keys: a list row's fields (decision records and review items). */
  projected: [
    'kind',
    'customerId',
    'transaction',
    'decision',
    'score',
    'model',
    'degraded',
    'latencyMs',
    'expiresAt',
    'summary',
  ],
} as const;

/** The two lists the index holds. */
export type DayList = 'decisions' | 'queue';
const LIST_PREFIX: Readonly<Record<DayList, string>> = { decisions: 'd', queue: 'q' };

/** The UTC day (`YYYY-MM-DD`) of an instant. */
export const utcDay = (iso: string | Date): string => new Date(iso).toISOString().slice(0, 10);

/** The index partition of one list on one UTC day. */
export const dayBucket = (list: DayList, day: string): string => `${LIST_PREFIX[list]}#${day}`;

/** The key of a decision's review item (no transactionId holds `#`, so it never meets an audit record's key). */
export const reviewItemKey = (transactionId: string): string => `review#${transactionId}`;

/** Most overrides one decision takes: the audit trail reads them all, so their number is bounded. */
export const MAX_OVERRIDES = 50;

/** The key of a decision's n-th override (1-based): the number is the order, and a create-once write claims it. */
export const overrideItemKey = (transactionId: string, n: number): string =>
  `override#${transactionId}#${String(n).padStart(4, '0')}`;

/** What a review queue row shows, copied from the decision when the review item is opened (the list needs no join). */
export const ReviewSummary = ScoredDecision;
export type ReviewSummary = z.infer<typeof ReviewSummary>;

/** A decision's list row, from its audit record (also the data of its TransactionScored event). */
export function summaryOfRecord(r: DecisionRecord): ScoredDecision {
  return {
    transactionId: r.transactionId,
    customerId: r.customerId,
    merchantId: r.transaction.merchantId,
    amount: r.transaction.amount,
    currency: r.transaction.currency,
    decision: r.decision,
    score: r.score,
    degraded: r.degraded,
    model: r.model,
    decidedAt: r.decidedAt,
  };
}

/**
 * A decision's review item (`review#<id>`): the only mutable item about a decision, never its audit record. Opened by
 * the outbox for a new `review` decision (pending, in the queue); an override or a label resolves it (the queue
 * attribute is removed). An override of any decision also keeps its head here: how many overrides there are and the
 * decision now in force, so a list row shows it without reading every override.
 */
export const ReviewItem = z
  .object({
    transactionId: z.string().startsWith('review#'),
    kind: z.literal('review'),
    /** Present on review decisions; absent when the item only carries an override head. */
    summary: ReviewSummary.optional(),
    status: ReviewState.shape.status.optional(),
    resolvedBy: ReviewState.shape.resolvedBy,
    resolvedAt: ReviewState.shape.resolvedAt,
    overrideCount: z.number().int().min(0).optional(),
    overriddenTo: Decision.optional(),
    /** In the `q#<day>` partition while pending. */
    dayBucket: z.string().optional(),
    decidedAt: z.string().optional(),
    expiresAt: z.number().int().optional(),
  })
  .strict();
export type ReviewItem = z.infer<typeof ReviewItem>;

/** An override as stored: the contract's record under its own key (`override#<id>#<n>`), expiring with the decision. */
export const OverrideItem = z
  .object({
    transactionId: z.string().startsWith('override#'),
    kind: z.literal('override'),
    record: OverrideRecord,
    expiresAt: z.number().int(),
  })
  .strict();
export type OverrideItem = z.infer<typeof OverrideItem>;

/** An audit item without the table's own attributes (the index bucket): the record the item holds. */
export function withoutIndexAttributes(item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { [DECISIONS_BY_DAY.partitionKey]: _bucket, ...record } = item;
  return record;
}
