// Adapters of the retraining tasks: the ObjectStore port over S3 and the LockStore port over DynamoDB.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LockItem, LockStore } from './coordination.js';

/** DynamoDB lock store: conditional UpdateItem only (no transactions, no TTL: dynalite has neither). */
export class DynamoLockStore implements LockStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.doc.send(command);
      return true;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as { name?: string }).name === 'ConditionalCheckFailedException'
      ) {
        return false;
      }
      throw error;
    }
  }

  tryAcquire(item: Parameters<LockStore['tryAcquire']>[0]) {
    const free = '(attribute_not_exists(holder) OR leaseUntil < :now)';
    const debounce = item.notStartedSince ? ' AND (attribute_not_exists(lastStartedAt) OR lastStartedAt < :since)' : '';
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: item.model },
        UpdateExpression:
          'SET holder = :holder, leaseUntil = :lease, lastStartedAt = :now, lastTrigger = :trigger REMOVE taskToken, pendingVersion, pendingModelPackageArn',
        ConditionExpression: `${free}${debounce}`,
        ExpressionAttributeValues: {
          ':holder': item.holder,
          ':lease': item.leaseUntil,
          ':now': item.now,
          ':trigger': item.trigger,
          ...(item.notStartedSince ? { ':since': item.notStartedSince } : {}),
        },
      }),
    );
  }

  release(model: string, holder: string) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: model },
        UpdateExpression: 'REMOVE holder, leaseUntil, taskToken, pendingVersion, pendingModelPackageArn',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': holder },
      }),
    );
  }

  parkToken(model: string, holder: string, token: { taskToken: string; version: string; modelPackageArn: string }) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: model },
        UpdateExpression: 'SET taskToken = :token, pendingVersion = :version, pendingModelPackageArn = :arn',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: {
          ':holder': holder,
          ':token': token.taskToken,
          ':version': token.version,
          ':arn': token.modelPackageArn,
        },
      }),
    );
  }

  async get(model: string): Promise<LockItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: model }, ConsistentRead: true }),
    );
    return Item as LockItem | undefined;
  }
}
