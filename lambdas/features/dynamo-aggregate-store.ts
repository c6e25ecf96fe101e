// Adapter: the AggregateStore port over the features table, versioned items written with a condition expression.
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AggregateStore, EntityKind, StoredAggregate } from './core.js';

/**
 * The item layout readers (the score service) rely on: `{ pk: '<kind>#<id>', kind, state: <the model module's state
 * of that entity kind, as a map>, version, updatedAt }`, e.g. `customer#c-1`.
 */
export interface AggregateItem {
  readonly pk: string;
  readonly kind: EntityKind;
  readonly state: unknown;
  readonly version: number;
  readonly updatedAt: string;
}

export class DynamoAggregateStore implements AggregateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(pk: string): Promise<StoredAggregate | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const version = Item.version;
    if (typeof version !== 'number' || !Number.isInteger(version)) {
      throw new Error(`features item ${pk} has no integer version attribute`);
    }
    return { state: Item.state, version };
  }

  async put(
    pk: string,
    kind: EntityKind,
    state: unknown,
    expectedVersion: number | undefined,
  ): Promise<'written' | 'conflict'> {
    const item: AggregateItem = {
      pk,
      kind,
      state,
      version: (expectedVersion ?? 0) + 1,
      updatedAt: this.now().toISOString(),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
      return 'written';
    } catch (error) {
      // By name, not instanceof: bundles may hold two copies of the client's error classes.
      if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return 'conflict';
      throw error;
    }
  }
}
