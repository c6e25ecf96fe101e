// The decisions (audit) table: a create-once write and a TTL-aware read, shared by score, decisions and feedback.
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionRecord } from '../contracts/api.js';

/** Port: the audit record store. */
export interface DecisionStore {
  /** Writes the record unless one exists for the transactionId; returns the existing one instead of overwriting. */
  putIfAbsent(record: DecisionRecord): Promise<{ created: true } | { created: false; existing: DecisionRecord }>;
  /** The record, or undefined when there is none or it has expired (`expiresAt` in the past). */
  get(transactionId: string): Promise<DecisionRecord | undefined>;
}

/** Epoch seconds now; the store compares it with `expiresAt` because DynamoDB deletes expired items only lazily. */
const nowSeconds = (now: () => Date) => Math.floor(now().getTime() / 1000);

export class DynamoDecisionStore implements DecisionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async putIfAbsent(record: DecisionRecord) {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(transactionId)',
        }),
      );
      return { created: true } as const;
    } catch (error) {
      // By name, not instanceof: a bundle may hold two copies of the client's error classes.
      if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
    }
    const existing = await this.read(record.transactionId, true);
    if (!existing) throw new Error(`decision ${record.transactionId} exists but could not be read back`);
    return { created: false, existing } as const;
  }

  async get(transactionId: string) {
    const record = await this.read(transactionId, false);
    if (!record || record.expiresAt <= nowSeconds(this.now)) return undefined;
    return record;
  }

  private async read(transactionId: string, consistent: boolean): Promise<DecisionRecord | undefined> {
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
