// The overrides' port over the decisions table: the audit record, the review item's head, override records.
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDecisionReader } from '../shared/adapters/decision-reader.js';
import { applyOverrideHead, createOverrideItem } from '../shared/adapters/review-items.js';
import { OverrideItem, overrideItemKey, ReviewItem, reviewItemKey } from '../shared/contracts/decisions-table.js';
import type { OverridePorts } from './core.js';

export function dynamoOverridePorts(
  doc: DynamoDBDocumentClient,
  tableName: string,
  now: () => Date = () => new Date(),
): OverridePorts {
  const decisions = new DynamoDecisionReader(doc, tableName, now);
  const get = async (transactionId: string) =>
    (await doc.send(new GetCommand({ TableName: tableName, Key: { transactionId }, ConsistentRead: true }))).Item;
  return {
    decision: (id) => decisions.get(id),
    head: async (id) => {
      const item = await get(reviewItemKey(id));
      if (!item) return { count: 0 };
      const parsed = ReviewItem.parse(item);
      return { count: parsed.overrideCount ?? 0, ...(parsed.overriddenTo ? { decision: parsed.overriddenTo } : {}) };
    },
    override: async (id, n) => {
      const item = await get(overrideItemKey(id, n));
      return item ? OverrideItem.parse(item).record : undefined;
    },
    create: (n, record, expiresAt) => createOverrideItem(doc, tableName, n, record, expiresAt),
    applyHead: (n, record, expiresAt) => applyOverrideHead(doc, tableName, n, record, expiresAt),
    newId: randomUUID,
    now,
  };
}
