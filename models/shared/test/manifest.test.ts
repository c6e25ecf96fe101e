// Tests the generic model manifest schema and loader: valid manifests load, broken ones fail with clear messages.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest, ManifestError, parseManifest } from '../manifest.js';

const valid = () => ({
  name: 'toy-model',
  description: 'a toy',
  features: ['a', 'b_c'],
  label: 'label',
  serving: {
    container: 'triton',
    inputName: 'features',
    outputName: 'score',
    instanceType: { dev: 'ml.m5.large', staging: 'ml.g5.xlarge', prod: 'ml.g5.xlarge' },
    capacity: { dev: { min: 1, max: 1 }, staging: { min: 1, max: 2 }, prod: { min: 2, max: 4 } },
    capturePercent: { dev: 100, staging: 50, prod: 10 },
    maxBatchSize: 64,
    maxQueueDelayMicroseconds: 1000,
    timeoutMs: 100,
  },
  monitoring: { schedule: 'hourly', psiThreshold: 0.2, driftWindowMinutes: 60, minSamples: 100 },
  training: {
    instanceType: 'ml.g5.xlarge',
    hyperparameters: { epochs: 3, hidden_units: '8' },
    qualityGate: { minAucPr: 0.1, minRecallLiftVsRules: 1.3, maxRegressionVsChampion: 0.05 },
  },
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'manifest-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('model manifest', () => {
  it('GIVEN a complete manifest WHEN parsed THEN its typed fields come back', () => {
    const m = parseManifest(valid());
    expect(m.serving.instanceType.staging).toBe('ml.g5.xlarge');
    expect(m.training.qualityGate.minRecallLiftVsRules).toBe(1.3);
  });

  it('GIVEN the fraud-detector folder WHEN loaded THEN its manifest validates', () => {
    const m = loadManifest(join(import.meta.dirname, '..', '..', 'fraud-detector'));
    expect(m.name).toBe('fraud-detector');
    expect(m.serving.instanceType.prod).toMatch(/^ml\.g5\./);
  });

  it('GIVEN a wrong nested field WHEN loaded THEN the error names the file, the field path and what was expected', () => {
    const bad = valid();
    (bad.serving.instanceType as Record<string, string>).prod = 'g5.xlarge';
    writeFileSync(join(dir, 'model.json'), JSON.stringify(bad));
    expect(() => loadManifest(dir)).toThrow(ManifestError);
    expect(() => loadManifest(dir)).toThrow(
      new RegExp(
        `${join(dir, 'model.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*serving\\.instanceType\\.prod: expected a SageMaker instance type`,
      ),
    );
  });

  it('GIVEN duplicate features, a non-kebab name and min > max WHEN parsed THEN every problem is listed', () => {
    const bad = valid();
    bad.name = 'Toy_Model';
    bad.features = ['a', 'b_c', 'a'];
    bad.serving.capacity.prod = { min: 5, max: 2 };
    let error: ManifestError | undefined;
    try {
      parseManifest(bad, 'x/model.json');
    } catch (err) {
      error = err as ManifestError;
    }
    expect(error?.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: expected a kebab-case name/),
        expect.stringMatching(/^features\[2\]: expected unique feature names, 'a' repeats/),
        expect.stringMatching(/^serving\.capacity\.prod: expected min <= max/),
      ]),
    );
  });

  it('GIVEN a threshold for an unknown feature or an unknown key WHEN parsed THEN both are refused', () => {
    const bad = { ...valid(), extra: true, monitoring: { ...valid().monitoring, featureThresholds: { zz: {} } } };
    expect(() => parseManifest(bad)).toThrow(/monitoring\.featureThresholds\.zz: expected a feature listed/);
    expect(() => parseManifest(bad)).toThrow(/\(root\): Unrecognized key.*extra/);
  });

  it('GIVEN a missing file or broken JSON WHEN loaded THEN the error says which and where', () => {
    expect(() => loadManifest(dir)).toThrow(/model\.json:\n {2}- cannot read file/);
    writeFileSync(join(dir, 'model.json'), '{ "name": ');
    expect(() => loadManifest(dir)).toThrow(/not valid JSON/);
  });
});
