// The synth refuses a model folder whose manifest and module disagree, or thresholds its policy refuses, before any
// stage is built (bin/aims.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { environments } from '../lib/config/environments.js';
import { checkModelModules, discoverModels } from '../lib/config/models.js';
import { fraudCopy, MODELS_ROOT } from '../models/shared/test/fixtures.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'model-modules-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('GIVEN the model folders', () => {
  test('WHEN the app checks the real ones THEN every manifest matches its module', async () => {
    await expect(checkModelModules(discoverModels(MODELS_ROOT))).resolves.toBeUndefined();
  });

  test('WHEN a manifest lacks a feature its module computes THEN the check is refused naming it', async () => {
    fraudCopy(work, (m) => {
      m.features = m.features.slice(0, -1);
    });
    await expect(checkModelModules(discoverModels(join(work, 'models')))).rejects.toThrow(
      /models\/fraud-detector: model\.json and src\/module\.ts disagree:\n {2}- features not in the manifest: merch_velocity_ratio/,
    );
  });

  test('WHEN an environment sets thresholds the model’s policy refuses THEN the check is refused naming both', async () => {
    const models = discoverModels(MODELS_ROOT);
    const serving = environments.Dev.models['fraud-detector'];
    await expect(checkModelModules(models, { Dev: environments.Dev.models })).resolves.toBeUndefined();
    const inverted = { 'fraud-detector': { ...serving, thresholds: { review: 0.95, decline: 0.9 } } };
    await expect(checkModelModules(models, { Staging: inverted })).rejects.toThrow(
      'Staging: the thresholds of fraud-detector: thresholds must satisfy 0 <= review <= decline <= 1, got 0.95 and 0.9',
    );
  });
});
