// The occlusion baseline: the feature vector of an unremarkable transaction by an established customer at a steady
// merchant, computed with the feature module itself so it can never drift from the model's feature definitions.
import {
  applyToCustomer,
  applyToMerchant,
  computeFeatures,
  emptyCustomerState,
  emptyMerchantState,
  type FeatureName,
  featureRecord,
} from '../../models/fraud-detector/src/features.js';
import type { Transaction } from '../shared/contracts/transaction.js';

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
