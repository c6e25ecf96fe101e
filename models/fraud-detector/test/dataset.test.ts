// Tests the offline training-set builder: decision-time rows (no leakage), time split, CSV layout, dataset.json.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transaction } from '../../shared/contracts/transaction.js';
import { simulate } from '../../shared/simulator/simulate.js';
import { buildDataset, buildRows, CSV_HEADER, splitByTime } from '../src/dataset.js';
import {
  applyToCustomer,
  applyToMerchant,
  computeFeatures,
  emptyCustomerState,
  emptyMerchantState,
  FEATURE_NAMES,
  featureRecord,
} from '../src/features.js';
import { rulesScore } from '../src/rules.js';

const sim = simulate({ seed: 3, days: 4, customers: 400 });
const truth = new Map(sim.truth.map((t) => [t.transactionId, t.isFraud]));
const rows = buildRows(sim.transactions, truth);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dataset-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Features of `txn` from a from-scratch replay of only the transactions strictly before it. */
const decisionTimeFeatures = (index: number) => {
  let customer = emptyCustomerState();
  let merchant = emptyMerchantState();
  const target = sim.transactions[index] as Transaction;
  for (const t of sim.transactions.slice(0, index)) {
    if (t.customerId === target.customerId) customer = applyToCustomer(customer, t);
    if (t.merchantId === target.merchantId) merchant = applyToMerchant(merchant, t);
  }
  return computeFeatures(target, customer, merchant);
};

describe('training-set builder', () => {
  it('GIVEN the stream THEN each row holds exactly the features known before its transaction', () => {
    expect(rows).toHaveLength(sim.transactions.length);
    for (const i of [0, 1, 17, 250, 1000, 2222, rows.length - 1]) {
      expect(rows[i]?.transactionId).toBe(sim.transactions[i]?.transactionId);
      expect(rows[i]?.features).toEqual(decisionTimeFeatures(i));
    }
  });

  it('GIVEN only a prefix of the stream THEN its rows are identical (later transactions never leak backwards)', () => {
    const prefix = buildRows(sim.transactions.slice(0, 1500), truth);
    expect(prefix).toEqual(rows.slice(0, 1500));
  });

  it('GIVEN rows THEN the label is the ground truth and rules_score is the rules scorer on the same features', () => {
    for (const [i, row] of rows.entries()) {
      expect(row.label).toBe(truth.get(row.transactionId) ? 1 : 0);
      if (i % 97 === 0) {
        expect(row.rulesScore).toBe(rulesScore(featureRecord(row.features), sim.transactions[i] as Transaction).score);
      }
    }
  });

  it('GIVEN a transaction without ground truth THEN the builder refuses', () => {
    expect(() => buildRows(sim.transactions.slice(0, 3), new Map())).toThrow(/no ground truth for transaction tx_3_/);
  });

  it('GIVEN fractions THEN the split is by time into consecutive blocks of the expected sizes', () => {
    const s = splitByTime(rows, { train: 0.7, validation: 0.15 });
    expect(s.train.length).toBe(Math.floor(rows.length * 0.7));
    expect(s.validation.length).toBe(Math.floor(rows.length * 0.15));
    expect(s.train.length + s.validation.length + s.test.length).toBe(rows.length);
    expect((s.train.at(-1) as { eventTime: string }).eventTime <= (s.validation[0]?.eventTime as string)).toBe(true);
    expect((s.validation.at(-1) as { eventTime: string }).eventTime <= (s.test[0]?.eventTime as string)).toBe(true);
    expect(() => splitByTime(rows, { train: 0.9, validation: 0.2 })).toThrow(/train \+ validation < 1/);
  });

  it('GIVEN a build with warm-up WHEN written THEN CSVs and dataset.json describe the same rows', () => {
    const info = buildDataset(sim.transactions, truth, dir, { seed: 3, warmupDays: 1 });
    const warm = Date.parse(sim.transactions[0]?.timestamp as string) + 86_400_000;
    const expected = sim.transactions.filter((t) => Date.parse(t.timestamp) >= warm).length;
    expect(info.rows.train + info.rows.validation + info.rows.test).toBe(expected);
    const read = (name: string) =>
      readFileSync(join(dir, `${name}.csv`), 'utf8')
        .trimEnd()
        .split('\n');
    for (const name of ['train', 'validation', 'test'] as const) {
      const lines = read(name);
      expect(lines[0]).toBe(['transaction_id', 'event_time', ...FEATURE_NAMES, 'rules_score', 'label'].join(','));
      expect(lines).toHaveLength(info.rows[name] + 1);
      const labels = lines.slice(1).map((l) => Number(l.split(',').at(-1)));
      expect(labels.reduce((a, b) => a + b, 0)).toBe(info.positives[name]);
      expect(lines.slice(1).every((l) => l.split(',').length === CSV_HEADER.length)).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8'));
    expect(json).toMatchObject({
      features: [...FEATURE_NAMES],
      label: 'label',
      idColumn: 'transaction_id',
      extraColumns: ['event_time', 'rules_score'],
      rows: info.rows,
      positives: info.positives,
      seed: 3,
    });
    expect(read('train')[1]?.split(',')[1]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(json.splitStarts.validation > json.splitStarts.train).toBe(true);
  });
});
