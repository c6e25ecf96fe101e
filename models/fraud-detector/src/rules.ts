// The hand-written rules baseline: transparent points per red flag. It is the bar the model must beat and
// the scorer's fallback when the model endpoint fails, so every point comes with a human-readable reason.
import type { ModelRef } from '../../shared/contracts/decision.js';
import type { Transaction } from '../../shared/contracts/transaction.js';
import { SMALL_AMOUNT } from './features.js';

/** How the rules are named where a model's name would be (responses, audit records) when they answer instead. */
export const RULES_MODEL: ModelRef = { name: 'rules', version: '1' };

export interface RulesResult {
  /** 0..1, monotone in the number and weight of red flags. */
  readonly score: number;
  /** Why, most important first; empty when nothing fired. */
  readonly reasons: string[];
}

/** Points at which the score reaches 1 - 1/e ≈ 0.63 (roughly "two strong red flags"). */
const POINTS_SCALE = 2.5;

interface Rule {
  readonly points: (f: Readonly<Record<string, number>>, txn: Transaction) => number;
  readonly reason: (f: Readonly<Record<string, number>>, txn: Transaction) => string;
}

const get = (f: Readonly<Record<string, number>>, name: string): number => {
  const v = f[name];
  if (v === undefined || Number.isNaN(v)) throw new Error(`rules need feature '${name}', which is missing`);
  return v;
};

const RULES: readonly Rule[] = [
  {
    // Card testing: several tiny charges within the hour, this one tiny too; testers work card-not-present.
    points: (f, txn) =>
      txn.amount < SMALL_AMOUNT && get(f, 'cust_small_count_1h') >= 2 ? (txn.channel === 'online' ? 2 : 0.6) : 0,
    reason: (f) => `card testing: ${get(f, 'cust_small_count_1h')} small charges in the last hour`,
  },
  {
    points: (f) => (get(f, 'cust_count_1h') >= 5 ? 1.2 : get(f, 'cust_count_1h') >= 3 ? 0.6 : 0),
    reason: (f) => `velocity: ${get(f, 'cust_count_1h')} transactions in the last hour`,
  },
  {
    points: (f) => (get(f, 'cust_velocity_ratio') >= 4 ? 0.5 : 0),
    reason: (f) => `velocity: 24 h count ${get(f, 'cust_velocity_ratio').toFixed(1)}× the usual daily rate`,
  },
  {
    // Faster than an airliner between two countries: the card is in two places.
    points: (f) => (Math.expm1(get(f, 'log_implied_speed_kmh')) > 900 ? 2 : 0),
    reason: (f) => `impossible travel: ${Math.round(Math.expm1(get(f, 'log_implied_speed_kmh')))} km/h since last use`,
  },
  {
    points: (f) => (get(f, 'is_new_country') === 1 ? 1 : get(f, 'country_share') < 0.1 ? 0.4 : 0),
    reason: (_f, txn) => `country ${txn.country} is new or rare for this customer`,
  },
  {
    points: (f) => (get(f, 'is_new_device') === 1 ? 0.9 : 0),
    reason: () => 'device never seen for this customer',
  },
  {
    points: (f) => (get(f, 'amount_zscore') > 3 ? 1.2 : get(f, 'amount_zscore') > 2 ? 0.6 : 0),
    reason: (f) => `amount ${get(f, 'amount_zscore').toFixed(1)} standard deviations above the customer's usual`,
  },
  {
    points: (f) => (get(f, 'category_risk') >= 0.7 ? 0.4 : 0),
    reason: (_f, txn) => `high-risk category ${txn.merchantCategory}`,
  },
  {
    // A quiet merchant suddenly busy is how a compromised merchant looks from outside.
    points: (f) =>
      get(f, 'merch_velocity_ratio') >= 6
        ? 1.2
        : get(f, 'merch_velocity_ratio') >= 2.5 && get(f, 'cust_merchant_seen_7d') === 0
          ? 0.6
          : 0,
    reason: (f) => `merchant volume ${get(f, 'merch_velocity_ratio').toFixed(1)}× its usual hourly rate`,
  },
  {
    points: (f) => (get(f, 'merch_small_rate_24h') >= 0.5 && Math.expm1(get(f, 'merch_log_count_24h')) >= 5 ? 0.5 : 0),
    reason: (f) => `${Math.round(get(f, 'merch_small_rate_24h') * 100)}% small charges at this merchant today`,
  },
  {
    points: (f, txn) => (txn.channel === 'online' && get(f, 'cust_history_log') === 0 ? 0.3 : 0),
    reason: () => 'online purchase by a customer with no history',
  },
];

/** Scores a transaction from its feature record (see features.ts `featureRecord`). */
export function rulesScore(features: Readonly<Record<string, number>>, txn: Transaction): RulesResult {
  const fired: { points: number; reason: string }[] = [];
  for (const rule of RULES) {
    const points = rule.points(features, txn);
    if (points > 0) fired.push({ points, reason: rule.reason(features, txn) });
  }
  fired.sort((a, b) => b.points - a.points);
  const total = fired.reduce((sum, r) => sum + r.points, 0);
  return { score: 1 - Math.exp(-total / POINTS_SCALE), reasons: fired.map((r) => r.reason) };
}
