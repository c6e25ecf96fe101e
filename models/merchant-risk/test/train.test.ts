// Training for real: simulate five weeks with compromised merchants, build the merchant-day channel, run train.py on
// CPU and check the model beats its rules baseline on the latest (held-out) days by the manifest's margin.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadManifest } from '../../shared/manifest.js';
import { ensureTorch } from '../../shared/python.js';
import { type MerchantPipelineResult, MODEL_DIR, runMerchantPipeline } from '../src/pipeline.js';

const here = dirname(fileURLToPath(import.meta.url));
const NODE = join(here, '..', '..', '..', 'node_modules', '.bin', 'node');
const ORT_SCORE = join(here, '..', '..', 'shared', 'test', 'fixtures', 'ort-score.mjs');

let work: string;
let result: MerchantPipelineResult;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mr-train-'));
  const python = await ensureTorch({ allowInstall: false });
  result = await runMerchantPipeline({ out: work, python, seed: 7 });
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('GIVEN merchant-risk trained on a simulated world it never saw (seed 7)', () => {
  test('THEN the held-out days hold enough compromises to judge, and none of them trained the model', () => {
    expect(result.positives.test).toBeGreaterThanOrEqual(30);
    const read = (split: string) =>
      readFileSync(join(result.datasetDir, `${split}.csv`), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
    const lastTrainDay = read('train')
      .map((l) => l.split(',')[1] as string)
      .sort()
      .at(-1) as string;
    const firstTestDay = read('test')
      .map((l) => l.split(',')[1] as string)
      .sort()[0] as string;
    expect(firstTestDay > lastTrainDay).toBe(true);
  });

  test('THEN the model beats its rules baseline by the manifest margin and passes the gate', () => {
    const { model, rules } = result.metrics;
    const { minRecallLiftVsRules } = loadManifest(MODEL_DIR).training.qualityGate;
    process.stdout.write(
      `merchant-risk seed 7: AUC-PR ${model.aucPr.toFixed(3)} (rules ${rules.aucPr.toFixed(3)}), recall@1% ` +
        `${model.recallAt1pct.toFixed(3)} (rules ${rules.recallAt1pct.toFixed(3)}), lift ${result.verdict.lift?.toFixed(2)}\n`,
    );
    expect(model.recallAt1pct).toBeGreaterThanOrEqual(minRecallLiftVsRules * rules.recallAt1pct);
    expect(result.verdict.problems).toEqual([]);
  });

  test('THEN its ONNX export takes any batch size, and a row scores the same alone or in a batch', async () => {
    const rows = readFileSync(join(result.datasetDir, 'test.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1, 8)
      .map((line) => line.split(',').slice(2, -2).map(Number));
    const batches = join(work, 'batches.json');
    writeFileSync(batches, JSON.stringify([rows.slice(0, 1), rows]));
    // onnxruntime-node runs in its own Node process: inside jest's VM it rejects Float32Arrays from another realm.
    const { stdout } = await promisify(execFile)(NODE, [ORT_SCORE, join(work, 'model.onnx'), batches]);
    const [one, seven] = JSON.parse(stdout) as { dims: number[]; data: number[] }[];
    expect([one?.dims, seven?.dims]).toEqual([
      [1, 1],
      [7, 1],
    ]);
    expect(seven?.data[0]).toBeCloseTo(one?.data[0] as number, 6);
    for (const p of seven?.data ?? []) expect(p >= 0 && p <= 1).toBe(true);
  });
});
