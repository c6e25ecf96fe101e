// The nightly batch's lake query, run by DuckDB with the local stage's Presto functions over a simulated decision log:
// its merchant-days must be exactly those models/merchant-risk/src/aggregates.ts computes from the same transactions.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { merchantDays } from '../../../models/merchant-risk/src/aggregates.js';
import { MERCHANT_DAYS_QUERY, merchantBatch } from '../../../models/merchant-risk/src/batch.js';
import { HISTORY_DAYS, type MerchantDay } from '../../../models/merchant-risk/src/features.js';
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import type { Transaction } from '../../../models/shared/contracts/transaction.js';
import { simulate } from '../../../models/shared/simulator/simulate.js';
import { prestoFunctions, withExecutionParameters } from '../athena.js';

const DAY = 86_400_000;
const sim = simulate({ seed: 11, days: 12, customers: 300, start: '2026-03-02', merchantCompromise: { rate: 0.02 } });
const RUN_DATE = '2026-03-12';

let work: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

/** The decision log as the lake holds it: the transaction as JSON text, partitioned by the UTC day it was decided. */
async function loadDecisions(transactions: readonly Transaction[], duplicates: readonly Transaction[]): Promise<void> {
  const line = (t: Transaction, late: number) =>
    JSON.stringify({
      transactionid: t.transactionId,
      transaction: JSON.stringify(t),
      dt: new Date(Date.parse(t.timestamp) + late).toISOString().slice(0, 10),
    });
  const file = join(work, 'decisions.jsonl');
  // At-least-once: some lines logged again, the copies in the next day's partition.
  writeFileSync(file, [...transactions.map((t) => line(t, 0)), ...duplicates.map((t) => line(t, DAY))].join('\n'));
  await db.run('CREATE TABLE decisions (transactionid VARCHAR, transaction VARCHAR, dt VARCHAR)');
  await db.run(
    `INSERT INTO decisions SELECT * FROM read_json('${file}', format='newline_delimited', columns={transactionid: 'VARCHAR', transaction: 'VARCHAR', dt: 'VARCHAR'})`,
  );
}

async function runQuery(date: string): Promise<MerchantDay[]> {
  const reader = await db.runAndReadAll(withExecutionParameters(MERCHANT_DAYS_QUERY, [`'${date}'`]));
  const names = reader.columnNames();
  // Athena's CSV has every value as text: the rows are read as the prepare step reads them.
  return reader
    .getRowsJson()
    .map((r) => merchantBatch.request(Object.fromEntries(names.map((n, i) => [n, String(r[i])]))));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mr-batch-'));
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
  await prestoFunctions(db);
  await loadDecisions(
    sim.transactions,
    sim.transactions.filter((_, i) => i % 7 === 0),
  );
});

afterAll(() => {
  db.closeSync();
  instance.closeSync();
  rmSync(work, { recursive: true, force: true });
});

describe('GIVEN twelve simulated days of transactions with compromised merchants in the decision log', () => {
  test('THEN the batch query returns, for every merchant active on the run day, its merchant-days of that day and the 7 before, equal to src/aggregates.ts', async () => {
    const all = merchantDays(sim.transactions);
    const active = new Set(all.filter((d) => d.date === RUN_DATE).map((d) => d.merchantId));
    const from = new Date(Date.parse(`${RUN_DATE}T00:00:00Z`) - HISTORY_DAYS * DAY).toISOString().slice(0, 10);
    const expected = all.filter((d) => active.has(d.merchantId) && d.date >= from && d.date <= RUN_DATE);

    const got = await runQuery(RUN_DATE);

    expect(active.size).toBeGreaterThan(50);
    expect(expected.some((d) => d.newCustomers > 0 && d.newCustomers < d.distinctCustomers)).toBe(true);
    expect(expected.some((d) => d.nightCount > 0 && d.crossBorderCount > 0 && d.onlineCount > 0)).toBe(true);
    expect(got).toEqual(expected);
  });

  test('THEN a day nobody traded on returns no rows', async () => {
    expect(await runQuery('2026-01-01')).toEqual([]);
  });

  test('THEN the module serves it as its batch source, ids and dates from the merchant-day', () => {
    expect(merchantRisk.batch?.query).toBe(MERCHANT_DAYS_QUERY);
    const day = merchantDays(sim.transactions)[0] as MerchantDay;
    expect(merchantRisk.batch?.id(day)).toBe(`${day.merchantId}/${day.date}`);
    expect(merchantRisk.batch?.date(day)).toBe(day.date);
  });

  test('THEN a row the request schema refuses fails loudly, naming what is missing', () => {
    expect(() => merchantBatch.request({ merchant_id: 'm-1' })).toThrow(/no column 'day'/);
  });
});
