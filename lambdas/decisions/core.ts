// The decisions read side: one audit record, the decisions list and the review queue (walking the time-bucket index
// day by day, newest first, with a bounded number of reads per page), a decision's audit trail, and the live figures.
import { DAY_QUERIES_PER_PAGE, type DecisionRecord, LIVE_STATS_MAX_ITEMS } from '../shared/contracts/api.js';
import {
  type DayList,
  MAX_OVERRIDES,
  type ReviewItem,
  type ReviewSummary,
  utcDay,
} from '../shared/contracts/decisions-table.js';
import type {
  AuditTrail,
  DecisionSummary,
  DecisionsPage,
  DecisionsQuery,
  LabelRecord,
  LiveMinute,
  LiveStats,
  OverrideRecord,
  ReviewQueueQuery,
  ReviewState,
} from '../shared/contracts/review.js';
import { NotFoundError, ValidationError } from '../shared/errors.js';

/** A position in one day of the index: the decision's id and its decidedAt (the index's sort key). */
export interface IndexPosition {
  readonly id: string;
  readonly decidedAt: string;
}

/** What the index cannot serve by its key: applied to the items a Query reads. */
export interface RowFilter {
  readonly decision?: DecisionSummary['decision'];
  readonly model?: string;
  readonly customerId?: string;
  readonly minAmount?: number;
  readonly maxAmount?: number;
  /** Epoch seconds: items whose `expiresAt` is not after it have expired (DynamoDB deletes them only lazily). */
  readonly aliveAfter: number;
}

export interface DayQuery {
  readonly list: DayList;
  /** UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  /** decidedAt range, both inclusive (ISO 8601, UTC, millisecond precision as the records hold it). */
  readonly lo: string;
  readonly hi: string;
  readonly filter: RowFilter;
  /** Resume after this position. @default - the newest item of the day */
  readonly after?: IndexPosition;
  /** Most items the Query evaluates (before the filter). */
  readonly limit: number;
}

/** One index row: a list row's fields, and the service latency on decisions. */
export interface IndexRow extends ReviewSummary {
  readonly latencyMs?: number;
}

/** Port: the `byDay` index of the decisions table, newest first. */
export interface DayIndex {
  query(q: DayQuery): Promise<{ readonly rows: readonly IndexRow[]; readonly last?: IndexPosition }>;
}

/** Port: decisions' review items and override records. */
export interface ReviewItems {
  /** Review items by decision id (absent ids have none). */
  getMany(ids: readonly string[]): Promise<ReadonlyMap<string, ReviewItem>>;
  /** Override records `from`..`to` (1-based, inclusive) of one decision, by number; missing numbers are absent. */
  overrides(id: string, from: number, to: number): Promise<ReadonlyMap<number, OverrideRecord>>;
}

/** Port: the labels table. */
export interface LabelReader {
  get(transactionId: string): Promise<LabelRecord | undefined>;
}

/** Port: audit records. */
export interface RecordReader {
  get(transactionId: string): Promise<DecisionRecord | undefined>;
}

/** GET /v1/decisions/{id}: absent and expired records are both "not found". */
export async function getDecision(transactionId: string, ports: { decisions: RecordReader }): Promise<DecisionRecord> {
  const record = await ports.decisions.get(transactionId);
  if (!record) throw new NotFoundError(`no decision for transaction ${transactionId}`);
  return record;
}

export interface ListPorts {
  readonly index: DayIndex;
  readonly reviews: ReviewItems;
  /** How far back decisions are kept (the table's TTL): where a walk back in time stops. */
  readonly retentionDays: number;
  readonly now: () => Date;
}

// ---- the cursor: opaque to callers, validated on the way back in; it names a day and a position, never a table key.
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

interface Cursor {
  readonly day: string;
  readonly after?: IndexPosition;
}

export function encodeCursor(c: Cursor): string {
  const json = c.after ? { d: c.day, i: c.after.id, a: c.after.decidedAt } : { d: c.day };
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const invalid = () => new ValidationError('invalid cursor: pass back the nextCursor of the previous page unchanged');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const o = json as { d?: unknown; i?: unknown; a?: unknown } | null;
  if (typeof o !== 'object' || o === null || typeof o.d !== 'string' || !DAY.test(o.d)) throw invalid();
  if (o.i === undefined && o.a === undefined) return { day: o.d };
  if (typeof o.i !== 'string' || !ID.test(o.i) || typeof o.a !== 'string') throw invalid();
  const at = Date.parse(o.a);
  if (Number.isNaN(at) || new Date(at).toISOString() !== o.a || utcDay(o.a) !== o.d) throw invalid();
  return { day: o.d, after: { id: o.i, decidedAt: o.a } };
}

const DAY_MS = 86_400_000;
const previousDay = (day: string) => utcDay(new Date(Date.parse(`${day}T00:00:00.000Z`) - DAY_MS));
const isoOf = (ms: number) => new Date(ms).toISOString();

/** Evaluated items per Query when a filter may drop most of them (a Query reads at most 1 MB anyway). */
const FILTERED_QUERY_LIMIT = 500;

interface Window {
  readonly newestDay: string;
  readonly oldestDay: string;
  /** Inclusive decidedAt bounds. */
  readonly lo: string;
  readonly hi: string;
}

function windowOf(query: DecisionsQuery | ReviewQueueQuery, ports: ListPorts): Window {
  const now = ports.now().getTime();
  const floor = now - ports.retentionDays * DAY_MS;
  const from = query.from ? Math.max(Date.parse(query.from), floor) : floor;
  const to = query.to ? Math.min(Date.parse(query.to) - 1, now) : now;
  if (query.minAmount !== undefined && query.maxAmount !== undefined && query.minAmount > query.maxAmount) {
    throw new ValidationError('minAmount must not be greater than maxAmount');
  }
  return {
    newestDay: utcDay(isoOf(Math.max(to, from))),
    oldestDay: utcDay(isoOf(from)),
    lo: isoOf(from),
    hi: isoOf(to),
  };
}

/**
 * One page of a list, newest first: Queries day after day back from the window's newest day (or the cursor's) until
 * the page is full, the window's oldest day is read, or DAY_QUERIES_PER_PAGE Queries were made.
 */
export async function walkDays(
  list: DayList,
  query: DecisionsQuery | ReviewQueueQuery,
  ports: ListPorts,
): Promise<{ rows: IndexRow[]; nextCursor?: string }> {
  const w = windowOf(query, ports);
  const filter: RowFilter = {
    ...('decision' in query && query.decision ? { decision: query.decision } : {}),
    ...(query.model ? { model: query.model } : {}),
    ...(query.customerId ? { customerId: query.customerId } : {}),
    ...(query.minAmount !== undefined ? { minAmount: query.minAmount } : {}),
    ...(query.maxAmount !== undefined ? { maxAmount: query.maxAmount } : {}),
    aliveAfter: Math.floor(ports.now().getTime() / 1000),
  };
  const filtered = Object.keys(filter).length > 1;
  const rows: IndexRow[] = [];
  if (w.lo > w.hi) return { rows };
  let { day, after } = query.cursor ? decodeCursor(query.cursor) : { day: w.newestDay, after: undefined };
  if (day > w.newestDay || day < w.oldestDay)
    throw new ValidationError('invalid cursor: its day is outside the window');
  for (let queries = 0; queries < DAY_QUERIES_PER_PAGE; queries++) {
    const remaining = query.limit - rows.length;
    const lo = w.lo > `${day}T` ? w.lo : `${day}T00:00:00.000Z`;
    const hi = w.hi < `${day}T23:59:59.999Z` ? w.hi : `${day}T23:59:59.999Z`;
    const out = await ports.index.query({
      list,
      day,
      lo,
      hi,
      filter,
      ...(after ? { after } : {}),
      limit: filtered ? FILTERED_QUERY_LIMIT : remaining,
    });
    const taken = out.rows.slice(0, remaining);
    rows.push(...taken);
    const last = taken.at(-1);
    if (rows.length >= query.limit && last && (taken.length < out.rows.length || out.last)) {
      return { rows, nextCursor: encodeCursor({ day, after: { id: last.transactionId, decidedAt: last.decidedAt } }) };
    }
    if (out.last) {
      after = out.last;
      continue;
    }
    if (day <= w.oldestDay) return { rows };
    day = previousDay(day);
    after = undefined;
    if (rows.length >= query.limit) return { rows, nextCursor: encodeCursor({ day }) };
  }
  return { rows, nextCursor: encodeCursor(after ? { day, after } : { day }) };
}

/** The review state of a review decision from its review item (pending until the outbox, a label or an override). */
export function reviewStateOf(item: ReviewItem | undefined): ReviewState {
  if (item?.status !== 'resolved') return { status: 'pending' };
  return {
    status: 'resolved',
    ...(item.resolvedBy ? { resolvedBy: item.resolvedBy } : {}),
    ...(item.resolvedAt ? { resolvedAt: item.resolvedAt } : {}),
  };
}

const summaryOf = (row: IndexRow): DecisionSummary => {
  const { latencyMs: _l, ...summary } = row;
  return summary;
};

/** GET /v1/decisions: a page of decisions with each one's review state and override head (one BatchGet a page). */
export async function listDecisions(query: DecisionsQuery, ports: ListPorts): Promise<DecisionsPage> {
  const { rows, nextCursor } = await walkDays('decisions', query, ports);
  const reviews = rows.length > 0 ? await ports.reviews.getMany(rows.map((r) => r.transactionId)) : new Map();
  const items = rows.map((row): DecisionSummary => {
    const item = reviews.get(row.transactionId);
    return {
      ...summaryOf(row),
      ...(row.decision === 'review' ? { review: reviewStateOf(item) } : {}),
      ...(item?.overriddenTo ? { overriddenTo: item.overriddenTo } : {}),
    };
  });
  return nextCursor ? { items, nextCursor } : { items };
}

/** GET /v1/review-queue: review decisions still pending, newest first (the index holds only pending items). */
export async function reviewQueue(query: ReviewQueueQuery, ports: ListPorts): Promise<DecisionsPage> {
  const { rows, nextCursor } = await walkDays('queue', query, ports);
  const items = rows.map((row): DecisionSummary => ({ ...summaryOf(row), review: { status: 'pending' } }));
  return nextCursor ? { items, nextCursor } : { items };
}

export interface AuditPorts {
  readonly decisions: RecordReader;
  readonly reviews: ReviewItems;
  readonly labels: LabelReader;
}

/** Every override of a decision, oldest first: the numbers from 1 while they are present (the head is a hint). */
async function overridesOf(id: string, head: number, reviews: ReviewItems): Promise<OverrideRecord[]> {
  const out: OverrideRecord[] = [];
  let to = Math.min(Math.max(head + 1, 4), MAX_OVERRIDES);
  for (let from = 1; from <= MAX_OVERRIDES; from = to + 1, to = Math.min(to + 25, MAX_OVERRIDES)) {
    const found = await reviews.overrides(id, from, to);
    for (let n = from; n <= to; n++) {
      const record = found.get(n);
      if (!record) return out;
      out.push(record);
    }
  }
  return out;
}

/** GET /v1/decisions/{id}/audit. */
export async function auditTrail(id: string, ports: AuditPorts): Promise<AuditTrail> {
  const record = await ports.decisions.get(id);
  if (!record) throw new NotFoundError(`no decision for transaction ${id}`);
  const [items, label] = await Promise.all([ports.reviews.getMany([id]), ports.labels.get(id)]);
  const item = items.get(id);
  const overrides = await overridesOf(id, item?.overrideCount ?? 0, ports.reviews);
  let review: ReviewState | undefined;
  if (record.decision === 'review') {
    review = reviewStateOf(item);
    // The review item's write may trail the label or the override that resolved it: the records decide.
    const first = overrides[0];
    if (review.status === 'pending' && first) {
      review = { status: 'resolved', resolvedBy: 'override', resolvedAt: first.overriddenAt };
    } else if (review.status === 'pending' && label) {
      review = { status: 'resolved', resolvedBy: 'label', resolvedAt: label.recordedAt };
    }
  }
  return {
    transactionId: id,
    overrides,
    ...(label ? { label } : {}),
    ...(review ? { review } : {}),
    effectiveDecision: overrides.at(-1)?.decision ?? record.decision,
  };
}

// ---- GET /v1/stats/live
const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;

/** Per-minute figures over the last `minutes`, from at most LIVE_STATS_MAX_ITEMS of the newest decisions. */
export async function liveStats(minutes: number, ports: ListPorts): Promise<LiveStats> {
  const now = ports.now().getTime();
  const firstMinute = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
  const buckets = new Map<number, { approve: number; review: number; decline: number; latencies: number[] }>();
  for (let m = 0; m < minutes; m++) {
    buckets.set(firstMinute + m * 60_000, { approve: 0, review: 0, decline: 0, latencies: [] });
  }
  let read = 0;
  let cursor: string | undefined;
  const from = isoOf(firstMinute);
  for (let pages = 0; pages < 20 && read < LIVE_STATS_MAX_ITEMS; pages++) {
    const limit = Math.min(1000, LIVE_STATS_MAX_ITEMS - read);
    const page = await walkDays(
      'decisions',
      { from, limit, ...(cursor ? { cursor } : {}) },
      { ...ports, now: () => new Date(now) },
    );
    read += page.rows.length;
    for (const row of page.rows) {
      const bucket = buckets.get(Math.floor(Date.parse(row.decidedAt) / 60_000) * 60_000);
      if (!bucket) continue;
      bucket[row.decision] += 1;
      if (row.latencyMs !== undefined) bucket.latencies.push(row.latencyMs);
    }
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  const out: LiveMinute[] = [...buckets.entries()].map(([minute, b]) => {
    const total = b.approve + b.review + b.decline;
    const sorted = b.latencies.sort((x, y) => x - y);
    return {
      minute: isoOf(minute),
      approve: b.approve,
      review: b.review,
      decline: b.decline,
      ...(total > 0 ? { flaggedRate: (b.review + b.decline) / total } : {}),
      ...(sorted.length > 0 ? { latencyP50Ms: percentile(sorted, 50), latencyP99Ms: percentile(sorted, 99) } : {}),
    };
  });
  return { windowMinutes: minutes, minutes: out };
}
