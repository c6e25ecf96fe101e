// train.py end to end on a synthetic channel: artifacts, determinism, PyTorch↔ONNX parity, SageMaker conventions.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_PYTHON, ensureTorch, runPython, TorchMissingError } from '../../shared/python.js';
import { SHARED_TRAINER, sourceHashes, trainingSources } from '../../shared/training.js';
import { SYNTHETIC_FEATURES, writeSyntheticChannel } from './fixtures/synthetic-channel.js';

const execFileAsync = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const TRAIN_PY = join(here, '..', 'train.py');
const NODE = join(here, '..', '..', '..', 'node_modules', '.bin', 'node');

interface ScoreMetrics {
  aucPr: number;
  rocAuc: number;
  recallAt1pct: number;
  precisionAt1pct: number;
  [key: string]: number;
}
interface Metrics {
  model: ScoreMetrics;
  rules: ScoreMetrics;
  bestEpoch: number;
  epochs: number;
  rows: Record<string, number>;
  timing: Record<string, number>;
  [key: string]: unknown;
}
interface Reference {
  features: string[];
  inputs: number[][];
  scores: number[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

let work: string;
let channel: string;
let python: string;

async function train(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await execFileAsync(python, [TRAIN_PY, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

interface OrtResult {
  inputNames: string[];
  outputNames: string[];
  dims: number[];
  data: number[];
}

/** Runs onnxruntime-node in a child Node process: inside jest's VM, ORT rejects Float32Arrays from another realm. */
async function scoreWithOrt(modelPath: string, batches: number[][][]): Promise<OrtResult[]> {
  const input = join(work, `batches-${batches.length}-${Date.now()}.json`);
  writeFileSync(input, JSON.stringify(batches));
  const { stdout } = await execFileAsync(NODE, [
    join(here, '..', '..', 'shared', 'test', 'fixtures', 'ort-score.mjs'),
    modelPath,
    input,
  ]);
  return JSON.parse(stdout) as OrtResult[];
}

beforeAll(async () => {
  // GIVEN a small synthetic channel with a learnable signal and a coarse rules score
  work = mkdtempSync(join(tmpdir(), 'fd-train-'));
  channel = join(work, 'channel');
  writeSyntheticChannel(channel, { rows: 4000, seed: 11, positiveRate: 0.03 });
  python = await ensureTorch({ allowInstall: false });
  // WHEN train.py runs twice with the same seed (and once with another)
  await Promise.all([
    train([
      '--train',
      channel,
      '--model-dir',
      join(work, 'a'),
      '--seed',
      '5',
      '--reference-out',
      join(work, 'ref.json'),
    ]),
    train(['--train', channel, '--model-dir', join(work, 'b'), '--seed', '5']),
  ]);
  await train(['--train', channel, '--model-dir', join(work, 'c'), '--seed', '6']);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('train.py', () => {
  test('THEN it writes model.onnx, a model card and metrics that describe the model', () => {
    const dir = join(work, 'a');
    const card = readJson<Record<string, unknown>>(join(dir, 'model-card.json'));
    expect(card).toMatchObject({
      name: 'fraud-detector',
      features: [...SYNTHETIC_FEATURES],
      input: { name: 'features', dtype: 'float32', shape: [-1, SYNTHETIC_FEATURES.length] },
      output: { name: 'score', dtype: 'float32', shape: [-1, 1] },
      opset: 17,
      seed: 5,
    });
    expect(card.framework).toMatch(/^pytorch /);
    expect((card.dataset as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(card.modelSha256).toBe(sha256(join(dir, 'model.onnx')));
    expect(card.hyperparameters).toMatchObject({ hidden_units: '64,32', seed: 5 });
    // The training code is part of the model's provenance: the quality test reuses a model only when it is unchanged.
    expect(card.code).toEqual(sourceHashes(trainingSources(join(here, '..'), 'train.py')));
    expect(Object.keys(card.code as object).sort()).toEqual(['aims_training.py', 'train.py']);

    const metrics = readJson<Metrics>(join(dir, 'metrics.json'));
    for (const key of ['aucPr', 'rocAuc', 'recallAt1pct', 'precisionAt1pct']) {
      expect(metrics.model[key]).toBeGreaterThanOrEqual(0);
      expect(metrics.model[key]).toBeLessThanOrEqual(1);
    }
    expect(metrics.rules.recallAt1pct).toBeGreaterThanOrEqual(0);
    expect(metrics.rules.aucPr).toBeGreaterThan(0);
    expect(metrics.rows).toMatchObject({ train: 2800, validation: 600, test: 600 });
    expect(metrics.bestEpoch).toBeGreaterThanOrEqual(1);
    expect(metrics.bestEpoch).toBeLessThanOrEqual(metrics.epochs);
    // The MLP must have learned the combinations the rules score cannot see.
    expect(metrics.model.aucPr).toBeGreaterThan(metrics.rules.aucPr);
    expect(metrics.model.rocAuc).toBeGreaterThan(0.9);
  });

  test('THEN the Model Monitor baseline follows the statistics/constraints schema and PSI bins are usable', () => {
    const base = join(work, 'a', 'baseline');
    const stats = readJson<{
      version: number;
      dataset: { item_count: number };
      features: {
        name: string;
        inferred_type: string;
        numerical_statistics: {
          common: { num_present: number; num_missing: number };
          mean: number;
          sum: number;
          std_dev: number;
          min: number;
          max: number;
          distribution: {
            kll: {
              buckets: { lower_bound: number; upper_bound: number; count: number }[];
              sketch: { data: number[][] };
            };
          };
        };
      }[];
    }>(join(base, 'statistics.json'));
    expect(stats.version).toBe(0);
    expect(stats.dataset.item_count).toBe(2800);
    expect(stats.features.map((f) => f.name)).toEqual([...SYNTHETIC_FEATURES]);
    for (const f of stats.features) {
      const n = f.numerical_statistics;
      expect(f.inferred_type).toBe('Fractional');
      expect(n.common).toEqual({ num_present: 2800, num_missing: 0 });
      expect(n.sum / 2800).toBeCloseTo(n.mean, 6);
      expect(n.min).toBeLessThanOrEqual(n.mean);
      expect(n.max).toBeGreaterThanOrEqual(n.mean);
      expect(n.distribution.kll.buckets).toHaveLength(10);
      expect(n.distribution.kll.buckets.reduce((s, b) => s + b.count, 0)).toBe(2800);
      expect(n.distribution.kll.sketch.data.flat().length).toBeGreaterThan(0);
    }

    const constraints = readJson<{
      version: number;
      features: {
        name: string;
        inferred_type: string;
        completeness: number;
        num_constraints: { is_non_negative: boolean };
      }[];
      monitoring_config: { distribution_constraints: { comparison_threshold: number } };
    }>(join(base, 'constraints.json'));
    expect(constraints.version).toBe(0);
    expect(constraints.features.map((f) => f.name)).toEqual([...SYNTHETIC_FEATURES]);
    expect(constraints.features.every((f) => f.completeness === 1 && f.inferred_type === 'Fractional')).toBe(true);
    expect(constraints.features.find((f) => f.name === 'amount')?.num_constraints.is_non_negative).toBe(true);
    expect(constraints.monitoring_config.distribution_constraints.comparison_threshold).toBe(0.1);

    const psi = readJson<{ features: { name: string; edges: number[]; proportions: number[] }[] }>(
      join(base, 'psi-bins.json'),
    );
    expect(psi.features.map((f) => f.name)).toEqual([...SYNTHETIC_FEATURES]);
    for (const f of psi.features) {
      expect(f.proportions).toHaveLength(f.edges.length + 1);
      expect(f.proportions.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
      f.edges.slice(1).forEach((e, i) => {
        expect(e).toBeGreaterThan(f.edges[i] ?? Number.NEGATIVE_INFINITY);
      });
    }
    // A binary feature collapses to few bins instead of ten identical ones.
    expect(psi.features.find((f) => f.name === 'country_changed')?.edges.length).toBeLessThanOrEqual(2);
  });

  test('THEN the same seed gives identical metrics and model bytes, another seed differs', () => {
    const strip = ({ timing: _timing, ...rest }: Metrics) => rest;
    const a = readJson<Metrics>(join(work, 'a', 'metrics.json'));
    const b = readJson<Metrics>(join(work, 'b', 'metrics.json'));
    const c = readJson<Metrics>(join(work, 'c', 'metrics.json'));
    expect(strip(b)).toEqual(strip(a));
    expect(sha256(join(work, 'b', 'model.onnx'))).toBe(sha256(join(work, 'a', 'model.onnx')));
    expect(c.history).not.toEqual(a.history);
  });

  test('THEN onnxruntime-node agrees with PyTorch within 1e-5 on a fixed batch, at batch sizes 64, 37 and 1', async () => {
    const ref = readJson<Reference>(join(work, 'ref.json'));
    expect(ref.inputs).toHaveLength(64);
    expect(ref.features).toEqual([...SYNTHETIC_FEATURES]);
    const sizes = [64, 37, 1];
    const results = await scoreWithOrt(
      join(work, 'a', 'model.onnx'),
      sizes.map((size) => ref.inputs.slice(0, size)),
    );
    results.forEach((result, k) => {
      expect(result.inputNames).toEqual(['features']);
      expect(result.outputNames).toEqual(['score']);
      expect(result.dims).toEqual([sizes[k], 1]);
      result.data.forEach((value, i) => {
        expect(Math.abs(value - (ref.scores[i] ?? Number.NaN))).toBeLessThan(1e-5);
      });
    });
    // Raw (unstandardised) features go in and a probability comes out: standardisation lives in the graph.
    expect(ref.scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(new Set(ref.scores.map((s) => s.toFixed(6))).size).toBeGreaterThan(10);
  });

  test('WHEN run SageMaker-style (SM_* env, string hyperparameters.json) THEN it honours them', async () => {
    const model = join(work, 'sm-model');
    const output = join(work, 'sm-output');
    const hp = join(work, 'hyperparameters.json');
    writeFileSync(hp, JSON.stringify({ epochs: '2', hiddenLayers: '16', seed: '3', sagemaker_program: 'train.py' }));
    await train(['--hyperparameters', hp], {
      SM_CHANNEL_TRAIN: channel,
      SM_MODEL_DIR: model,
      SM_OUTPUT_DATA_DIR: output,
    });
    const metrics = readJson<Metrics>(join(model, 'metrics.json'));
    expect(metrics.epochs).toBe(2);
    expect(metrics.seed).toBe(3);
    expect(
      readJson<{ hyperparameters: Record<string, unknown> }>(join(model, 'model-card.json')).hyperparameters,
    ).toMatchObject({
      hidden_units: '16',
      epochs: 2,
    });
    expect(readJson<Metrics>(join(output, 'metrics.json')).epochs).toBe(2);
    expect(readJson<{ version: number }>(join(output, 'baseline', 'constraints.json')).version).toBe(0);
  });

  test('WHEN the channel lacks dataset.json or a hyperparameter is unknown THEN it exits 2 with a clear message', async () => {
    const empty = join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(train(['--train', empty, '--model-dir', join(work, 'x')])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/missing .*dataset\.json/),
    });
    const hp = join(work, 'bad-hp.json');
    writeFileSync(hp, JSON.stringify({ epocs: '2' }));
    await expect(
      train(['--train', channel, '--model-dir', join(work, 'y'), '--hyperparameters', hp]),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown hyperparameter\(s\) epocs/) });
  });

  test('GIVEN tied scores WHEN recall at a 1% alert rate is computed THEN ties share the alert budget', async () => {
    // 200 rows, 2 alerts; 4 rows tie at the top, 2 of them positive: expected recall = 2 alerts * 1/2 / 2 positives.
    const code = [
      'import sys, json, numpy as np',
      `sys.path.insert(0, ${JSON.stringify(dirname(SHARED_TRAINER))})`,
      'import aims_training as t',
      'y = np.zeros(200); y[0] = 1; y[1] = 1',
      's = np.zeros(200); s[:4] = 0.9',
      'print(json.dumps([t.at_alert_rate(y, s, 0.01), t.average_precision(y, s), t.roc_auc(y, s)]))',
    ].join('\n');
    // No __pycache__ in the source tree.
    const { stdout } = await execFileAsync(python, ['-c', code], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const [at, ap, auc] = JSON.parse(stdout) as [{ recall: number; precision: number; alerts: number }, number, number];
    expect(at).toMatchObject({ alerts: 2, recall: 0.5, precision: 0.5 });
    expect(ap).toBeCloseTo(0.5, 12);
    // Each positive beats 196 negatives and ties 2: (196 + 2 * 0.5) / 198.
    expect(auc).toBeCloseTo(197 / 198, 12);
  });
});

describe('python.ts', () => {
  test('GIVEN Debian torch WHEN ensureTorch runs THEN it returns /usr/bin/python3', async () => {
    await expect(ensureTorch({ allowInstall: false, env: {} })).resolves.toBe(DEFAULT_PYTHON);
  });

  test('GIVEN AIMS_PYTHON pointing at an interpreter without torch THEN ensureTorch names it and installs nothing', async () => {
    const attempt = ensureTorch({ env: { AIMS_PYTHON: '/nonexistent/python3' } });
    await expect(attempt).rejects.toBeInstanceOf(TorchMissingError);
    await expect(attempt).rejects.toThrow(/\/nonexistent\/python3 \(from AIMS_PYTHON\) cannot import torch/);
  });

  test('WHEN the script exits non-zero THEN runPython rejects with the exit code; on success it resolves', async () => {
    await expect(
      runPython(['-c', 'import sys; sys.exit(3)'], { python: DEFAULT_PYTHON, label: 'demo' }),
    ).rejects.toThrow(/demo failed: .* exited with code 3/);
    await expect(runPython(['-c', 'pass'], { python: DEFAULT_PYTHON })).resolves.toBeUndefined();
  });
});
