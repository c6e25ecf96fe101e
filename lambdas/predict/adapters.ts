// Adapter of the predict route's own port: prediction audit records in the decisions table (the features reader and the
// model endpoint are every model route's: lambdas/shared/model-route.ts).
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { putAuditItemOnce } from '../shared/adapters/decision-store.js';
import { PredictionRecord } from '../shared/contracts/api.js';
import type { PredictionStore } from './core.js';

/** Prediction audit records, created once per audit id beside the decisions (the outbox relays both). */
export class DynamoPredictionStore implements PredictionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putIfAbsent(record: PredictionRecord) {
    if (await putAuditItemOnce(this.doc, this.tableName, record)) return { created: true } as const;
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { transactionId: record.transactionId }, ConsistentRead: true }),
    );
    const parsed = PredictionRecord.safeParse(Item);
    if (!parsed.success) {
      throw new Error(`${record.transactionId} exists in ${this.tableName} but is no prediction record`);
    }
    return { created: false, existing: parsed.data } as const;
  }
}
