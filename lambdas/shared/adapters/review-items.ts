// The decisions table's review items and override records, write side: opening a review item (the outbox), claiming
// an override's number and keeping the head (the review service, and the outbox again from the stream so a head write
// lost to a crash is made good), resolving a review item by a label (feedback). Functions, not a class, so each
// bundle keeps only the writes its function is granted.
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DecisionRecord } from '../contracts/api.js';
import {
  DECISIONS_BY_DAY,
  dayBucket,
  type OverrideItem,
  overrideItemKey,
  type ReviewItem,
  reviewItemKey,
  summaryOfRecord,
  utcDay,
} from '../contracts/decisions-table.js';
import type { OverrideRecord } from '../contracts/review.js';

const isConditionFailure = (error: unknown) =>
  // By name, not instanceof: a bundle may hold two copies of the client's error classes.
  (error as { name?: unknown }).name === 'ConditionalCheckFailedException';

/** Runs a conditional write; false when its condition failed. */
async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * Opens the review item of a new `review` decision: pending, in the queue (`q#<day>`), with the row the queue shows.
 * Create-once: false when the item exists (a replay of the stream record, or a label or override got there first and
 * resolved it — it then stays out of the queue).
 */
export function openReviewItem(doc: DynamoDBDocumentClient, tableName: string, r: DecisionRecord): Promise<boolean> {
  const item: ReviewItem = {
    transactionId: reviewItemKey(r.transactionId),
    kind: 'review',
    summary: summaryOfRecord(r),
    status: 'pending',
    dayBucket: dayBucket('queue', utcDay(r.decidedAt)),
    decidedAt: r.decidedAt,
    expiresAt: r.expiresAt,
  };
  return conditionally(() =>
    doc.send(
      new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(transactionId)' }),
    ),
  );
}

/** Writes override number `n` of its decision unless that number is taken: the create-once write is the commit. */
export function createOverrideItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  n: number,
  record: OverrideRecord,
  expiresAt: number,
): Promise<boolean> {
  const item: OverrideItem = {
    transactionId: overrideItemKey(record.transactionId, n),
    kind: 'override',
    record,
    expiresAt,
  };
  return conditionally(() =>
    doc.send(
      new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(transactionId)' }),
    ),
  );
}

/**
 * Moves a decision's override head to override `n` (never back: a newer head stays) and resolves its review item,
 * taking it out of the queue; the first resolution is kept. Idempotent, so the outbox can apply it again.
 */
export async function applyOverrideHead(
  doc: DynamoDBDocumentClient,
  tableName: string,
  n: number,
  record: OverrideRecord,
  expiresAt: number,
): Promise<void> {
  await conditionally(() =>
    doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { transactionId: reviewItemKey(record.transactionId) },
        UpdateExpression:
          'SET kind = :kind, overrideCount = :n, overriddenTo = :d, #status = :resolved, ' +
          'resolvedBy = if_not_exists(resolvedBy, :by), resolvedAt = if_not_exists(resolvedAt, :at), ' +
          'expiresAt = if_not_exists(expiresAt, :exp) REMOVE #bucket',
        ConditionExpression: 'attribute_not_exists(overrideCount) OR overrideCount < :n',
        ExpressionAttributeNames: { '#status': 'status', '#bucket': DECISIONS_BY_DAY.partitionKey },
        ExpressionAttributeValues: {
          ':kind': 'review',
          ':n': n,
          ':d': record.decision,
          ':resolved': 'resolved',
          ':by': 'override',
          ':at': record.overriddenAt,
          ':exp': expiresAt,
        },
      }),
    ),
  );
}

/**
 * Resolves a decision's review item by a label (the first resolution is kept) and takes it out of the queue. Only an
 * existing item is touched: labels arrive for every kind of decision, and only review decisions (or overridden
 * ones) have an item. A label that beats the outbox to a brand-new review decision (≈1 s) leaves it in the queue.
 */
export async function resolveReviewByLabel(
  doc: DynamoDBDocumentClient,
  tableName: string,
  transactionId: string,
  at: string,
): Promise<void> {
  await conditionally(() =>
    doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { transactionId: reviewItemKey(transactionId) },
        UpdateExpression:
          'SET #status = :resolved, resolvedBy = if_not_exists(resolvedBy, :by), ' +
          'resolvedAt = if_not_exists(resolvedAt, :at) REMOVE #bucket',
        ConditionExpression: 'attribute_exists(transactionId)',
        ExpressionAttributeNames: { '#status': 'status', '#bucket': DECISIONS_BY_DAY.partitionKey },
        ExpressionAttributeValues: { ':resolved': 'resolved', ':by': 'label', ':at': at },
      }),
    ),
  );
}
