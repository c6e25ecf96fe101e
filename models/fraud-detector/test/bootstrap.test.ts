// The committed bootstrap model: what every synth bundles as the first champion and the local stage serves until you
// train your own. It must match the manifest and have passed the quality gate, or it must not ship.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifest } from '../../shared/manifest.js';
import { BOOTSTRAP_FILES } from '../../shared/training.js';
import { checkQuality, readMetrics } from '../src/gate.js';
import { MODEL_DIR } from '../src/pipeline.js';

const bootstrap = join(MODEL_DIR, 'bootstrap');
const manifest = loadManifest(MODEL_DIR);

describe('GIVEN the committed bootstrap model', () => {
  test('THEN it holds every file serving and monitoring need', () => {
    for (const file of BOOTSTRAP_FILES) {
      expect([file, existsSync(join(bootstrap, file))]).toEqual([file, true]);
    }
  });

  test('THEN it was trained on exactly the manifest features, in input order', () => {
    const card = JSON.parse(readFileSync(join(bootstrap, 'model-card.json'), 'utf8')) as { features: string[] };
    expect(card.features).toEqual(manifest.features);
  });

  test('THEN its card describes this very model.onnx (no stale card beside a retrained model)', () => {
    const card = JSON.parse(readFileSync(join(bootstrap, 'model-card.json'), 'utf8')) as Record<string, unknown>;
    const digest = createHash('sha256')
      .update(readFileSync(join(bootstrap, 'model.onnx')))
      .digest('hex');
    expect(JSON.stringify(card)).toContain(digest);
  });

  test('THEN it passed the manifest quality gate (≥ 1.3× the rules recall at a 1% alert rate)', () => {
    const verdict = checkQuality(readMetrics(join(bootstrap, 'metrics.json')), manifest.training.qualityGate);
    expect(verdict.problems).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.lift).toBeGreaterThanOrEqual(1.3);
  });
});
