// In-memory AggregateStore for the core tests: same version semantics as the DynamoDB adapter, with hooks for races.
import type { AggregateStore, EntityKind, StoredAggregate } from '../core.js';

export class MemoryAggregateStore implements AggregateStore {
  readonly items = new Map<string, { state: unknown; version: number }>();
  readonly puts: string[] = [];
  gets = 0;
  /** Called after a read and before the matching write: lets a test slip in a competing writer. */
  beforePut?: (pk: string) => void;

  async get(pk: string): Promise<StoredAggregate | undefined> {
    this.gets++;
    const item = this.items.get(pk);
    // A deep copy, as a real table returns: the core must never rely on sharing objects with the store.
    return item ? { state: structuredClone(item.state), version: item.version } : undefined;
  }

  async put(
    pk: string,
    _kind: EntityKind,
    state: unknown,
    expectedVersion: number | undefined,
  ): Promise<'written' | 'conflict'> {
    this.beforePut?.(pk);
    const current = this.items.get(pk);
    if ((current?.version ?? undefined) !== expectedVersion) return 'conflict';
    this.items.set(pk, { state: structuredClone(state), version: (expectedVersion ?? 0) + 1 });
    this.puts.push(pk);
    return 'written';
  }
}
