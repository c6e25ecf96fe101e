// The server refuses to start on an artifact that does not match its manifest, and says exactly why.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFeatureMismatch } from '../../shared/module.js';
import { FEATURES, makeFixtureModel, makeTempDir, removeDir, repoRoot, runRefusingServer } from './support.js';

let root: string;

beforeAll(() => {
  root = makeTempDir('model-server-refusal');
});

afterAll(() => removeDir(root));

const failure = (logs: { event: string; error?: unknown }[]) =>
  logs.find((l) => l.event === 'model_load_failed')?.error;

test('GIVEN a model card whose features differ from the manifest WHEN the server starts THEN it exits 1 naming them', async () => {
  const dir = makeFixtureModel(join(root, 'renamed'), {
    cardFeatures: [
      'amount',
      'hour_of_day',
      'txn_count_24h',
      'amount_sum_24h',
      'distinct_merchants_7d',
      'country_changed',
    ],
  });
  const { code, logs } = await runRefusingServer(['--model-dir', dir]);
  expect(code).toBe(1);
  expect(failure(logs)).toMatch(
    /feature list of model-card.json differs from the manifest .*model.json — missing from the model: txn_count_1h; not in the manifest: txn_count_24h/,
  );
  expect(logs.some((l) => l.event === 'model_loaded')).toBe(false);
});

test('GIVEN the same features in another order WHEN the server starts THEN it exits 1 naming the moved features', async () => {
  const reordered = [FEATURES[1], FEATURES[0], ...FEATURES.slice(2)];
  const dir = makeFixtureModel(join(root, 'reordered'), { cardFeatures: reordered });
  const { code, logs } = await runRefusingServer(['--model-dir', dir]);
  expect(code).toBe(1);
  expect(failure(logs)).toMatch(
    /in a different order: amount \(manifest #0, model #1\), hour_of_day \(manifest #1, model #0\)/,
  );
});

test('GIVEN an ONNX input narrower than the feature list WHEN the server starts THEN it exits 1 naming both widths', async () => {
  const dir = makeFixtureModel(join(root, 'narrow'), { onnxWidth: 5 });
  const { code, logs } = await runRefusingServer(['--model-dir', dir]);
  expect(code).toBe(1);
  expect(failure(logs)).toMatch(/model.onnx input 'features' is 5 wide but the manifest lists 6 features/);
});

test('GIVEN no manifest beside or above the artifact WHEN the server starts THEN it exits 1 asking for --manifest-dir', async () => {
  const { code, logs } = await runRefusingServer(['--model-dir', join(root, 'missing', 'deeper')]);
  expect(code).toBe(1);
  expect(failure(logs)).toMatch(/no model.json manifest in .*; pass --manifest-dir/);
});

test('GIVEN a CLI argument other than serve WHEN the server starts THEN it exits 2 with usage', async () => {
  const { code } = await runRefusingServer(['train']);
  expect(code).toBe(2);
});

describe('describeFeatureMismatch', () => {
  test('GIVEN equal lists THEN no problems', () => {
    expect(describeFeatureMismatch(['a', 'b'], ['a', 'b'])).toEqual([]);
  });
  test('GIVEN a repeated feature THEN it is reported', () => {
    expect(describeFeatureMismatch(['a', 'b'], ['a', 'b', 'b'])).toEqual(['repeated features']);
  });
});

test('GIVEN a manifest whose features differ from its model module WHEN the server starts THEN it exits 1 naming them', async () => {
  // The fraud detector's own module and bootstrap model, under a manifest with one feature renamed.
  const fraud = join(repoRoot, 'models', 'fraud-detector');
  const manifestDir = join(root, 'module-mismatch');
  mkdirSync(join(manifestDir, 'src'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(fraud, 'model.json'), 'utf8')) as { features: string[] };
  manifest.features = manifest.features.map((f) => (f === 'country_changed' ? 'country_switched' : f));
  writeFileSync(join(manifestDir, 'model.json'), JSON.stringify(manifest));
  writeFileSync(join(manifestDir, 'train.py'), '');
  writeFileSync(join(manifestDir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(manifestDir, 'src', 'module.ts'),
    `export { default } from ${JSON.stringify(join(fraud, 'src', 'module.ts'))};\n`,
  );
  const { code, logs } = await runRefusingServer([
    ...['--model-dir', join(fraud, 'bootstrap'), '--manifest-dir', manifestDir],
  ]);
  expect(code).toBe(1);
  expect(failure(logs)).toMatch(
    /model\.json and src\/module\.ts disagree:\n {2}- features missing from the model: country_switched\n {2}- features not in the manifest: country_changed/,
  );
  expect(logs.some((l) => l.event === 'model_loaded')).toBe(false);
});
