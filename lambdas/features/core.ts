// Features use case: fold a stream batch into the aggregate of each entity the model's module declares (e.g. the
// customer and the merchant), one conditional write per entity, idempotent on replays, with a per-record verdict so
// the stream can retry exactly what did not land.
import { Transaction } from '../../models/shared/contracts/transaction.js';
import type { AnyModelModule } from '../../models/shared/module.js';
import { aggregateKey } from '../shared/contracts/features.js';

/** An entity kind, as the model module names it (a key of its `entities`). */
export type EntityKind = string;

/** A stored aggregate and the optimistic-concurrency version it was read at. */
export interface StoredAggregate {
  readonly state: unknown;
  readonly version: number;
}

/** Port: the features table. */
export interface AggregateStore {
  /** Strongly consistent read; undefined when the entity was never seen. */
  get(pk: string): Promise<StoredAggregate | undefined>;
  /**
   * Writes `state` as version `expectedVersion + 1` only if the stored version is still `expectedVersion`
   * (undefined: only if no item exists). Returns 'conflict' when another writer got there first.
   */
  put(
    pk: string,
    kind: EntityKind,
    state: unknown,
    expectedVersion: number | undefined,
  ): Promise<'written' | 'conflict'>;
}

/** A raw stream record: its id (Kinesis sequence number) and base64 data, as the event source mapping delivers it. */
export interface RawStreamRecord {
  readonly recordId: string;
  readonly data: string;
}

/** The record is not a Transaction (bad JSON or schema): retrying cannot help, the on-failure destination keeps it. */
export class PoisonRecordError extends Error {
  override readonly name = 'PoisonRecordError';
}

/** Optimistic-concurrency retries ran out: other writers kept winning. Retrying the record later is safe. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
}

/** The stored item holds something that is not an aggregate state of the version this code understands. */
export class CorruptAggregateError extends Error {
  override readonly name = 'CorruptAggregateError';
}

export interface UpdateDeps {
  readonly store: AggregateStore;
  /** The model whose entities' state the stream folds into. */
  readonly module: AnyModelModule;
  /** Conditional-write attempts per entity before giving up. @default 6 */
  readonly maxAttempts?: number;
  /** Entities updated at once. @default 16 */
  readonly concurrency?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface BatchOutcome {
  /** Record id → why it failed. Records absent from the map landed (or were already applied). */
  readonly failures: Map<string, Error>;
  readonly writes: number;
  /** Entities whose every record had been applied before (a replay): read, not rewritten. */
  readonly unchanged: number;
  /** Conditional writes lost to another writer and retried. */
  readonly conflicts: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes and validates one stream record; throws PoisonRecordError with the reason. */
export function decodeTransaction(data: string): Transaction {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(Buffer.from(data, 'base64')));
  } catch (error) {
    throw new PoisonRecordError(`record data is not UTF-8 JSON: ${(error as Error).message}`);
  }
  const parsed = Transaction.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.join('.') || '(root)';
    throw new PoisonRecordError(`record is not a Transaction: ${where}: ${first?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

type Entity = AnyModelModule['entities'][string];

/** The stored state, refused unless it is an object of the version the entity's empty state has. */
function asState(group: Group, stored: StoredAggregate | undefined): unknown {
  const empty: unknown = group.entity.empty();
  if (!stored) return empty;
  const version = (empty as { version?: unknown }).version;
  const s = stored.state as { version?: unknown } | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s) || s.version !== version) {
    throw new CorruptAggregateError(`stored ${group.kind} aggregate is not a version-${String(version)} state`);
  }
  return stored.state;
}

function fold(entity: Entity, state: unknown, txns: readonly Transaction[]): unknown {
  let next = state;
  for (const txn of txns) next = entity.fold(next, txn);
  return next;
}

interface Group {
  readonly kind: EntityKind;
  readonly entity: Entity;
  readonly pk: string;
  readonly txns: Transaction[];
  readonly recordIds: string[];
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies one entity's transactions with read → fold → conditional write, retrying lost races. */
async function updateGroup(
  group: Group,
  deps: UpdateDeps,
  stats: { writes: number; unchanged: number; conflicts: number },
): Promise<void> {
  const maxAttempts = deps.maxAttempts ?? 6;
  const sleep = deps.sleep ?? realSleep;
  const random = deps.random ?? Math.random;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const stored = await deps.store.get(group.pk);
    const before = asState(group, stored);
    const after = fold(group.entity, before, group.txns);
    // The feature module returns the very same object for an id it has seen: nothing new, so no write.
    if (after === before && stored) {
      stats.unchanged++;
      return;
    }
    if ((await deps.store.put(group.pk, group.kind, after, stored?.version)) === 'written') {
      stats.writes++;
      return;
    }
    stats.conflicts++;
    if (attempt < maxAttempts) await sleep(Math.floor(random() * Math.min(200, 10 * 2 ** attempt)));
  }
  throw new ConcurrentUpdateError(`${group.pk}: lost ${maxAttempts} conditional writes in a row to other writers`);
}

async function runBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Applies a batch of stream records to the aggregates. Records of one entity (a customer, a merchant) are folded
 * together and written once; a record succeeds only if the write of every entity it names landed. Poison records
 * fail alone and never block the others.
 */
export async function updateAggregates(records: readonly RawStreamRecord[], deps: UpdateDeps): Promise<BatchOutcome> {
  const failures = new Map<string, Error>();
  const groups = new Map<string, Group>();
  const entities = Object.entries(deps.module.entities);
  const addTo = (kind: EntityKind, entity: Entity, txn: Transaction, recordId: string) => {
    const pk = aggregateKey(kind, entity.key(txn));
    let group = groups.get(pk);
    if (!group) {
      group = { kind, entity, pk, txns: [], recordIds: [] };
      groups.set(pk, group);
    }
    group.txns.push(txn);
    group.recordIds.push(recordId);
  };
  for (const record of records) {
    try {
      const txn = decodeTransaction(record.data);
      for (const [kind, entity] of entities) addTo(kind, entity, txn, record.recordId);
    } catch (error) {
      failures.set(record.recordId, error as Error);
    }
  }

  const stats = { writes: 0, unchanged: 0, conflicts: 0 };
  await runBounded([...groups.values()], deps.concurrency ?? 16, async (group) => {
    try {
      await updateGroup(group, deps, stats);
    } catch (error) {
      for (const id of group.recordIds) if (!failures.has(id)) failures.set(id, error as Error);
    }
  });
  return { failures, ...stats };
}
