// The decisions (audit) table, read side: a TTL-aware read. Its own module so a read-only handler's bundle holds no
// write command (the least-privilege test checks bundles against roles).
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionRecord } from '../contracts/api.js';

/** Port: reads audit records. */
export interface DecisionReader {
  /** The record, or undefined when there is none or it has expired (`expiresAt` in the past). */
  get(transactionId: string): Promise<DecisionRecord | undefined>;
}

/** Epoch seconds now; compared with `expiresAt` because DynamoDB deletes expired items only lazily. */
export const nowSeconds = (now: () => Date) => Math.floor(now().getTime() / 1000);

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
    const parsed = DecisionRecord.safeParse(Item);
    if (!parsed.success) {
      throw new Error(
        `decision ${transactionId} in ${this.tableName} does not match the schema: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }
}
