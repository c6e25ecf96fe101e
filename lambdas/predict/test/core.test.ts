// The predict core over the merchant-risk module: the model's own policy decides, occlusion explains, the audit record
// is written once per idempotency key, and the baseline answers when the model cannot.
import merchantRisk from '../../../models/merchant-risk/src/module.js';
import { PredictionRecord, PredictResponse } from '../../shared/contracts/api.js';
import { ConflictError } from '../../shared/errors.js';
import { featureHash, requestHash } from '../../shared/inference.js';
import { predict, validatePredictConfig } from '../core.js';
import { day, harness, quietWeek } from './fakes.js';

describe('GIVEN a merchant-day and a model that answers', () => {
  it('WHEN predicted THEN the policy outcome at the thresholds, explained by occlusion, audited under prediction#<model>#<key>', async () => {
    const h = harness();
    h.features.histories.set('m-1', quietWeek());
    const request = day({ count: 10, nightCount: 4 });
    const out = PredictResponse.parse(await predict(request, 'k-1', h.ports, h.config));
    expect(out.prediction).toEqual({ score: 0.4, outcome: 'block-review' });
    expect(out).toMatchObject({ auditId: 'prediction#merchant-risk#k-1', degraded: false, latencyMs: 2.5 });
    expect(out.model).toEqual({ name: 'merchant-risk', version: '3' });
    // The stub scores night_share; its reference value is 0, so its contribution is the whole score and the only one.
    expect(out.explanation).toEqual([{ feature: 'night_share', contribution: 0.4 }]);
    expect(h.model.calls).toHaveLength(1);
    expect(h.model.calls[0]?.rows).toHaveLength(merchantRisk.features.names.length + 1);
    expect(h.model.calls[0]?.inferenceId).toBe('prediction#merchant-risk#k-1');

    const record = PredictionRecord.parse(h.predictions.records.get('prediction#merchant-risk#k-1'));
    const vector = merchantRisk.features.compute(request, { merchantHistory: quietWeek() });
    expect(record).toMatchObject({
      transactionId: out.auditId,
      kind: 'prediction',
      modelName: 'merchant-risk',
      idempotencyKey: 'k-1',
      request,
      featureHash: featureHash(vector),
      requestHash: requestHash(request),
      predictedAt: '2026-03-09T00:40:00.000Z',
      expiresAt: Date.parse('2026-03-09T00:40:00.000Z') / 1000 + 30 * 86_400,
    });
    expect(record.features.night_share).toBeCloseTo(0.4, 12);
  });

  it.each([
    [0.0, 'clear'],
    [0.07, 'watch'],
    [0.2499, 'watch'],
    [0.25, 'block-review'],
  ])(
    'WHEN the model scores %p THEN the outcome is %s (the environment’s cuts, the model’s own vocabulary)',
    async (score, outcome) => {
      const h = harness();
      Object.assign(h.model, { scoreRow: () => score });
      const out = await predict(day(), `k-${score}`, h.ports, h.config);
      expect(out.prediction.outcome).toBe(outcome);
    },
  );

  it('WHEN the state read happens THEN it is the request that keys it (the merchant’s history, empty when never seen)', async () => {
    const h = harness();
    const request = day({ merchantId: 'm-new' });
    const out = await predict(request, 'k-2', h.ports, h.config);
    expect(h.features.reads).toEqual([request]);
    const record = h.predictions.records.get(out.auditId);
    expect(record?.features.active_days_share).toBe(
      merchantRisk.features.compute(request, { merchantHistory: { days: [] } })[13],
    );
  });
});

describe('GIVEN an idempotency key already used', () => {
  it('WHEN the same body is retried (keys in another order) THEN the stored prediction returns and nothing new is written', async () => {
    const h = harness();
    const first = await predict(day({ nightCount: 2 }), 'k-3', h.ports, h.config);
    Object.assign(h.model, { scoreRow: () => 0.99 });
    const reordered = Object.fromEntries(Object.entries(day({ nightCount: 2 })).reverse());
    const again = await predict(reordered, 'k-3', h.ports, h.config);
    expect(again).toEqual(first);
    expect(h.predictions.records.size).toBe(1);
  });

  it('WHEN another body uses the key THEN ConflictError and the first record stays', async () => {
    const h = harness();
    await predict(day(), 'k-4', h.ports, h.config);
    await expect(predict(day({ count: 11 }), 'k-4', h.ports, h.config)).rejects.toThrow(ConflictError);
    expect(h.predictions.records.get('prediction#merchant-risk#k-4')?.request.count).toBe(9);
  });
});

describe('GIVEN the model fails', () => {
  it('WHEN predicted THEN the baseline scores and explains it, degraded, and the observer hears why', async () => {
    const h = harness();
    h.model.mode = 'error';
    const request = day({ count: 14, amountSum: 450, smallCount: 8, newCustomers: 9, nightCount: 6 });
    const out = await predict(request, 'k-5', h.ports, h.config);
    const vector = merchantRisk.features.compute(request, { merchantHistory: { days: [] } });
    const baseline = merchantRisk.baseline.score(vector, request);
    expect(out).toMatchObject({ degraded: true, model: merchantRisk.baseline.model });
    expect(out.prediction.score).toBe(baseline.score);
    expect(out.prediction.outcome).toBe(merchantRisk.policy.decide(baseline.score, { watch: 0.07, blockReview: 0.25 }));
    expect(out.reasons).toEqual(baseline.reasons);
    expect(out.explanation.length).toBeGreaterThan(0);
    expect(h.fallbacks).toEqual(['error']);
  });
});

describe('GIVEN the route’s configuration', () => {
  it('WHEN the thresholds, TTL or module are wrong THEN it refuses to start, saying why', () => {
    const { config } = harness();
    expect(() => validatePredictConfig(config)).not.toThrow();
    expect(() => validatePredictConfig({ ...config, thresholds: { watch: 0.5, blockReview: 0.2 } })).toThrow(
      /watch <= blockReview/,
    );
    expect(() => validatePredictConfig({ ...config, auditTtlDays: 0 })).toThrow(/auditTtlDays/);
    expect(() => validatePredictConfig({ ...config, modelName: 'fraud-detector' })).toThrow(
      /bundled module is merchant-risk/,
    );
  });
});
