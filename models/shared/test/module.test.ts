// The model-module contract's check: a manifest and a module that describe different models are refused, with the
// difference spelled out, whether the module is handed over or imported from a model folder by path.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest, type ModelManifest } from '../manifest.js';
import { type AnyModelModule, checkModule, loadModule, ModelMismatchError, moduleProblems } from '../module.js';
import { fraudCopy as copy, FRAUD_DIR } from './fixtures.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'model-module-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));
const fraudCopy = (edit: Parameters<typeof copy>[1], name?: string) => copy(work, edit, name);

describe('GIVEN the fraud detector folder', () => {
  test('WHEN its module is loaded by path THEN it implements exactly the model its manifest declares', async () => {
    const manifest = loadManifest(FRAUD_DIR);
    const module = await loadModule(FRAUD_DIR, manifest);
    expect(module.name).toBe(manifest.name);
    expect([...module.features.names]).toEqual(manifest.features);
    expect(moduleProblems(manifest, module, FRAUD_DIR)).toEqual([]);
  });
});

describe('GIVEN a manifest that disagrees with its module', () => {
  test('WHEN a feature is renamed THEN loading is refused naming the missing and the unexpected feature', async () => {
    const dir = fraudCopy((m) => {
      m.features = m.features.map((f) => (f === 'log_amount' ? 'amount_log' : f));
    });
    const attempt = loadModule(dir, loadManifestLoose(dir));
    await expect(attempt).rejects.toBeInstanceOf(ModelMismatchError);
    await expect(attempt).rejects.toThrow(
      /model\.json and src\/module\.ts disagree:\n {2}- features missing from the model: amount_log\n {2}- features not in the manifest: log_amount/,
    );
  });

  test('WHEN two features swap places THEN loading is refused naming both positions', async () => {
    const dir = fraudCopy((m) => {
      m.features = [m.features[1] as string, m.features[0] as string, ...m.features.slice(2)];
    });
    await expect(loadModule(dir, loadManifest(dir))).rejects.toThrow(
      /features in a different order: hour_sin \(manifest #0, model #1\), log_amount \(manifest #1, model #0\)/,
    );
  });

  test('WHEN the manifest names another model THEN the names are both given', async () => {
    const dir = fraudCopy((m) => {
      m.name = 'card-fraud';
    }, 'card-fraud');
    await expect(loadModule(dir, loadManifest(dir))).rejects.toThrow(
      /the manifest names 'card-fraud' but the module names 'fraud-detector'/,
    );
  });
});

describe('GIVEN a model folder without a proper module', () => {
  test('WHEN it has no src/module.ts THEN it is refused saying every model folder needs one', async () => {
    const dir = fraudCopy(() => {});
    rmSync(join(dir, 'src'), { recursive: true });
    await expect(loadModule(dir, loadManifest(dir))).rejects.toThrow(
      /no src\/module\.ts: every model folder needs one/,
    );
  });

  test('WHEN src/module.ts exports something else THEN it is refused saying what is expected', async () => {
    const dir = fraudCopy(() => {});
    writeFileSync(join(dir, 'src', 'module.ts'), 'export default { name: "fraud-detector" };\n');
    await expect(loadModule(dir, loadManifest(dir))).rejects.toThrow(/has no default export implementing ModelModule/);
  });
});

describe('GIVEN a module handed over directly', () => {
  const manifest = { name: 'toy', features: ['a', 'b'] } as unknown as ModelManifest;
  const toy = (over: Partial<AnyModelModule> = {}): AnyModelModule =>
    ({
      name: 'toy',
      features: { names: ['a', 'b'], compute: () => [0, 0] },
      explanation: { reference: [0, 0] },
      training: { script: 'train.py' },
      ...over,
    }) as AnyModelModule;

  test('WHEN everything matches but the script is missing THEN that alone is reported', () => {
    expect(moduleProblems(manifest, toy(), work)).toEqual(['the training script train.py is not in the model folder']);
  });

  test('WHEN the explanation reference has the wrong length THEN checkModule throws saying both counts', () => {
    writeFileSync(join(work, 'train.py'), '');
    expect(() => checkModule(manifest, toy({ explanation: { reference: [0] } }), work)).toThrow(
      /the explanation reference has 1 values for 2 features/,
    );
    expect(() => checkModule(manifest, toy(), work)).not.toThrow();
  });
});

/** The manifest schema refuses per-feature thresholds of unknown features, so a rename drops them first. */
function loadManifestLoose(dir: string): ModelManifest {
  const raw = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { monitoring: Record<string, unknown> };
  delete raw.monitoring.featureThresholds;
  writeFileSync(join(dir, 'model.json'), JSON.stringify(raw));
  return loadManifest(dir);
}
