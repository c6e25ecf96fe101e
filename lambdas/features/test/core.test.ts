// Features core with an in-memory table: aggregates land, replays count nothing twice, poison and races are handled.
import {
  applyToCustomer,
  applyToMerchant,
  type CustomerState,
  emptyCustomerState,
  emptyMerchantState,
  idHash,
  type MerchantState,
} from '../../../models/fraud-detector/src/features.js';
import fraudDetector from '../../../models/fraud-detector/src/module.js';
import type { Transaction } from '../../../models/shared/contracts/transaction.js';
import {
  ConcurrentUpdateError,
  decodeTransaction,
  PoisonRecordError,
  type RawStreamRecord,
  updateAggregates,
} from '../core.js';
import { MemoryAggregateStore } from './memory-store.js';

const txn = (n: number, customerId: string, merchantId: string): Transaction => ({
  transactionId: `t-${n}`,
  customerId,
  merchantId,
  merchantCategory: 'retail',
  amount: 20 + n,
  currency: 'EUR',
  country: 'FR',
  channel: 'online',
  timestamp: new Date(Date.UTC(2026, 10, 2, 9, n)).toISOString(),
});
const record = (t: Transaction, seq: number): RawStreamRecord => ({
  recordId: String(seq).padStart(10, '0'),
  data: Buffer.from(JSON.stringify(t)).toString('base64'),
});
/** The fraud detector's entities (customer, merchant), folded without waiting between retries. */
const noSleep = { module: fraudDetector, sleep: async () => {}, random: () => 0 };

const customerState = (store: MemoryAggregateStore, id: string) =>
  store.items.get(`customer#${id}`)?.state as CustomerState;
const merchantState = (store: MemoryAggregateStore, id: string) =>
  store.items.get(`merchant#${id}`)?.state as MerchantState;

describe('updateAggregates', () => {
  const batch = [txn(1, 'c1', 'm1'), txn(2, 'c1', 'm2'), txn(3, 'c2', 'm1'), txn(4, 'c1', 'm1')];
  const records = batch.map(record);

  it('GIVEN a batch WHEN applied THEN each entity is written once and equals the feature module fold', async () => {
    const store = new MemoryAggregateStore();
    const outcome = await updateAggregates(records, { store, ...noSleep });
    expect(outcome.failures.size).toBe(0);
    // c1, c2, m1, m2: one write each although c1 and m1 have several records.
    expect(store.puts.sort()).toEqual(['customer#c1', 'customer#c2', 'merchant#m1', 'merchant#m2']);
    expect(outcome).toMatchObject({ writes: 4, unchanged: 0, conflicts: 0 });

    const expectedC1 = [batch[0], batch[1], batch[3]].reduce(
      (s, t) => applyToCustomer(s, t as Transaction),
      emptyCustomerState(),
    );
    const expectedM1 = [batch[0], batch[2], batch[3]].reduce(
      (s, t) => applyToMerchant(s, t as Transaction),
      emptyMerchantState(),
    );
    expect(customerState(store, 'c1')).toEqual(expectedC1);
    expect(customerState(store, 'c1').count).toBe(3);
    expect(merchantState(store, 'm1')).toEqual(expectedM1);
    expect(store.items.get('customer#c1')?.version).toBe(1);
  });

  it('GIVEN a batch already applied WHEN replayed THEN nothing counts twice and no item is rewritten', async () => {
    const store = new MemoryAggregateStore();
    await updateAggregates(records, { store, ...noSleep });
    const snapshot = structuredClone([...store.items]);
    store.puts.length = 0;

    const replay = await updateAggregates(records, { store, ...noSleep });
    expect(replay.failures.size).toBe(0);
    expect(replay).toMatchObject({ writes: 0, unchanged: 4 });
    expect(store.puts).toEqual([]);
    expect([...store.items]).toEqual(snapshot);
  });

  it('GIVEN a replay mixed with new records WHEN applied THEN only the new ones count', async () => {
    const store = new MemoryAggregateStore();
    await updateAggregates(records, { store, ...noSleep });
    const more = [...records, record(txn(5, 'c1', 'm1'), 5)];
    await updateAggregates(more, { store, ...noSleep });
    expect(customerState(store, 'c1').count).toBe(4);
    expect(store.items.get('customer#c1')?.version).toBe(2);
    expect(store.items.get('customer#c2')?.version).toBe(1);
  });

  it('GIVEN poison records (bad JSON, bad schema) WHEN applied THEN only they fail and the rest land', async () => {
    const store = new MemoryAggregateStore();
    const poison: RawStreamRecord[] = [
      { recordId: 'p-json', data: Buffer.from('{not json').toString('base64') },
      { recordId: 'p-schema', data: Buffer.from(JSON.stringify({ ...batch[0], amount: -1 })).toString('base64') },
    ];
    const outcome = await updateAggregates([poison[0] as RawStreamRecord, ...records, poison[1] as RawStreamRecord], {
      store,
      ...noSleep,
    });
    expect([...outcome.failures.keys()].sort()).toEqual(['p-json', 'p-schema']);
    expect(outcome.failures.get('p-json')).toBeInstanceOf(PoisonRecordError);
    expect(outcome.failures.get('p-schema')?.message).toMatch(/amount/);
    expect(customerState(store, 'c1').count).toBe(3);
  });

  it('GIVEN another writer wins the first race WHEN applied THEN the write is retried on the fresh item and both updates survive', async () => {
    const store = new MemoryAggregateStore();
    let raced = false;
    store.beforePut = (pk) => {
      if (pk === 'customer#c1' && !raced) {
        raced = true;
        // A concurrent batch (another shard's consumer, or a retry) lands a different transaction first.
        const other = applyToCustomer(emptyCustomerState(), txn(99, 'c1', 'm9'));
        store.items.set(pk, { state: other, version: 1 });
      }
    };
    const outcome = await updateAggregates(records, { store, ...noSleep });
    expect(outcome.failures.size).toBe(0);
    expect(outcome.conflicts).toBe(1);
    const c1 = customerState(store, 'c1');
    expect(c1.count).toBe(4);
    expect(c1.seen).toEqual(expect.arrayContaining(['t-99', 't-1', 't-2', 't-4'].map(idHash)));
    expect(store.items.get('customer#c1')?.version).toBe(2);
  });

  it('GIVEN an entity that always loses the race WHEN applied THEN only its records fail, with ConcurrentUpdateError', async () => {
    const store = new MemoryAggregateStore();
    store.beforePut = (pk) => {
      if (pk === 'merchant#m2') {
        const cur = store.items.get(pk);
        store.items.set(pk, { state: cur?.state ?? emptyMerchantState(), version: (cur?.version ?? 0) + 1 });
      }
    };
    const outcome = await updateAggregates(records, { store, maxAttempts: 3, ...noSleep });
    // Only t-2 touches m2; its customer write (c1) landed, which a retry will find already applied.
    expect([...outcome.failures.keys()]).toEqual([records[1]?.recordId]);
    expect(outcome.failures.get(records[1]?.recordId as string)).toBeInstanceOf(ConcurrentUpdateError);
    expect(outcome.conflicts).toBe(3);
    expect(customerState(store, 'c1').count).toBe(3);
  });

  it('GIVEN concurrent batches for the same entities WHEN run in parallel THEN no update is lost', async () => {
    const store = new MemoryAggregateStore();
    const a = Array.from({ length: 20 }, (_, i) => record(txn(i, 'c1', 'm1'), i));
    const b = Array.from({ length: 20 }, (_, i) => record(txn(100 + i, 'c1', 'm1'), 100 + i));
    const results = await Promise.all([
      updateAggregates(a, { store, ...noSleep }),
      updateAggregates(b, { store, ...noSleep }),
    ]);
    expect(results.every((r) => r.failures.size === 0)).toBe(true);
    expect(customerState(store, 'c1').count).toBe(40);
    expect(merchantState(store, 'm1').seen).toHaveLength(40);
  });

  it('GIVEN a stored item of an unknown layout WHEN applied THEN its records fail instead of being overwritten', async () => {
    const store = new MemoryAggregateStore();
    store.items.set('customer#c2', { state: { version: 7 }, version: 3 });
    const outcome = await updateAggregates(records, { store, ...noSleep });
    expect([...outcome.failures.keys()]).toEqual([records[2]?.recordId]);
    expect(outcome.failures.get(records[2]?.recordId as string)?.message).toMatch(/not a version-1 state/);
    expect(store.items.get('customer#c2')?.version).toBe(3);
  });
});

describe('decodeTransaction', () => {
  it('GIVEN a base64 JSON transaction WHEN decoded THEN it round-trips', () => {
    const t = txn(1, 'c1', 'm1');
    expect(decodeTransaction(Buffer.from(JSON.stringify(t)).toString('base64'))).toEqual(t);
  });
  it('GIVEN invalid UTF-8 WHEN decoded THEN PoisonRecordError', () => {
    expect(() => decodeTransaction(Buffer.from([0xff, 0xfe, 0x7b]).toString('base64'))).toThrow(PoisonRecordError);
  });
});
