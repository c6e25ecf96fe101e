// The quality bar: on the held-out (latest) slice of the fixed-seed simulation, the trained model's recall at a
// 1% alert rate is at least 1.3× the rules baseline's. Reuses `npm run train`'s artifacts when they were trained
// on byte-identical data; otherwise trains afresh (≈ 30 s) in a temporary directory.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from '../../shared/manifest.js';
import { checkQuality, MODEL_DIR, readMetrics, runPipeline, type TrainingMetrics } from '../src/pipeline.js';

const DATASET_FILES = ['dataset.json', 'train.csv', 'validation.csv', 'test.csv'] as const;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** metrics.json of `npm run train` if its model card says it was trained on exactly these dataset files. */
function reusableMetrics(datasetDir: string): TrainingMetrics | undefined {
  const artifacts = join(MODEL_DIR, 'artifacts');
  const cardFile = join(artifacts, 'model-card.json');
  if (!existsSync(cardFile) || !existsSync(join(artifacts, 'metrics.json'))) return undefined;
  const card = JSON.parse(readFileSync(cardFile, 'utf8')) as { dataset?: { files?: Record<string, string> } };
  const same = DATASET_FILES.every((f) => card.dataset?.files?.[f] === sha256(join(datasetDir, f)));
  return same ? readMetrics(join(artifacts, 'metrics.json')) : undefined;
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
