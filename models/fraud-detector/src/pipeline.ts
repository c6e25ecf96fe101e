// The local training pipeline behind `npm run train`: simulate → build the training set → train.py → quality check.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../shared/manifest.js';
import { checkModule, type QualityVerdict } from '../../shared/module.js';
import { ensureTorch, runPython } from '../../shared/python.js';
import { type SimulationSummary, simulate } from '../../shared/simulator/simulate.js';
import { buildDataset, type DatasetInfo } from './dataset.js';
import { checkQuality, readMetrics, type TrainingMetrics } from './gate.js';
import fraudDetector from './module.js';

export const MODEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Sized so the whole pipeline (≈ 200k transactions) stays well under two minutes on a 2-core machine. */
export const TRAINING_DEFAULTS = { seed: 42, days: 14, customers: 6000, warmupDays: 2 } as const;

export interface PipelineOptions {
  readonly seed?: number;
  readonly days?: number;
  readonly customers?: number;
  /** Artifacts directory (model.onnx, metrics.json, dataset/ …). @default models/fraud-detector/artifacts */
  readonly out?: string;
  readonly warmupDays?: number;
  /** Stop after writing the dataset (no Python needed). @default false */
  readonly datasetOnly?: boolean;
  /** Progress reporting; `phase` names the step. */
  readonly onProgress?: (phase: PipelinePhase, done: number, total: number) => void;
  readonly log?: (line: string) => void;
}

export type PipelinePhase = 'simulate' | 'features' | 'train';

export interface PipelineResult {
  readonly out: string;
  readonly datasetDir: string;
  readonly simulation: SimulationSummary;
  readonly dataset: DatasetInfo;
  readonly metrics: TrainingMetrics | null;
  readonly verdict: QualityVerdict | null;
  readonly seconds: { simulate: number; dataset: number; train: number };
}

/** Runs the pipeline end to end. Throws on a broken step; a failed quality gate is reported in `verdict`. */
export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineResult> {
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  const days = options.days ?? TRAINING_DEFAULTS.days;
  const customers = options.customers ?? TRAINING_DEFAULTS.customers;
  const warmupDays = options.warmupDays ?? Math.min(TRAINING_DEFAULTS.warmupDays, Math.floor(days / 4));
  const out = resolve(options.out ?? join(MODEL_DIR, 'artifacts'));
  const datasetDir = join(out, 'dataset');
  const log = options.log ?? (() => {});
  const manifest = loadManifest(MODEL_DIR);
  checkModule(manifest, fraudDetector, MODEL_DIR);

  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const s = (now - t) / 1000;
    t = now;
    return Math.round(s * 10) / 10;
  };

  log(`simulating ${customers} customers × ${days} days (seed ${seed})`);
  const sim = simulate({ seed, days, customers }, (done, total) => options.onProgress?.('simulate', done, total));
  const simulateSeconds = lap();
  log(
    `${sim.summary.transactions} transactions, ${sim.summary.frauds} fraud ` +
      `(${(sim.summary.fraudRate * 100).toFixed(2)}%) in ${simulateSeconds}s`,
  );

  const isFraud = new Map(sim.truth.map((r) => [r.transactionId, r.isFraud]));
  const dataset = buildDataset(sim.transactions, isFraud, datasetDir, {
    seed,
    warmupDays,
    provenance: { simulation: { seed, days, customers }, summary: sim.summary },
    onProgress: (done, total) => options.onProgress?.('features', done, total),
  });
  const datasetSeconds = lap();
  log(
    `dataset in ${datasetDir}: rows ${JSON.stringify(dataset.rows)}, positives ${JSON.stringify(dataset.positives)} ` +
      `in ${datasetSeconds}s`,
  );
  if (options.datasetOnly) {
    return {
      out,
      datasetDir,
      simulation: sim.summary,
      dataset,
      metrics: null,
      verdict: null,
      seconds: { simulate: simulateSeconds, dataset: datasetSeconds, train: 0 },
    };
  }

  const python = await ensureTorch({ log });
  const hyper = Object.entries(manifest.training.hyperparameters).flatMap(([k, v]) => [
    `--${k.replace(/_/g, '-')}`,
    String(v),
  ]);
  const args = [
    join(MODEL_DIR, fraudDetector.training.script),
    '--train',
    datasetDir,
    '--model-dir',
    out,
    '--seed',
    String(seed),
    ...hyper,
  ];
  log(`$ ${python} ${args.join(' ')}`);
  options.onProgress?.('train', 0, 1);
  await runPython(args, { python, label: 'train.py' });
  options.onProgress?.('train', 1, 1);
  const trainSeconds = lap();

  const metrics = readMetrics(join(out, 'metrics.json'));
  return {
    out,
    datasetDir,
    simulation: sim.summary,
    dataset,
    metrics,
    verdict: checkQuality(metrics, manifest.training.qualityGate),
    seconds: { simulate: simulateSeconds, dataset: datasetSeconds, train: trainSeconds },
  };
}
