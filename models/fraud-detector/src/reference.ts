// The occlusion baseline: the feature vector of an unremarkable transaction by an established customer at a steady
// merchant, computed with the feature module itself so it can never drift from the model's feature definitions.

import type { Transaction } from '../../shared/contracts/transaction.js';
import {
  applyToCustomer,
  applyToMerchant,
  computeFeatures,
  emptyCustomerState,
  emptyMerchantState,
  type FeatureName,
  featureRecord,
} from './features.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Any fixed instant: features depend on time differences and the local hour only. */
const REFERENCE_TIME = Date.parse('2026-01-15T12:00:00Z');

const txn = (id: string, t: number, merchantId: string, amount: number): Transaction => ({
  transactionId: id,
  customerId: 'reference-customer',
  merchantId,
  merchantCategory: 'grocery',
  amount,
  currency: 'EUR',
  country: 'DE',
  channel: 'card_present',
  deviceId: 'reference-device',
  timestamp: new Date(t).toISOString(),
});

/**
 * The reference profile: a customer with 30 days of one purchase a day (about 40 EUR, three merchants, one country,
 * one device) and a merchant with two sales an hour all week; the scored transaction is the next ordinary purchase.
 * Occluding a feature to this value asks "what if this had looked like a normal customer's?".
 */
export function referenceBaseline(): Record<FeatureName, number> {
  let customer = emptyCustomerState();
  let merchant = emptyMerchantState();
  const merchants = ['reference-merchant', 'reference-bakery', 'reference-pharmacy'];
  for (let day = 30; day >= 1; day--) {
    const t = REFERENCE_TIME - day * DAY + (day % 5) * HOUR;
    customer = applyToCustomer(customer, txn(`c${day}`, t, merchants[day % 3] as string, 30 + (day % 4) * 7));
  }
  for (let h = 7 * 24; h >= 1; h--) {
    merchant = applyToMerchant(merchant, txn(`m${h}a`, REFERENCE_TIME - h * HOUR, 'reference-merchant', 25));
    merchant = applyToMerchant(merchant, txn(`m${h}b`, REFERENCE_TIME - h * HOUR + HOUR / 2, 'reference-merchant', 60));
  }
  return featureRecord(computeFeatures(txn('reference', REFERENCE_TIME, 'reference-merchant', 40), customer, merchant));
}

/**
 * `referenceBaseline()` as it computes today, kept as a literal: replaying its 366 transactions through the feature
 * module cost ≈ 20 ms of every cold start (bench/score-init.bench.ts). models/fraud-detector/test/reference.test.ts
 * fails the moment the feature module changes the result; print the new values with
 * `npx tsx -e "import('./models/fraud-detector/src/reference.ts').then((m) => console.log(m.referenceBaseline()))"`.
 */
export const REFERENCE_BASELINE: Readonly<Record<FeatureName, number>> = Object.freeze({
  log_amount: 3.713572066704308,
  hour_sin: 1.2246467991473532e-16,
  hour_cos: -1,
  channel_online: 0,
  channel_contactless: 0,
  category_risk: 0.1,
  has_device: 1,
  is_new_device: 0,
  is_new_country: 0,
  country_share: 1,
  amount_zscore: 0.023338736076693564,
  cust_history_log: 3.4339872044851463,
  cust_count_1h: 0,
  cust_amount_1h: 0,
  cust_count_24h: 1,
  cust_amount_24h: 3.6375861597263857,
  cust_count_7d: 7,
  cust_amount_7d: 5.68697535633982,
  cust_distinct_merchants_24h: 1,
  cust_small_count_1h: 0,
  cust_merchant_seen_7d: 1,
  cust_velocity_ratio: 0.5,
  log_seconds_since_last: 11.324195417595107,
  country_changed: 0,
  log_implied_speed_kmh: 0,
  merch_log_count_1h: 1.0986122886681096,
  merch_log_count_24h: 3.8918202981106265,
  merch_log_count_7d: 5.820082930352362,
  merch_small_rate_24h: 0,
  merch_velocity_ratio: 0.6666666666666666,
});
