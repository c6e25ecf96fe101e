// The merchant-risk module against the contract: the manifest and module agree, the platform can load it by path, and
// its policy, baseline and reference mean what they say.
import { join } from 'node:path';
import { EntityLabel } from '../../shared/contracts/entity-label.js';
import { loadManifest, parseManifest } from '../../shared/manifest.js';
import { loadModule, moduleProblems } from '../../shared/module.js';
import { FEATURE_NAMES, type MerchantDay } from '../src/features.js';
import merchantRisk, { REFERENCE_DAY } from '../src/module.js';
import { MODEL_DIR } from '../src/pipeline.js';

const manifest = loadManifest(MODEL_DIR);
const quiet: MerchantDay = {
  merchantId: 'm-1',
  date: '2026-03-08',
  count: 9,
  amountSum: 420,
  amountMax: 90,
  smallCount: 0,
  distinctCustomers: 9,
  newCustomers: 3,
  nightCount: 0,
  crossBorderCount: 0,
  onlineCount: 0,
};
const probed: MerchantDay = { ...quiet, count: 14, amountSum: 450, smallCount: 8, newCustomers: 9, nightCount: 6 };

describe('GIVEN the merchant-risk model folder', () => {
  test('WHEN the platform loads it by path THEN the manifest and module describe the same model', async () => {
    expect(moduleProblems(manifest, merchantRisk, MODEL_DIR)).toEqual([]);
    await expect(loadModule(MODEL_DIR, manifest)).resolves.toBe(merchantRisk);
    expect(merchantRisk.features.names).toEqual(manifest.features);
  });

  test('WHEN its manifest is read THEN it is served in real time and nightly in batch', () => {
    expect(manifest.serving.modes).toEqual(['realtime', 'batch']);
    expect(manifest.serving.batch?.schedule).toMatch(/^cron\(/);
    expect(manifest.monitoring.schedule).toBe('daily');
  });

  test('WHEN a fraud-shaped manifest without modes is read THEN it stays realtime-only', () => {
    const fraud = loadManifest(join(MODEL_DIR, '..', 'fraud-detector'));
    expect(fraud.serving.modes).toEqual(['realtime']);
    expect(fraud.serving.batch).toBeUndefined();
  });

  test('WHEN the batch mode comes without its block (or the reverse) THEN the manifest is refused', () => {
    const raw = JSON.parse(JSON.stringify(manifest)) as { serving: Record<string, unknown> };
    const { batch, ...noBatch } = raw.serving;
    expect(() => parseManifest({ ...raw, serving: noBatch })).toThrow(/serving\.batch: expected a 'batch' block/);
    expect(() => parseManifest({ ...raw, serving: { ...raw.serving, modes: ['realtime'] } })).toThrow(
      /expected the 'batch' mode/,
    );
    expect(() => parseManifest({ ...raw, serving: { ...raw.serving, modes: ['batch', 'batch'] } })).toThrow(
      /at most once/,
    );
    expect(() =>
      parseManifest({ ...raw, serving: { ...raw.serving, batch: { ...(batch as object), schedule: 'nightly' } } }),
    ).toThrow(/cron/);
  });

  test('WHEN a merchant-day is folded and scored THEN state, features and baseline come from the feature module', () => {
    const merchant = merchantRisk.entities.merchantHistory;
    // A week of quiet days: against one active day in seven, a quiet day would be a volume spike.
    const state = [1, 2, 3, 4, 5, 6, 7]
      .map((d) => ({ ...quiet, date: `2026-03-0${d}` }))
      .reduce(merchant.fold, merchant.empty());
    expect(merchant.fold(state, { ...quiet, date: '2026-03-07' })).toBe(state);
    expect(merchant.key(quiet)).toBe('m-1');
    const calm = merchantRisk.baseline.score(merchantRisk.features.compute(quiet, { merchantHistory: state }), quiet);
    const alarm = merchantRisk.baseline.score(
      merchantRisk.features.compute(probed, { merchantHistory: state }),
      probed,
    );
    expect(calm).toEqual({ score: 0, reasons: [] });
    expect(alarm.score).toBeGreaterThan(0.5);
    expect(alarm.reasons[0]).toMatch(/^night activity: 43% of 14 transactions/);
    expect(merchantRisk.baseline.model.name).toBe('merchant-rules');
  });

  test('WHEN the policy reads probabilities THEN it watches, then holds for review, and refuses nonsense bands', () => {
    const bands = { watch: 0.2, blockReview: 0.6 };
    expect([0.05, 0.2, 0.59, 0.6, 1].map((p) => merchantRisk.policy.decide(p, bands))).toEqual([
      'clear',
      'watch',
      'watch',
      'block-review',
      'block-review',
    ]);
    expect(() => merchantRisk.policy.validate({ watch: 0.7, blockReview: 0.6 })).toThrow(/0 < watch <= blockReview/);
    expect(() => merchantRisk.policy.validate({ watch: 0, blockReview: 0.6 })).toThrow(/got 0 and 0.6/);
  });

  test('WHEN explanations occlude features THEN the reference is an unremarkable day the rules leave alone', () => {
    expect(merchantRisk.explanation.reference).toEqual(FEATURE_NAMES.map((n) => REFERENCE_DAY[n]));
    expect(merchantRisk.baseline.score(merchantRisk.explanation.reference, quiet).score).toBe(0);
  });
});

describe('GIVEN merchant-risk’s own label (a merchant compromised, or not, on a day)', () => {
  const labels = merchantRisk.labels as NonNullable<typeof merchantRisk.labels>;
  const report = { merchantId: 'm-1', date: '2026-03-09', compromised: true, reportedAt: '2026-03-10T08:00:00+01:00' };

  test('WHEN a report is read THEN the default source applies and it becomes the platform’s EntityLabel', () => {
    const label = labels.schema.parse(report);

    expect(labels.toEntityLabel(label)).toEqual(
      EntityLabel.parse({
        entityId: 'm-1',
        day: '2026-03-09',
        outcome: true,
        reportedAt: '2026-03-10T08:00:00+01:00',
        source: 'investigation',
      }),
    );
    expect({ entity: labels.entity, outcome: labels.outcome }).toEqual({ entity: 'merchant', outcome: 'compromised' });
  });

  test.each([
    ['no day', { ...report, date: undefined }],
    ['a timestamp for the day', { ...report, date: '2026-03-09T00:00:00Z' }],
    ['a reportedAt without a zone', { ...report, reportedAt: '2026-03-10T08:00:00' }],
    ['a transaction label', { transactionId: 't-1', isFraud: true, reportedAt: '2026-03-10T08:00:00Z' }],
    ['an unknown field', { ...report, confidence: 0.9 }],
  ])('WHEN a report has %s THEN the schema refuses it', (_what, body) => {
    expect(labels.schema.safeParse(body).success).toBe(false);
  });
});
