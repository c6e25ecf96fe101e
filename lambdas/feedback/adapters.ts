// Adapters for feedback's ports: the labels table (conditional put, newest wins) and the bus; the ground-truth bucket is
// the shared JSON Lines sink (lambdas/shared/adapters/jsonl-sink.ts).
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EventPublisher } from '../shared/adapters/event-publisher.js';
import { busEvent, DETAIL_TYPES, EVENT_SOURCES } from '../shared/contracts/events.js';
import type { LabelAnnouncer, LabelStore, StoredLabel } from './core.js';

/** LabelReported through the EventPublisher port, as aims.feedback. */
export const busAnnouncer = (events: EventPublisher): LabelAnnouncer => ({
  labelReported: (label) => events.publish([busEvent(DETAIL_TYPES.LabelReported, EVENT_SOURCES.feedback, label)]),
});

export class DynamoLabelStore implements LabelStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putIfNotOlder(label: StoredLabel): Promise<{ stored: boolean; current: StoredLabel }> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: label,
          // Equal timestamps pass, so a retried request rewrites the same label instead of reporting itself stale.
          ConditionExpression: 'attribute_not_exists(transactionId) OR reportedAtMs <= :ms',
          ExpressionAttributeValues: { ':ms': label.reportedAtMs },
        }),
      );
      return { stored: true, current: label };
    } catch (error) {
      if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
    }
    // A newer label is stored. Read it (dynalite lacks ReturnValuesOnConditionCheckFailure) to report what holds.
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { transactionId: label.transactionId }, ConsistentRead: true }),
    );
    if (!Item) throw new Error(`label ${label.transactionId} was superseded but is no longer stored`);
    return { stored: false, current: Item as StoredLabel };
  }
}
