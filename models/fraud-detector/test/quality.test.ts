// The quality bar: on the held-out (latest) slice of the fixed-seed simulation, the trained model's recall at a
// 1% alert rate is at least 1.3× the rules baseline's. Reuses `npm run train`'s artifacts when they were trained
// on byte-identical data by byte-identical training code (train.py and the shared trainer); otherwise trains afresh
// (≈ 30 s) in a temporary directory.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from '../../shared/manifest.js';
import { sourceHashes, trainingSources } from '../../shared/training.js';
import { checkQuality, readMetrics, type TrainingMetrics } from '../src/gate.js';
import fraudDetector from '../src/module.js';
import { MODEL_DIR, runPipeline } from '../src/pipeline.js';

const DATASET_FILES = ['dataset.json', 'train.csv', 'validation.csv', 'test.csv'] as const;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface CardProvenance {
  readonly dataset?: { readonly files?: Readonly<Record<string, string>> };
  readonly code?: Readonly<Record<string, string>>;
}

/** True when a model card says it was trained on exactly these dataset files by exactly this training code. */
function sameProvenance(card: CardProvenance, datasetDir: string, code: Readonly<Record<string, string>>) {
  const sameData = DATASET_FILES.every((f) => card.dataset?.files?.[f] === sha256(join(datasetDir, f)));
  const sameCode =
    JSON.stringify(Object.entries(card.code ?? {}).sort()) === JSON.stringify(Object.entries(code).sort());
  return sameData && sameCode;
}

/** metrics.json of `npm run train` if that run's data and training code are byte-identical to today's. */
function reusableMetrics(datasetDir: string): TrainingMetrics | undefined {
  const artifacts = join(MODEL_DIR, 'artifacts');
  const cardFile = join(artifacts, 'model-card.json');
  if (!existsSync(cardFile) || !existsSync(join(artifacts, 'metrics.json'))) return undefined;
  const card = JSON.parse(readFileSync(cardFile, 'utf8')) as CardProvenance;
  const code = sourceHashes(trainingSources(MODEL_DIR, fraudDetector.training.script));
  return sameProvenance(card, datasetDir, code) ? readMetrics(join(artifacts, 'metrics.json')) : undefined;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'quality-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('model quality', () => {
  it('GIVEN the fixed-seed simulation WHEN the model is trained THEN its recall@1% is >= 1.3× the rules', async () => {
    const dataset = await runPipeline({ out: work, datasetOnly: true });
    expect(dataset.dataset.positives.test).toBeGreaterThan(50);
    const metrics = reusableMetrics(dataset.datasetDir) ?? (await runPipeline({ out: work })).metrics;
    if (!metrics) throw new Error('the pipeline produced no metrics');
    const rules = metrics.rules?.recallAt1pct ?? Number.NaN;
    expect(metrics.model.recallAt1pct).toBeGreaterThanOrEqual(1.3 * rules);
    expect(rules).toBeGreaterThan(0.1); // a baseline that catches nothing would make the bar meaningless
    expect(checkQuality(metrics, loadManifest(MODEL_DIR).training.qualityGate)).toMatchObject({ passed: true });
  }, 240_000);
});
