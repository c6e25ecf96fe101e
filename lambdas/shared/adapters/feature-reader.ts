// The features table, read side of the real-time routes: every entity's online state a model keys by the request.
import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AnyModelModule } from '../../../models/shared/module.js';
import { aggregateKey } from '../contracts/features.js';
import type { FeatureReader } from '../inference.js';

/**
 * Refuses an item that is not a state of the feature module's current shape (every key of its empty state, same
 * version): a half-migrated table must fail loudly, not score with garbage. Derived from the module, so it follows it.
 */
function checkState(pk: string, state: unknown, empty: Record<string, unknown>): void {
  const missing =
    state && typeof state === 'object' ? Object.keys(empty).filter((k) => !(k in state)) : ['(not an object)'];
  const version = (state as { version?: unknown } | undefined)?.version;
  if (missing.length > 0 || version !== empty.version) {
    throw new Error(
      `features item ${pk} does not hold a v${String(empty.version)} state (version ${String(version)}, missing ${missing.join(', ') || 'nothing'})`,
    );
  }
}

/** Reads every entity's aggregate in one BatchGetItem; a missing item is the empty state (an entity never seen). */
export class DynamoFeatureReader implements FeatureReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly entities: AnyModelModule['entities'],
  ) {}

  async read(request: unknown): Promise<Record<string, unknown>> {
    const wanted = Object.entries(this.entities).map(([kind, entity]) => ({
      kind,
      entity,
      pk: aggregateKey(kind, entity.key(request)),
    }));
    const keys = [...new Set(wanted.map((w) => w.pk))].map((pk) => ({ pk }));
    const items = new Map<string, Record<string, unknown>>();
    let pending: Record<string, { Keys: Record<string, unknown>[] }> | undefined = {
      [this.tableName]: { Keys: keys },
    };
    // BatchGetItem may return keys unprocessed under load; a key per entity means at most a couple of rounds.
    for (let attempt = 0; pending && attempt < 5; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
      const out: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: pending }));
      for (const item of out.Responses?.[this.tableName] ?? []) items.set(String(item.pk), item);
      const unprocessed: Record<string, unknown>[] | undefined = out.UnprocessedKeys?.[this.tableName]?.Keys;
      pending = unprocessed?.length ? { [this.tableName]: { Keys: unprocessed } } : undefined;
    }
    if (pending) throw new Error(`features table ${this.tableName} left keys unprocessed after 5 attempts`);
    return Object.fromEntries(
      wanted.map(({ kind, entity, pk }) => {
        const empty: unknown = entity.empty();
        const item = items.get(pk);
        if (!item) return [kind, empty];
        checkState(pk, item.state, empty as Record<string, unknown>);
        return [kind, item.state];
      }),
    );
  }
}
