// Tests the rules baseline: quiet transactions score 0, each red flag raises the score with a reason, and on
// simulated data it separates fraud from legitimate traffic (it is the fallback when the model is down).
import type { Transaction } from '../../shared/contracts/transaction.js';
import { simulate } from '../../shared/simulator/simulate.js';
import { buildRows } from '../src/dataset.js';
import { FEATURE_NAMES, type FeatureName, featureRecord } from '../src/features.js';
import { rulesScore } from '../src/rules.js';

const txn: Transaction = {
  transactionId: 't1',
  customerId: 'c1',
  merchantId: 'm1',
  merchantCategory: 'grocery',
  amount: 25,
  currency: 'EUR',
  country: 'DE',
  channel: 'card_present',
  timestamp: '2026-02-02T12:00:00.000+01:00',
};

/** A regular customer's ordinary purchase. */
const quiet = (over: Partial<Record<FeatureName, number>> = {}) => {
  const base = featureRecord(FEATURE_NAMES.map(() => 0));
  return {
    ...base,
    log_amount: Math.log1p(25),
    category_risk: 0.1,
    country_share: 0.95,
    cust_history_log: Math.log1p(40),
    cust_count_24h: 2,
    cust_count_7d: 14,
    log_seconds_since_last: Math.log1p(5 * 3600),
    ...over,
  };
};

describe('rules scorer', () => {
  it('GIVEN an ordinary purchase THEN the score is 0 with no reasons', () => {
    expect(rulesScore(quiet(), txn)).toEqual({ score: 0, reasons: [] });
  });

  it('GIVEN a burst of tiny charges THEN card testing is named and the score is high', () => {
    const burst = quiet({ cust_small_count_1h: 4, cust_count_1h: 5, channel_online: 1 });
    const r = rulesScore(burst, { ...txn, amount: 1.5, channel: 'online' });
    expect(r.reasons[0]).toMatch(/^card testing: 4 small charges/);
    expect(r.reasons).toContainEqual(expect.stringMatching(/^velocity: 5 transactions/));
    expect(r.score).toBeGreaterThan(0.7);
    // Testers work card-not-present: the same burst at a till is less suspicious.
    expect(rulesScore(quiet({ cust_small_count_1h: 4, cust_count_1h: 5 }), { ...txn, amount: 1.5 }).score).toBeLessThan(
      r.score,
    );
  });

  it('GIVEN a card used 5000 km away an hour later THEN impossible travel is named with the speed', () => {
    const r = rulesScore(quiet({ log_implied_speed_kmh: Math.log1p(5000), country_changed: 1, is_new_country: 1 }), {
      ...txn,
      country: 'NG',
    });
    expect(r.reasons).toEqual([
      'impossible travel: 5000 km/h since last use',
      'country NG is new or rare for this customer',
    ]);
  });

  it('GIVEN red flags added one by one THEN the score only rises and stays below 1', () => {
    const steps: Partial<Record<FeatureName, number>>[] = [
      {},
      { is_new_device: 1 },
      { is_new_device: 1, amount_zscore: 3.5 },
      { is_new_device: 1, amount_zscore: 3.5, is_new_country: 1 },
      { is_new_device: 1, amount_zscore: 3.5, is_new_country: 1, category_risk: 0.9, cust_count_1h: 6 },
    ];
    const scores = steps.map((s) => rulesScore(quiet(s), txn).score);
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThan(scores[i - 1] as number);
    expect(scores.at(-1)).toBeLessThan(1);
  });

  it('GIVEN a feature record without a needed feature THEN it says which one', () => {
    const { amount_zscore: _drop, ...partial } = quiet();
    expect(() => rulesScore(partial, txn)).toThrow(/rules need feature 'amount_zscore', which is missing/);
  });

  it('GIVEN simulated traffic THEN fraud scores well above legitimate transactions (ROC AUC > 0.8)', () => {
    const sim = simulate({ seed: 5, days: 6, customers: 1500 });
    const rows = buildRows(sim.transactions, new Map(sim.truth.map((t) => [t.transactionId, t.isFraud])), {
      warmupDays: 1,
    });
    const pos = rows.filter((r) => r.label === 1).map((r) => r.rulesScore);
    const neg = rows.filter((r) => r.label === 0).map((r) => r.rulesScore);
    let wins = 0;
    for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
    expect(wins / (pos.length * neg.length)).toBeGreaterThan(0.8);
  });
});
