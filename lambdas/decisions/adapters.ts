// Adapters of the decisions read side: the `byDay` index (Query), review items and override records (BatchGetItem)
// and the labels table (GetItem). Reads only: this function's role holds no write.
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  DECISIONS_BY_DAY,
  dayBucket,
  OverrideItem,
  overrideItemKey,
  ReviewItem,
  reviewItemKey,
} from '../shared/contracts/decisions-table.js';
import type { LabelRecord, OverrideRecord } from '../shared/contracts/review.js';
import type { DayIndex, DayQuery, IndexPosition, IndexRow, LabelReader, ReviewItems } from './core.js';

/** Where each filtered field lives: top level on a decision record, under `summary` on a review item. */
const FIELDS = {
  decisions: { decision: 'decision', model: 'model.name', customerId: 'customerId', amount: 'transaction.amount' },
  queue: {
    decision: 'summary.decision',
    model: 'summary.model.name',
    customerId: 'summary.customerId',
    amount: 'summary.amount',
  },
} as const;

export class DynamoDayIndex implements DayIndex {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async query(q: DayQuery): Promise<{ rows: IndexRow[]; last?: IndexPosition }> {
    const names: Record<string, string> = { '#bucket': DECISIONS_BY_DAY.partitionKey, '#at': DECISIONS_BY_DAY.sortKey };
    const values: Record<string, unknown> = {
      ':bucket': dayBucket(q.list, q.day),
      ':lo': q.lo,
      ':hi': q.hi,
      ':alive': q.filter.aliveAfter,
    };
    const queue = q.list === 'queue';
    // Names are registered as they are used: DynamoDB refuses an expression attribute name nothing uses.
    const path = (field: keyof (typeof FIELDS)['decisions']) =>
      FIELDS[q.list][field]
        .split('.')
        .map((part) => {
          names[`#${part}`] = part;
          return `#${part}`;
        })
        .join('.');
    const conditions = ['expiresAt > :alive'];
    const where = (field: keyof (typeof FIELDS)['decisions'], op: string, name: string, value: unknown) => {
      if (value === undefined) return;
      conditions.push(`${path(field)} ${op} ${name}`);
      values[name] = value;
    };
    const f = q.filter;
    where('decision', '=', ':decision', f.decision);
    where('model', '=', ':model', f.model);
    where('customerId', '=', ':customer', f.customerId);
    where('amount', '>=', ':min', f.minAmount);
    where('amount', '<=', ':max', f.maxAmount);

    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: DECISIONS_BY_DAY.indexName,
        KeyConditionExpression: '#bucket = :bucket AND #at BETWEEN :lo AND :hi',
        FilterExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: q.limit,
        ...(q.after
          ? {
              ExclusiveStartKey: {
                transactionId: queue ? reviewItemKey(q.after.id) : q.after.id,
                [DECISIONS_BY_DAY.partitionKey]: dayBucket(q.list, q.day),
                [DECISIONS_BY_DAY.sortKey]: q.after.decidedAt,
              },
            }
          : {}),
      }),
    );
    const rows = (out.Items ?? []).map((item) => (queue ? queueRow(item) : decisionRow(item)));
    const key = out.LastEvaluatedKey;
    if (!key) return { rows };
    const id = String(key.transactionId);
    return { rows, last: { id: queue ? id.slice('review#'.length) : id, decidedAt: String(key.decidedAt) } };
  }
}

function queueRow(item: Record<string, unknown>): IndexRow {
  const parsed = ReviewItem.safeParse(item);
  if (!parsed.success || !parsed.data.summary) {
    throw new Error(`review item ${String(item.transactionId)} is not a pending review item: ${parsed.error?.message}`);
  }
  return parsed.data.summary;
}

function decisionRow(item: Record<string, unknown>): IndexRow {
  const t = item.transaction as { merchantId: string; amount: number; currency: string };
  return {
    transactionId: item.transactionId as string,
    customerId: item.customerId as string,
    merchantId: t.merchantId,
    amount: t.amount,
    currency: t.currency,
    decision: item.decision as IndexRow['decision'],
    score: item.score as number,
    model: item.model as IndexRow['model'],
    degraded: item.degraded as boolean,
    decidedAt: item.decidedAt as string,
    latencyMs: item.latencyMs as number,
  };
}

/** BatchGetItem takes at most 100 keys; unprocessed keys are asked again a bounded number of times. */
const BATCH_GET_MAX = 100;
const BATCH_GET_ROUNDS = 5;

async function batchGet(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly string[],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
    let pending = keys.slice(i, i + BATCH_GET_MAX).map((transactionId) => ({ transactionId }));
    for (let round = 0; pending.length > 0; round++) {
      if (round === BATCH_GET_ROUNDS) throw new Error(`${pending.length} keys still unprocessed after ${round} rounds`);
      const out = await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending } } }));
      items.push(...(out.Responses?.[tableName] ?? []));
      pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as { transactionId: string }[];
    }
  }
  return items;
}

export class DynamoReviewItems implements ReviewItems {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getMany(ids: readonly string[]): Promise<Map<string, ReviewItem>> {
    const items = await batchGet(this.doc, this.tableName, [...new Set(ids)].map(reviewItemKey));
    return new Map(
      items.map((item) => {
        const parsed = ReviewItem.parse(item);
        return [parsed.transactionId.slice('review#'.length), parsed];
      }),
    );
  }

  async overrides(id: string, from: number, to: number): Promise<Map<number, OverrideRecord>> {
    const keys: string[] = [];
    for (let n = from; n <= to; n++) keys.push(overrideItemKey(id, n));
    const items = await batchGet(this.doc, this.tableName, keys);
    return new Map(
      items.map((item) => {
        const parsed = OverrideItem.parse(item);
        return [Number(parsed.transactionId.slice(parsed.transactionId.lastIndexOf('#') + 1)), parsed.record];
      }),
    );
  }
}

/** The labels table as feedback stores it (the Label, reportedAtMs, storedAt and the actor when a person reported). */
export class DynamoLabelReader implements LabelReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(transactionId: string): Promise<LabelRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { transactionId } }));
    if (!Item) return undefined;
    return {
      transactionId: Item.transactionId,
      isFraud: Item.isFraud,
      source: Item.source ?? 'chargeback',
      reportedAt: Item.reportedAt,
      recordedAt: Item.storedAt,
      ...(Item.actor ? { actor: Item.actor } : {}),
    };
  }
}
