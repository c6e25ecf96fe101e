// The merchant-risk training pipeline: simulate a world with compromised merchants → merchant-days → labels → a
// date-split channel → train.py → the quality gate. What `npm run`-style training and the training test both run.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../shared/manifest.js';
import { checkModule, type QualityVerdict } from '../../shared/module.js';
import { ensureTorch, runPython } from '../../shared/python.js';
import { simulate } from '../../shared/simulator/simulate.js';
import { merchantDays } from './aggregates.js';
import { buildMerchantRows, splitByDate, writeMerchantDataset } from './dataset.js';
import type { MerchantMetrics } from './gate.js';
import { merchantCompromises, merchantDayLabels } from './labels.js';
import merchantRisk from './module.js';

export const MODEL_DIR = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The world the committed model was trained on: 5 weeks, the first one only builds history. */
export const MERCHANT_TRAINING_DEFAULTS = {
  seed: 42,
  days: 35,
  customers: 6000,
  compromiseRate: 0.01,
  warmupDays: 7,
} as const;

export interface MerchantPipelineOptions {
  readonly seed?: number;
  readonly days?: number;
  readonly customers?: number;
  /** Expected compromises per physical merchant per day. */
  readonly compromiseRate?: number;
  readonly warmupDays?: number;
  /** Where dataset/ and the model artifacts go. */
  readonly out: string;
  /** Interpreter with torch. @default - found by ensureTorch */
  readonly python?: string;
  readonly log?: (line: string) => void;
}

export interface MerchantPipelineResult {
  readonly datasetDir: string;
  readonly rows: { train: number; validation: number; test: number };
  readonly positives: { train: number; validation: number; test: number };
  readonly metrics: MerchantMetrics;
  readonly verdict: QualityVerdict;
}

export async function runMerchantPipeline(options: MerchantPipelineOptions): Promise<MerchantPipelineResult> {
  const o = { ...MERCHANT_TRAINING_DEFAULTS, ...options };
  const log = options.log ?? (() => {});
  const manifest = loadManifest(MODEL_DIR);
  checkModule(manifest, merchantRisk, MODEL_DIR);
  const out = resolve(o.out);
  const datasetDir = join(out, 'dataset');

  const sim = simulate({
    seed: o.seed,
    days: o.days,
    customers: o.customers,
    merchantCompromise: { rate: o.compromiseRate },
  });
  const days = merchantDays(sim.transactions);
  const compromises = merchantCompromises(sim.transactions, sim.truth);
  const rows = buildMerchantRows(days, merchantDayLabels(days, compromises), o.warmupDays);
  const splits = splitByDate(rows);
  const simulation = { seed: o.seed, days: o.days, customers: o.customers, compromiseRate: o.compromiseRate };
  writeMerchantDataset(datasetDir, splits, { simulation, compromises: compromises.length });
  const count = (pick: (r: (typeof rows)[number]) => boolean) => ({
    train: splits.train.filter(pick).length,
    validation: splits.validation.filter(pick).length,
    test: splits.test.filter(pick).length,
  });
  const sizes = count(() => true);
  const positives = count((r) => r.label === 1);
  log(
    `${days.length} merchant-days, ${compromises.length} compromises; rows ${JSON.stringify(sizes)}, positives ${JSON.stringify(positives)}`,
  );

  const python = o.python ?? (await ensureTorch({ log }));
  const hyper = Object.entries(manifest.training.hyperparameters).flatMap(([k, v]) => [
    `--${k.replace(/_/g, '-')}`,
    String(v),
  ]);
  const script = join(MODEL_DIR, merchantRisk.training.script);
  await runPython([script, '--train', datasetDir, '--model-dir', out, '--seed', String(o.seed), ...hyper], {
    python,
    label: 'merchant-risk train.py',
  });
  const metrics = merchantRisk.gate.readMetrics(join(out, 'metrics.json')) as MerchantMetrics;
  return {
    datasetDir,
    rows: sizes,
    positives,
    metrics,
    verdict: merchantRisk.gate.check(metrics, manifest.training.qualityGate),
  };
}
