// The decisions (audit) table, read side: a TTL-aware read. Its own module so a read-only handler's bundle holds no
// write command (the least-privilege test checks bundles against roles).
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionRecord } from '../contracts/api.js';
import { withoutIndexAttributes } from '../contracts/decisions-table.js';

/** Port: reads audit records. */
export interface DecisionReader {
  /** The record, or undefined when there is none or it has expired (`expiresAt` in the past). */
  get(transactionId: string): Promise<DecisionRecord | undefined>;
}

/** Epoch seconds now; compared with `expiresAt` because DynamoDB deletes expired items only lazily. */
export const nowSeconds = (now: () => Date) => Math.floor(now().getTime() / 1000);

/**
 * A decisions-table item as the audit record it holds: the index attribute the store adds (`dayBucket`) is the
 * table's, not the record's. Throws when the item is not a DecisionRecord.
 */
export function decisionOfItem(item: Record<string, unknown>, what: string): DecisionRecord {
  const parsed = DecisionRecord.safeParse(withoutIndexAttributes(item));
  if (!parsed.success) throw new Error(`${what} does not match the schema: ${parsed.error.message}`);
  return parsed.data;
}

export class DynamoDecisionReader implements DecisionReader {
  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly tableName: string,
    protected readonly now: () => Date = () => new Date(),
  ) {}

  async get(transactionId: string) {
    const record = await this.read(transactionId, false);
    if (!record || record.expiresAt <= nowSeconds(this.now)) return undefined;
    return record;
  }

  protected async read(transactionId: string, consistent: boolean): Promise<DecisionRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { transactionId }, ConsistentRead: consistent }),
    );
    if (!Item) return undefined;
    return decisionOfItem(Item, `decision ${transactionId} in ${this.tableName}`);
  }
}
