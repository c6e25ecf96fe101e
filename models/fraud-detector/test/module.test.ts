// The fraud detector's model module: the contract's parts are the feature module, rules, policy and reference the
// rest of the code already uses, not copies of them.
import type { Transaction } from '../../shared/contracts/transaction.js';
import { computeFeatures, FEATURE_NAMES } from '../src/features.js';
import fraudDetector from '../src/module.js';
import { REFERENCE_BASELINE } from '../src/reference.js';

const txn = (id: string, minute: number, amount = 42): Transaction => ({
  transactionId: id,
  customerId: 'c-1',
  merchantId: 'm-1',
  merchantCategory: 'electronics',
  amount,
  currency: 'EUR',
  country: 'DE',
  channel: 'online',
  deviceId: 'd-1',
  timestamp: new Date(Date.parse('2026-03-01T10:00:00Z') + minute * 60_000).toISOString(),
});

describe('GIVEN the fraud detector module', () => {
  const { entities, features } = fraudDetector;
  const fold = (txns: readonly Transaction[]) => ({
    customer: txns.reduce(entities.customer.fold, entities.customer.empty()),
    merchant: txns.reduce(entities.merchant.fold, entities.merchant.empty()),
  });

  test('WHEN a request is folded in twice THEN the state is the very same object (a replay writes nothing)', () => {
    const once = fold([txn('a', 0)]);
    expect(entities.customer.fold(once.customer, txn('a', 0))).toBe(once.customer);
    expect(entities.merchant.fold(once.merchant, txn('a', 0))).toBe(once.merchant);
    expect([entities.customer.key(txn('a', 0)), entities.merchant.key(txn('a', 0))]).toEqual(['c-1', 'm-1']);
  });

  test('WHEN features are computed THEN they are the feature module’s, and the rules score and explain them', () => {
    const history = [txn('a', 0, 2), txn('b', 1, 3), txn('c', 2, 4)];
    const states = fold(history);
    const vector = features.compute(txn('d', 3, 2), states);
    expect(vector).toEqual(computeFeatures(txn('d', 3, 2), states.customer, states.merchant));
    const baseline = fraudDetector.baseline.score(vector, txn('d', 3, 2));
    expect(baseline.score).toBeGreaterThan(0.5);
    expect(baseline.reasons[0]).toMatch(/card testing: 3 small charges/);
    expect(fraudDetector.explanation.reference).toEqual(FEATURE_NAMES.map((n) => REFERENCE_BASELINE[n]));
  });

  test('WHEN the policy decides THEN thresholds cut approve / review / decline, and nonsense thresholds are refused', () => {
    const t = { review: 0.5, decline: 0.9 };
    expect([0.1, 0.5, 0.89, 0.9].map((s) => fraudDetector.policy.decide(s, t))).toEqual([
      'approve',
      'review',
      'review',
      'decline',
    ]);
    expect(() => fraudDetector.policy.validate({ review: 0.9, decline: 0.5 })).toThrow(
      /0 <= review <= decline <= 1, got 0.9 and 0.5/,
    );
  });

  test('WHEN training rows are built THEN each holds what was known before its request, with its label', () => {
    const history = [txn('b', 1), txn('a', 0)];
    const rows = fraudDetector.training.rows(
      history,
      new Map([
        ['a', false],
        ['b', true],
      ]),
    );
    expect(rows.map((r) => [r.eventTime, r.label])).toEqual([
      ['2026-03-01T10:00:00.000Z', 0],
      ['2026-03-01T10:01:00.000Z', 1],
    ]);
    expect(rows[1]?.features).toEqual(features.compute(txn('b', 1), fold([txn('a', 0)])));
  });
});
