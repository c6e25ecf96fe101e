// The merchant-risk quality gate, and the committed bootstrap model every synth bundles: it passed that gate on
// held-out days and describes exactly the manifest's features.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifest } from '../../shared/manifest.js';
import { BOOTSTRAP_FILES } from '../../shared/training.js';
import { checkMerchantQuality, type MerchantMetrics, readMerchantMetrics } from '../src/gate.js';
import { MODEL_DIR } from '../src/pipeline.js';

const manifest = loadManifest(MODEL_DIR);
const gate = manifest.training.qualityGate;
const metrics = (model: [number, number], rules: [number, number]): MerchantMetrics => ({
  model: { aucPr: model[0], recallAt1pct: model[1] },
  rules: { aucPr: rules[0], recallAt1pct: rules[1] },
});

describe('GIVEN the merchant-risk quality gate', () => {
  test('WHEN the model finds 1.5× the rules’ compromises and ranks better THEN it passes with its lift', () => {
    const verdict = checkMerchantQuality(metrics([0.6, 0.6], [0.2, 0.3]), gate);
    expect(verdict).toEqual({ passed: true, problems: [], lift: 2 });
  });

  test('WHEN the model is only slightly better than the rules THEN it fails and says by how much', () => {
    const verdict = checkMerchantQuality(metrics([0.45, 0.4], [0.5, 0.3]), gate);
    expect(verdict.passed).toBe(false);
    expect(verdict.problems).toEqual([
      "recall@1% 0.4000 is below 1.5 × the rules' 0.3000",
      "AUC-PR 0.4500 does not beat the rules' 0.5000",
    ]);
  });

  test('WHEN metrics.json has no rules scores THEN reading it says what is missing', () => {
    expect(() => readMerchantMetrics(join(MODEL_DIR, 'no-such-metrics.json'))).toThrow(/wrote no metrics file/);
  });
});

describe('GIVEN the committed merchant-risk bootstrap model', () => {
  const bootstrap = join(MODEL_DIR, 'bootstrap');

  test('THEN it holds what serving and monitoring need, and its card describes this model.onnx', () => {
    for (const file of BOOTSTRAP_FILES) {
      expect([file, existsSync(join(bootstrap, file))]).toEqual([file, true]);
    }
    const card = JSON.parse(readFileSync(join(bootstrap, 'model-card.json'), 'utf8')) as {
      features: string[];
      modelSha256: string;
    };
    expect(card.features).toEqual(manifest.features);
    expect(card.modelSha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(bootstrap, 'model.onnx')))
        .digest('hex'),
    );
  });

  test('THEN it passed the manifest gate on held-out days', () => {
    const verdict = checkMerchantQuality(readMerchantMetrics(join(bootstrap, 'metrics.json')), gate);
    expect(verdict.problems).toEqual([]);
    expect(verdict.lift).toBeGreaterThanOrEqual(gate.minRecallLiftVsRules);
  });
});
