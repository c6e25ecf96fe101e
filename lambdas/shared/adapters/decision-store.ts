// The decisions (audit) table, write side: a create-once write (plus the reads of DecisionReader), used by score.
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionRecord } from '../contracts/api.js';
import { DECISIONS_BY_DAY, dayBucket, utcDay } from '../contracts/decisions-table.js';
import { type DecisionReader, DynamoDecisionReader, nowSeconds } from './decision-reader.js';

export { type DecisionReader, DynamoDecisionReader } from './decision-reader.js';

/** Port: the audit record store. */
export interface DecisionStore extends DecisionReader {
  /** Writes the record unless one exists for the transactionId; returns the existing one instead of overwriting. */
  putIfAbsent(record: DecisionRecord): Promise<{ created: true } | { created: false; existing: DecisionRecord }>;
}

/**
 * Writes an item of the decisions table unless one exists under its key (`transactionId`): true when it was written,
 * false when another item holds the key. The conditional write is the commit point of a decision or a prediction.
 */
export async function putAuditItemOnce(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: { readonly transactionId: string },
): Promise<boolean> {
  try {
    await doc.send(
      new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(transactionId)' }),
    );
    return true;
  } catch (error) {
    // By name, not instanceof: a bundle may hold two copies of the client's error classes.
    if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
    return false;
  }
}

export class DynamoDecisionStore extends DynamoDecisionReader implements DecisionStore {
  async putIfAbsent(record: DecisionRecord) {
    // The day bucket puts the record in the `byDay` index (the decisions list and the live figures read it).
    const item = { ...record, [DECISIONS_BY_DAY.partitionKey]: dayBucket('decisions', utcDay(record.decidedAt)) };
    if (await putAuditItemOnce(this.doc, this.tableName, item)) return { created: true } as const;
    const existing = await this.read(record.transactionId, true);
    if (!existing) throw new Error(`decision ${record.transactionId} exists but could not be read back`);
    return { created: false, existing } as const;
  }
}

/** In-memory DecisionStore for core tests and tools. */
export class InMemoryDecisionStore implements DecisionStore {
  readonly records = new Map<string, DecisionRecord>();
  constructor(private readonly now: () => Date = () => new Date()) {}

  async putIfAbsent(record: DecisionRecord) {
    const existing = this.records.get(record.transactionId);
    if (existing) return { created: false, existing } as const;
    this.records.set(record.transactionId, DecisionRecord.parse(record));
    return { created: true } as const;
  }

  async get(transactionId: string) {
    const record = this.records.get(transactionId);
    if (!record || record.expiresAt <= nowSeconds(this.now)) return undefined;
    return record;
  }
}
