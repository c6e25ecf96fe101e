// Test fixtures for ingest: valid transactions built from a counter so every id is unique and readable.
import type { Transaction } from '../../../models/shared/contracts/transaction.js';

export function txn(n: number, overrides: Partial<Transaction> = {}): Transaction {
  return {
    transactionId: `t-${n}`,
    customerId: `c-${n % 7}`,
    merchantId: `m-${n % 3}`,
    merchantCategory: 'grocery',
    amount: 10 + n,
    currency: 'EUR',
    country: 'DE',
    channel: 'card_present',
    timestamp: new Date(Date.UTC(2026, 10, 1, 12, 0, n % 60)).toISOString(),
    ...overrides,
  };
}
