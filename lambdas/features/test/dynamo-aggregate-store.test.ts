// Aggregate store against dynalite with the real SDK: versioned conditional writes, no lost updates, no needless rewrites.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  applyToCustomer,
  type CustomerState,
  emptyCustomerState,
  emptyMerchantState,
} from '../../../models/fraud-detector/src/features.js';
import module from '../../../models/fraud-detector/src/module.js';
import type { Transaction } from '../../../models/shared/contracts/transaction.js';
import { dynamoDocumentClient } from '../../shared/aws.js';
import { type RawStreamRecord, updateAggregates } from '../core.js';
import { DynamoAggregateStore } from '../dynamo-aggregate-store.js';
import { type LocalServer, startDynalite } from './local-servers.js';

let server: LocalServer;
let doc: DynamoDBDocumentClient;
let tableNo = 0;

beforeAll(async () => {
  server = await startDynalite();
  doc = dynamoDocumentClient(server.clientOptions);
});
afterAll(async () => {
  doc.destroy();
  await server.close();
});

/** A features table with the contract's key schema (pk: S). */
async function newTable(): Promise<string> {
  const name = `features-${++tableNo}`;
  const raw = new DynamoDBClient(server.clientOptions);
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  raw.destroy();
  return name;
}

const txn = (n: number, customerId: string, merchantId: string): Transaction => ({
  transactionId: `t-${n}`,
  customerId,
  merchantId,
  merchantCategory: 'electronics',
  amount: 3 + (n % 40),
  currency: 'EUR',
  country: n % 5 === 0 ? 'ES' : 'DE',
  channel: 'contactless',
  deviceId: `d-${n % 3}`,
  timestamp: new Date(Date.UTC(2026, 10, 3, 8, 0, 0) + n * 61_000).toISOString(),
});
const record = (t: Transaction, seq: number): RawStreamRecord => ({
  recordId: String(seq),
  data: Buffer.from(JSON.stringify(t)).toString('base64'),
});

describe('DynamoAggregateStore', () => {
  it('GIVEN no item WHEN put with no expected version THEN version 1; a second create THEN conflict', async () => {
    const table = await newTable();
    const store = new DynamoAggregateStore(doc, table, () => new Date('2026-11-23T00:00:00Z'));
    const state = applyToCustomer(emptyCustomerState(), txn(1, 'c1', 'm1'));
    expect(await store.put('customer#c1', 'customer', state, undefined)).toBe('written');
    expect(await store.put('customer#c1', 'customer', state, undefined)).toBe('conflict');
    const got = await store.get('customer#c1');
    expect(got?.version).toBe(1);
    expect(got?.state).toEqual(state);
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'customer#c1' } }));
    expect(Item).toMatchObject({
      pk: 'customer#c1',
      kind: 'customer',
      version: 1,
      updatedAt: '2026-11-23T00:00:00.000Z',
    });
  });

  it('GIVEN version 1 stored WHEN put expecting 0 or 2 THEN conflict; expecting 1 THEN version 2', async () => {
    const table = await newTable();
    const store = new DynamoAggregateStore(doc, table);
    await store.put('merchant#m1', 'merchant', emptyMerchantState(), undefined);
    expect(await store.put('merchant#m1', 'merchant', emptyMerchantState(), 0)).toBe('conflict');
    expect(await store.put('merchant#m1', 'merchant', emptyMerchantState(), 2)).toBe('conflict');
    expect(await store.put('merchant#m1', 'merchant', emptyMerchantState(), 1)).toBe('written');
    expect((await store.get('merchant#m1'))?.version).toBe(2);
    expect(await store.get('merchant#none')).toBeUndefined();
  });

  it('GIVEN four consumers racing on one customer and merchant WHEN applied THEN no update is lost', async () => {
    const table = await newTable();
    const store = new DynamoAggregateStore(doc, table);
    const batches = [0, 1, 2, 3].map((b) =>
      Array.from({ length: 25 }, (_, i) => record(txn(b * 100 + i, 'c-hot', 'm-hot'), b * 100 + i)),
    );
    const outcomes = await Promise.all(
      batches.map((recs) => updateAggregates(recs, { store, module, maxAttempts: 20 })),
    );
    expect(outcomes.flatMap((o) => [...o.failures.values()])).toEqual([]);
    expect(outcomes.reduce((n, o) => n + o.conflicts, 0)).toBeGreaterThan(0);
    const customer = (await store.get('customer#c-hot'))?.state as CustomerState;
    expect(customer.count).toBe(100);
    expect(new Set(customer.seen).size).toBe(100);
  });

  it('GIVEN a batch applied WHEN the same batch is replayed THEN versions and timestamps are untouched', async () => {
    const table = await newTable();
    let clock = Date.parse('2026-11-23T01:00:00Z');
    const tick = () => {
      clock += 1000;
      return new Date(clock);
    };
    const store = new DynamoAggregateStore(doc, table, tick);
    const recs = Array.from({ length: 30 }, (_, i) => record(txn(i, `c${i % 4}`, `m${i % 2}`), i));
    await updateAggregates(recs, { store, module });
    const before = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'customer#c1' } }));
    const replay = await updateAggregates(recs, { store, module });
    const after = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'customer#c1' } }));
    expect(replay).toMatchObject({ writes: 0, unchanged: 6, conflicts: 0 });
    expect(after.Item).toEqual(before.Item);
    expect((after.Item?.state as CustomerState | undefined)?.count).toBe(8);
  });
});
