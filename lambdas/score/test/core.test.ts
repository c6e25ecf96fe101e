// Score core with in-memory ports: decision policy, occlusion explanation, idempotency, fallback, audit contents.
import { createHash } from 'node:crypto';
import { jest } from '@jest/globals';
import { CircuitState } from 'cockatiel';
import { computeFeatures, FEATURE_COUNT, featureRecord } from '../../../models/fraud-detector/src/features.js';
import { RULES_MODEL } from '../../../models/fraud-detector/src/rules.js';
import { decide } from '../../../models/shared/contracts/decision.js';
import type { AnyModelModule } from '../../../models/shared/module.js';
import { DecisionRecord } from '../../shared/contracts/api.js';
import { ConflictError } from '../../shared/errors.js';
import { featureHash, occlusionRows, requestHash, topAttributions } from '../../shared/inference.js';
import { scoreTransaction, validateConfig } from '../core.js';
import { customerWithHistory, harness, NOW, txn } from './fakes.js';

/** Everything but Date: cockatiel's breaker times its open state by Date.now, the timeout policy needs real timers. */
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

describe('decision policy', () => {
  it.each([
    [0, 'approve'],
    [0.4999999, 'approve'],
    [0.5, 'review'],
    [0.7999999, 'review'],
    [0.8, 'decline'],
    [1, 'decline'],
  ] as const)('GIVEN thresholds 0.5/0.8 WHEN the score is %p THEN the decision is %s', (score, expected) => {
    expect(decide(score, 0.5, 0.8)).toBe(expected);
  });

  it('GIVEN a bias-only model scoring exactly the review threshold WHEN scoring THEN the decision is review', async () => {
    const h = harness({ weights: {}, bias: 0.5 });
    const out = await scoreTransaction(txn(1), h.ports, h.config);
    expect(out).toMatchObject({ score: 0.5, decision: 'review', degraded: false });
  });

  it('GIVEN review above decline WHEN validating the config THEN it is refused with both values', () => {
    const h = harness();
    expect(() => validateConfig({ ...h.config, thresholds: { review: 0.9, decline: 0.8 } })).toThrow(/0\.9 and 0\.8/);
    expect(() => validateConfig(h.config)).not.toThrow();
  });

  it('GIVEN a model whose policy has outcomes that are no decisions WHEN validating the config THEN it is refused', () => {
    const h = harness();
    const policy = { ...h.config.module.policy, outcomes: ['approve', 'compromised'] };
    const module: AnyModelModule = { ...h.config.module, policy };
    expect(() => validateConfig({ ...h.config, module })).toThrow(/decides compromised/);
  });

  it('GIVEN an explanation reference without a finite value per feature WHEN validating THEN it names the feature', () => {
    const h = harness();
    const reference = h.config.module.explanation.reference.map((v: number, i: number) => (i === 2 ? Number.NaN : v));
    const module: AnyModelModule = { ...h.config.module, explanation: { reference } };
    const third = h.config.module.features.names[2];
    expect(() => validateConfig({ ...h.config, module })).toThrow(`no finite value for '${third}'`);
  });
});

describe('explanation by occlusion', () => {
  it('GIVEN a linear model WHEN scoring THEN one batched call carries the row and one occluded row per feature', async () => {
    const h = harness();
    await scoreTransaction(txn(1), h.ports, h.config);
    expect(h.model.calls).toHaveLength(1);
    const { rows, inferenceId } = h.model.calls[0] as { rows: number[][]; inferenceId: string };
    expect(inferenceId).toBe('t-1');
    expect(rows).toHaveLength(FEATURE_COUNT + 1);
    const baseline = [...h.config.module.explanation.reference];
    expect(rows.slice(1)).toEqual(occlusionRows(rows[0] as number[], baseline).slice(1));
    rows.slice(1).forEach((row, i) => {
      expect(row[i]).toBe(baseline[i]);
    });
  });

  it('GIVEN a new device at a gambling merchant WHEN scoring THEN attributions rank device before category, zeros left out', async () => {
    const h = harness();
    h.features.customers.set('c-1', customerWithHistory(5));
    const out = await scoreTransaction(txn(2, { deviceId: 'd-new', merchantCategory: 'gambling' }), h.ports, h.config);
    // score = 0.05 + 0.5·1 + 0.4·0.8; contributions = weight · (x − baseline), baseline category_risk 0.1
    expect(out.score).toBeCloseTo(0.87, 6);
    expect(out.decision).toBe('decline');
    expect(out.explanation.map((a) => a.feature)).toEqual(['is_new_device', 'category_risk']);
    expect(out.explanation[0]?.contribution).toBeCloseTo(0.5, 6);
    expect(out.explanation[1]?.contribution).toBeCloseTo(0.28, 6);
  });

  it('GIVEN more non-zero attributions than k WHEN ranking THEN the k largest by absolute value come first, ties in feature order', () => {
    const out = topAttributions(['a', 'b', 'c', 'd'], 0.5, [0.6, 0.5, 0.2, 0.8], 2);
    expect(out).toEqual([
      { feature: 'c', contribution: 0.3 },
      { feature: 'd', contribution: -0.3 },
    ]);
  });
});

describe('idempotency per transactionId', () => {
  it('GIVEN a scored transaction WHEN the same body is retried THEN the stored decision returns and the record is untouched', async () => {
    const h = harness();
    const first = await scoreTransaction(txn(3, { merchantCategory: 'gambling' }), h.ports, h.config);
    const stored = structuredClone(h.decisions.records.get('t-3'));
    const again = await scoreTransaction({ ...txn(3, { merchantCategory: 'gambling' }) }, h.ports, h.config);
    expect(again).toEqual(first);
    expect(h.decisions.records.size).toBe(1);
    // The outbox relays a decision once per INSERT of its audit record: a retry must not write it again.
    expect(h.decisions.records.get('t-3')).toEqual(stored);
  });

  it('GIVEN a scored transaction WHEN another body arrives under the same id THEN ConflictError and the record is kept', async () => {
    const h = harness();
    await scoreTransaction(txn(4), h.ports, h.config);
    const stored = structuredClone(h.decisions.records.get('t-4'));
    await expect(scoreTransaction(txn(4, { amount: 999 }), h.ports, h.config)).rejects.toThrow(ConflictError);
    expect(h.decisions.records.get('t-4')).toEqual(stored);
  });

  it('GIVEN the same fields in another key order WHEN hashing the request THEN the hash is equal', () => {
    const a = txn(5);
    const b = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
    expect(requestHash(b)).toBe(requestHash(a));
    expect(requestHash({ ...a, amount: 41 })).not.toBe(requestHash(a));
  });
});

describe('fallback to the rules scorer', () => {
  const risky = (n: number) => txn(n, { deviceId: 'd-new', merchantCategory: 'gambling' });

  it('GIVEN the endpoint hangs WHEN the timeout fires THEN the rules decide with degraded=true and their reasons', async () => {
    const h = harness({ timeoutMs: 30 });
    h.features.customers.set('c-1', customerWithHistory(5));
    h.model.mode = 'hang';
    const started = performance.now();
    const out = await scoreTransaction(risky(10), h.ports, h.config);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(h.fallbacks).toEqual(['timeout']);
    expect(out.degraded).toBe(true);
    expect(out.model).toEqual(RULES_MODEL);
    expect(out.reasons).toEqual(
      expect.arrayContaining(['device never seen for this customer', 'high-risk category gambling']),
    );
    // The rules are explained by the same occlusion: the features that fired carry the contribution.
    expect(out.explanation.map((a) => a.feature)).toEqual(expect.arrayContaining(['is_new_device', 'category_risk']));
    expect(out.explanation.every((a) => a.contribution > 0)).toBe(true);
  });

  it('GIVEN the endpoint errors WHEN scoring THEN the fallback reason is error', async () => {
    const h = harness();
    h.model.mode = 'error';
    const out = await scoreTransaction(risky(11), h.ports, h.config);
    expect(h.fallbacks).toEqual(['error']);
    expect(out.degraded).toBe(true);
  });

  it('GIVEN consecutive failures WHEN the circuit opens THEN calls fail fast without the endpoint, and recover after half-open', async () => {
    // The breaker's clock is Date: frozen here and moved past half-open explicitly, so no wait and no race.
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS] });
    try {
      const h = harness({ breakAfter: 2, halfOpenAfterMs: 10_000 });
      h.model.mode = 'error';
      await scoreTransaction(risky(20), h.ports, h.config);
      await scoreTransaction(risky(21), h.ports, h.config);
      expect(h.breaker.breaker.state).toBe(CircuitState.Open);
      const open = await scoreTransaction(risky(22), h.ports, h.config);
      expect(open.degraded).toBe(true);
      expect(h.model.calls).toHaveLength(2);
      expect(h.fallbacks).toEqual(['error', 'error', 'circuit_open']);

      h.model.mode = 'ok';
      jest.setSystemTime(Date.now() + 9_999);
      const stillOpen = await scoreTransaction(risky(24), h.ports, h.config);
      expect(stillOpen.degraded).toBe(true);
      expect(h.model.calls).toHaveLength(2);
      jest.setSystemTime(Date.now() + 1);
      const recovered = await scoreTransaction(risky(23), h.ports, h.config);
      expect(recovered.degraded).toBe(false);
      expect(recovered.model).toEqual({ name: 'fraud-detector', version: '7' });
      expect(h.breaker.breaker.state).toBe(CircuitState.Closed);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('the audit record (the one write; the outbox derives events and the log line from it)', () => {
  it('GIVEN a declined transaction WHEN scoring THEN the audit record holds model, features, hashes, TTL, reasons and explanation', async () => {
    const h = harness();
    const customer = customerWithHistory(5);
    h.features.customers.set('c-1', customer);
    const t = txn(30, { deviceId: 'd-new', merchantCategory: 'gambling' });
    const out = await scoreTransaction(t, h.ports, h.config);

    const record = h.decisions.records.get('t-30') as DecisionRecord;
    expect(DecisionRecord.parse(record)).toEqual(record);
    const vector = computeFeatures(t, customer, h.features.merchants.get('m-1') ?? (await h.features.read(t)).merchant);
    expect(record.features).toEqual(featureRecord(vector));
    const f32 = Buffer.from(new Float32Array(vector).buffer);
    expect(record.featureHash).toBe(createHash('sha256').update(f32).digest('hex'));
    expect(record.featureHash).toBe(featureHash(vector));
    expect(record).toMatchObject({
      transactionId: 't-30',
      customerId: 'c-1',
      transaction: t,
      decision: 'decline',
      degraded: false,
      model: { name: 'fraud-detector', version: '7' },
      decidedAt: NOW.toISOString(),
      expiresAt: Math.floor(NOW.getTime() / 1000) + 30 * 86_400,
      requestHash: requestHash(t),
      score: out.score,
      explanation: out.explanation,
      reasons: out.reasons,
    });
    expect(record.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('GIVEN an approved transaction WHEN scoring THEN the audit record says approve with its score', async () => {
    const h = harness();
    const out = await scoreTransaction(txn(31), h.ports, h.config);
    expect(out.decision).toBe('approve');
    expect(h.decisions.records.get('t-31')).toMatchObject({ decision: 'approve', score: out.score, degraded: false });
  });
});
