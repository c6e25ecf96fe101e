// The merchant-day aggregates and features: what the lake query computes per merchant and day, and the model input
// computed from it and the merchant's history (the same code for training and serving).
import type { Transaction } from '../../shared/contracts/transaction.js';
import { merchantDays } from '../src/aggregates.js';
import {
  computeFeatures,
  emptyHistory,
  FEATURE_NAMES,
  featureRecord,
  foldDay,
  MerchantDay,
  type MerchantHistory,
} from '../src/features.js';

let n = 0;
const txn = (over: Partial<Transaction> & { timestamp: string }): Transaction => ({
  transactionId: `t-${++n}`,
  customerId: 'c-1',
  merchantId: 'm-1',
  merchantCategory: 'grocery',
  amount: 40,
  currency: 'EUR',
  country: 'DE',
  channel: 'card_present',
  ...over,
});

const day = (date: string, over: Partial<MerchantDay> = {}): MerchantDay => ({
  merchantId: 'm-1',
  date,
  count: 10,
  amountSum: 400,
  amountMax: 80,
  smallCount: 1,
  distinctCustomers: 8,
  newCustomers: 2,
  nightCount: 0,
  crossBorderCount: 1,
  onlineCount: 0,
  ...over,
});

describe('GIVEN transactions of two merchants over two days', () => {
  const txns = [
    txn({ customerId: 'c-1', amount: 3, timestamp: '2026-03-01T02:10:00.000+01:00' }), // local night, UTC 03-01
    txn({ customerId: 'c-2', amount: 50, currency: 'GBP', timestamp: '2026-03-01T12:00:00.000+01:00' }),
    txn({ customerId: 'c-1', amount: 20, channel: 'online', timestamp: '2026-03-02T09:00:00.000+01:00' }),
    txn({ customerId: 'c-3', amount: 7, timestamp: '2026-03-02T04:30:00.000+01:00' }),
    txn({ merchantId: 'm-2', customerId: 'c-1', timestamp: '2026-03-02T10:00:00.000Z' }),
  ];

  test('WHEN aggregated THEN each active merchant-day holds its counts, and new means new to that merchant', () => {
    const days = merchantDays([...txns].reverse());
    expect(days.map((d) => `${d.merchantId}/${d.date}`)).toEqual([
      'm-1/2026-03-01',
      'm-1/2026-03-02',
      'm-2/2026-03-02',
    ]);
    expect(days[0]).toEqual(
      day('2026-03-01', {
        count: 2,
        amountSum: 53,
        amountMax: 50,
        smallCount: 1,
        distinctCustomers: 2,
        newCustomers: 2,
        nightCount: 1,
        crossBorderCount: 1,
        onlineCount: 0,
      }),
    );
    expect(days[1]).toMatchObject({ count: 2, distinctCustomers: 2, newCustomers: 1, nightCount: 1, onlineCount: 1 });
    expect(days[2]).toMatchObject({ merchantId: 'm-2', newCustomers: 1 });
    for (const d of days) expect(MerchantDay.safeParse(d).success).toBe(true);
  });
});

describe('GIVEN a merchant history', () => {
  const week = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07'];
  const history = week.map((d) => day(d)).reduce(foldDay, emptyHistory());

  test('WHEN days arrive in any order or twice THEN the history is the same and a replay returns the same object', () => {
    const shuffled = [...week]
      .reverse()
      .map((d) => day(d))
      .reduce(foldDay, emptyHistory());
    expect(shuffled).toEqual(history);
    expect(foldDay(history, day('2026-03-04'))).toBe(history);
  });

  test('WHEN more than a week is folded THEN only the latest seven days are kept', () => {
    const longer: MerchantHistory = foldDay(history, day('2026-03-08'));
    expect(longer.days.map((d) => d.date)).toEqual([...week.slice(1), '2026-03-08']);
  });

  test('WHEN a quiet day is followed by a night of small purchases by new cards THEN the features say so', () => {
    const probed = day('2026-03-08', {
      count: 16,
      amountSum: 430,
      smallCount: 7,
      distinctCustomers: 14,
      newCustomers: 8,
      nightCount: 6,
    });
    const f = featureRecord(computeFeatures(probed, history));
    expect(f.log_count).toBeCloseTo(Math.log1p(16));
    expect(f.small_share).toBeCloseTo(7 / 16);
    expect(f.night_share).toBeCloseTo(6 / 16);
    expect(f.new_customer_share).toBeCloseTo(8 / 14);
    expect(f.log_count_vs_prev_day).toBeCloseTo(Math.log(17 / 11));
    expect(f.log_count_vs_week).toBeCloseTo(Math.log(17 / 11));
    expect(f.new_customers_vs_week).toBeCloseTo(Math.log(9 / 3));
    expect(f.active_days_share).toBe(1);
  });

  test('WHEN the history already holds the day itself THEN that day does not leak into its own features', () => {
    const sixDays = week
      .slice(1)
      .map((d) => day(d))
      .reduce(foldDay, emptyHistory());
    const target = day('2026-03-08');
    const withItself = foldDay(sixDays, day('2026-03-08', { count: 99 }));
    expect(withItself.days).toHaveLength(7);
    expect(computeFeatures(target, withItself)).toEqual(computeFeatures(target, sixDays));
    expect(computeFeatures(target, emptyHistory())).toHaveLength(FEATURE_NAMES.length);
    expect(featureRecord(computeFeatures(target, emptyHistory())).active_days_share).toBe(0);
  });

  test('WHEN a merchant-day is inconsistent THEN the request schema refuses it with the field', () => {
    const bad = MerchantDay.safeParse(day('2026-03-08', { nightCount: 11 }));
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['nightCount']);
    expect(MerchantDay.safeParse(day('2026-03-08', { newCustomers: 9 })).success).toBe(false);
    expect(MerchantDay.safeParse({ ...day('2026-03-08'), date: '08/03/2026' }).success).toBe(false);
  });
});
