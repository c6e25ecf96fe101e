// Tests the one feature module: manifest agreement, window edges, order tolerance, idempotency and no leakage.
import { join } from 'node:path';
import fc from 'fast-check';
import { type Transaction, Transaction as TransactionSchema } from '../../shared/contracts/transaction.js';
import { loadManifest } from '../../shared/manifest.js';
import {
  applyToCustomer,
  applyToMerchant,
  type CustomerState,
  computeFeatures,
  emptyCustomerState,
  emptyMerchantState,
  FEATURE_COUNT,
  FEATURE_NAMES,
  featureRecord,
  localHour,
  type MerchantState,
} from '../src/features.js';

const BASE = Date.parse('2026-02-02T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let counter = 0;
const txn = (at: number, over: Partial<Transaction> = {}): Transaction =>
  TransactionSchema.parse({
    transactionId: `t${++counter}`,
    customerId: 'c1',
    merchantId: 'm1',
    merchantCategory: 'grocery',
    amount: 20,
    currency: 'EUR',
    country: 'DE',
    channel: 'card_present',
    timestamp: new Date(BASE + at).toISOString(),
    ...over,
  });

const replay = (events: readonly Transaction[]) => {
  let customer: CustomerState = emptyCustomerState();
  let merchant: MerchantState = emptyMerchantState();
  for (const e of events) {
    customer = applyToCustomer(customer, e);
    merchant = applyToMerchant(merchant, e);
  }
  return { customer, merchant };
};

const featuresAfter = (history: readonly Transaction[], probe: Transaction) => {
  const { customer, merchant } = replay(history);
  return featureRecord(computeFeatures(probe, customer, merchant));
};

describe('feature definition', () => {
  it('GIVEN model.json WHEN compared with FEATURE_NAMES THEN the input order is identical', () => {
    const manifest = loadManifest(join(import.meta.dirname, '..'));
    expect(manifest.features).toEqual([...FEATURE_NAMES]);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
  });

  it('GIVEN a vector WHEN named THEN featureRecord maps each position, and refuses a wrong length', () => {
    const v = FEATURE_NAMES.map((_, i) => i);
    const r = featureRecord(v);
    expect(r.log_amount).toBe(0);
    expect(r[FEATURE_NAMES[FEATURE_COUNT - 1] as keyof typeof r]).toBe(FEATURE_COUNT - 1);
    expect(() => featureRecord([1, 2])).toThrow(/expected a feature vector of length 30, got 2/);
  });

  it('GIVEN timestamps with offsets WHEN the local hour is taken THEN it is the wall clock of that offset', () => {
    expect(localHour('2026-02-02T23:30:00.000+01:00')).toBeCloseTo(23.5);
    expect(localHour('2026-02-02T22:30:00Z')).toBeCloseTo(22.5);
    expect(localHour('2026-02-02T01:00:00-05:00')).toBeCloseTo(1);
  });
});

describe('windows', () => {
  it('GIVEN a prior txn exactly 1 h old THEN it left the 1 h window but is in the 24 h window', () => {
    const f = featuresAfter([txn(-HOUR, { amount: 50 })], txn(0));
    expect(f.cust_count_1h).toBe(0);
    expect(f.cust_amount_1h).toBe(0);
    expect(f.cust_count_24h).toBe(1);
    expect(f.cust_amount_24h).toBeCloseTo(Math.log1p(50));
  });

  it('GIVEN a prior txn 1 ms under 1 h old THEN it is still in the 1 h window', () => {
    expect(featuresAfter([txn(-HOUR + 1)], txn(0)).cust_count_1h).toBe(1);
  });

  it('GIVEN prior txns exactly 24 h and 7 d old THEN each has left its window', () => {
    const f = featuresAfter([txn(-7 * DAY), txn(-DAY)], txn(0));
    expect(f.cust_count_24h).toBe(0);
    expect(f.cust_count_7d).toBe(1);
    expect(featuresAfter([txn(-7 * DAY + 1)], txn(0)).cust_count_7d).toBe(1);
  });

  it('GIVEN small charges within the hour at two merchants THEN small count and distinct merchants count them', () => {
    const f = featuresAfter(
      [txn(-50 * 60_000, { amount: 1 }), txn(-20 * 60_000, { amount: 2, merchantId: 'm2' }), txn(-10 * 60_000)],
      txn(0, { amount: 1.5 }),
    );
    expect(f.cust_small_count_1h).toBe(2);
    expect(f.cust_count_1h).toBe(3);
    expect(f.cust_distinct_merchants_24h).toBe(2);
    expect(f.cust_merchant_seen_7d).toBe(1);
  });

  it('GIVEN a card used in Germany then in Nigeria 1 h later THEN country change and an impossible speed show', () => {
    const f = featuresAfter([txn(-HOUR, { country: 'DE' })], txn(0, { country: 'NG' }));
    expect(f.country_changed).toBe(1);
    expect(f.is_new_country).toBe(1);
    expect(Math.expm1(f.log_implied_speed_kmh)).toBeGreaterThan(3000);
    expect(Math.expm1(f.log_seconds_since_last)).toBeCloseTo(3600, 3);
  });

  it('GIVEN a steady history THEN a much larger amount has a high z-score and a new device is flagged', () => {
    const history = [0, 1, 2, 3, 4, 5].map((d) => txn(-(d + 1) * DAY, { amount: 20 + d, deviceId: 'phone' }));
    const f = featuresAfter(history, txn(0, { amount: 900, deviceId: 'laptop', channel: 'online' }));
    expect(f.amount_zscore).toBeGreaterThan(5);
    expect(f.is_new_device).toBe(1);
    expect(featuresAfter(history, txn(0, { deviceId: 'phone' })).is_new_device).toBe(0);
  });

  it('GIVEN a merchant with a burst in the last hour THEN its counts and small-amount rate reflect it', () => {
    const burst = Array.from({ length: 8 }, (_, i) => txn(-(i + 1) * 5 * 60_000, { amount: 2, customerId: `x${i}` }));
    const f = featuresAfter(burst, txn(0, { customerId: 'new' }));
    expect(Math.expm1(f.merch_log_count_1h)).toBeCloseTo(8);
    expect(f.merch_small_rate_24h).toBe(1);
    expect(f.merch_velocity_ratio).toBeGreaterThan(7);
  });

  it('GIVEN events older than 7 days THEN state is pruned, stays bounded, and lifetime history still counts them', () => {
    const events = Array.from({ length: 600 }, (_, i) => txn(-(600 - i) * HOUR));
    const { customer, merchant } = replay(events);
    expect(customer.events.length).toBeLessThanOrEqual(168);
    expect(customer.seen.length).toBeLessThanOrEqual(256);
    expect(merchant.coarse.length).toBeLessThanOrEqual(169);
    expect(merchant.fine.length).toBeLessThanOrEqual(289);
    expect(customer.count).toBe(600);
    expect(JSON.parse(JSON.stringify(customer))).toEqual(customer);
  });
});

const historyArb = fc.array(
  fc.record({
    at: fc.integer({ min: -9 * DAY, max: -1 }),
    amount: fc.double({ min: 0.5, max: 2000, noNaN: true }),
    merchant: fc.constantFrom('m1', 'm2', 'm3'),
    country: fc.constantFrom('DE', 'FR', 'US'),
    device: fc.constantFrom(undefined, 'a', 'b'),
  }),
  { minLength: 1, maxLength: 40 },
);
const toTxns = (h: { at: number; amount: number; merchant: string; country: string; device?: string }[]) =>
  h.map((e) =>
    txn(e.at, {
      amount: Math.round(e.amount * 100) / 100,
      merchantId: e.merchant,
      country: e.country,
      ...(e.device ? { deviceId: e.device } : {}),
    }),
  );

describe('order tolerance, idempotency, no leakage', () => {
  it('GIVEN any history WHEN applied in any arrival order THEN the features of a later txn are identical', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) =>
          fc.tuple(
            fc.constant(h),
            fc.shuffledSubarray(
              h.map((_, i) => i),
              { minLength: h.length, maxLength: h.length },
            ),
          ),
        ),
        ([h, order]) => {
          const events = toTxns(h);
          const shuffled = order.map((i) => events[i] as Transaction);
          const probe = txn(0, { merchantId: 'm2', deviceId: 'a' });
          expect(featuresAfter(shuffled, probe)).toEqual(featuresAfter(events, probe));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('GIVEN the same events replayed twice THEN state and feature vectors are identical to a single pass', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const events = toTxns(h);
        const once = replay(events);
        const twice = replay([...events, ...events]);
        expect(twice.customer).toEqual(once.customer);
        expect(twice.merchant).toEqual(once.merchant);
        const probe = txn(0);
        expect(computeFeatures(probe, twice.customer, twice.merchant)).toEqual(
          computeFeatures(probe, once.customer, once.merchant),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('GIVEN a txn already applied (a late or replayed record) THEN its own features ignore it', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const events = toTxns(h);
        const self = txn(-2 * HOUR, { amount: 3, deviceId: 'b', country: 'FR' });
        // Decision-time order is (event time, id), the same tie-break the feature module uses.
        const isBefore = (e: Transaction) =>
          Date.parse(e.timestamp) < Date.parse(self.timestamp) ||
          (e.timestamp === self.timestamp && e.transactionId < self.transactionId);
        const before = events.filter(isBefore);
        const after = events.filter((e) => !isBefore(e));
        const clean = replay(before);
        const withSelf = replay([...before, self]);
        const f0 = featureRecord(computeFeatures(self, clean.customer, clean.merchant));
        const f1 = featureRecord(computeFeatures(self, withSelf.customer, withSelf.merchant));
        for (const [name, value] of Object.entries(f0))
          expect([name, f1[name as keyof typeof f1]]).toEqual([name, value]);
        // Later events do not change the windowed view of the past either (the 7 d window of a record that is
        // late by more than a few hours may lose its oldest events to pruning: state is bounded by design).
        const later = replay([...before, ...after]);
        const f2 = featureRecord(computeFeatures(self, later.customer, later.merchant));
        for (const name of ['cust_count_1h', 'cust_count_24h', 'cust_amount_24h'] as const) {
          expect([name, f2[name]]).toEqual([name, f0[name]]);
        }
        // Time since the previous transaction survives too, unless that transaction fell out of the 7 d state
        // when later events moved the watermark on (the bounded-state trade-off named above).
        const watermark = Math.max(...events.map((e) => Date.parse(e.timestamp)), Date.parse(self.timestamp));
        if (before.every((e) => Date.parse(e.timestamp) > watermark - 7 * 24 * HOUR)) {
          expect(['log_seconds_since_last', f2.log_seconds_since_last]).toEqual([
            'log_seconds_since_last',
            f0.log_seconds_since_last,
          ]);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('GIVEN a first-ever txn THEN every history feature is at its empty value', () => {
    const f = featuresAfter([], txn(0, { deviceId: 'a', channel: 'online' }));
    expect(f.cust_history_log).toBe(0);
    expect(f.cust_count_7d).toBe(0);
    expect(f.is_new_device).toBe(0);
    expect(f.is_new_country).toBe(0);
    expect(f.merch_log_count_7d).toBe(0);
    expect(f.channel_online).toBe(1);
  });
});
