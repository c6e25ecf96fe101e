// Test support: a valid audit record (DecisionRecord) to write into the decisions table or feed to a core.
import type { DecisionRecord } from '../contracts/api.js';

export function decisionRecord(transactionId: string, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  const decidedAt = overrides.decidedAt ?? '2026-11-01T12:00:01.000Z';
  return {
    transactionId,
    customerId: 'c-1',
    transaction: {
      transactionId,
      customerId: overrides.customerId ?? 'c-1',
      merchantId: 'm-7',
      merchantCategory: 'electronics',
      amount: 129.9,
      currency: 'EUR',
      country: 'DE',
      channel: 'online',
      timestamp: '2026-11-01T12:00:00Z',
    },
    decision: 'approve',
    score: 0.12,
    degraded: false,
    reasons: [],
    explanation: [{ feature: 'log_amount', contribution: -0.0125 }],
    model: { name: 'fraud-detector', version: '3' },
    features: { log_amount: 4.87 },
    featureHash: 'a'.repeat(64),
    requestHash: 'b'.repeat(64),
    latencyMs: 12,
    decidedAt,
    expiresAt: Math.floor(Date.parse(decidedAt) / 1000) + 86_400 * 400,
    ...overrides,
  };
}
