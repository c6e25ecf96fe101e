// Tests the pipeline's metrics reading and quality gate (the parts `npm run train` decides its exit code by).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkQuality, readMetrics, type TrainingMetrics } from '../src/gate.js';

const gate = { minAucPr: 0.3, minRecallLiftVsRules: 1.3, maxRegressionVsChampion: 0.05 };
const metrics = (model: number, rules: number, aucPr = 0.6): TrainingMetrics => ({
  model: { aucPr, recallAt1pct: model },
  rules: { recallAt1pct: rules },
});

describe('quality gate', () => {
  it('GIVEN a model at 1.3× the rules recall THEN it passes with that lift', () => {
    const v = checkQuality(metrics(0.65, 0.5), gate);
    expect(v.passed).toBe(true);
    expect(v.lift).toBeCloseTo(1.3);
  });

  it('GIVEN a model just under 1.3× the rules THEN it fails and says by how much', () => {
    const v = checkQuality(metrics(0.64, 0.5), gate);
    expect(v.passed).toBe(false);
    expect(v.problems).toEqual(['model recall@1% 0.6400 < 1.3 × rules recall@1% 0.5000 (= 0.6500)']);
  });

  it('GIVEN a low AUC-PR THEN the gate names it', () => {
    expect(checkQuality(metrics(0.9, 0.1, 0.2), gate).problems).toEqual([
      "model AUC-PR 0.2000 < the gate's minAucPr 0.3",
    ]);
  });

  it('GIVEN metrics.json missing fields or missing entirely THEN readMetrics says which', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metrics-'));
    try {
      const file = join(dir, 'metrics.json');
      expect(() => readMetrics(file)).toThrow(/wrote no metrics file/);
      writeFileSync(file, JSON.stringify({ model: { aucPr: 0.5 }, rules: null }));
      expect(() => readMetrics(file)).toThrow(/lacks model\.recallAt1pct, rules\.recallAt1pct/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
