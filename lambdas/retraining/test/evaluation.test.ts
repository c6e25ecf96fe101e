// Metrics and the quality gate: average precision as train.py computes it, the model's verdict and the champion check.
import { applyGate, averagePrecision, recallAtAlertRate } from '../evaluation.js';

describe('GIVEN labels and scores', () => {
  test('THEN average precision matches the hand-computed value, ties forming one threshold', () => {
    // Ranked: 0.9 (1), 0.8 (0), 0.7 (1), 0.1 (0) → AP = 0.5·1 + 0.5·(2/3)
    expect(averagePrecision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])).toBeCloseTo(0.5 + 1 / 3, 10);
    // All tied: one threshold at precision 0.5.
    expect(averagePrecision([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBeCloseTo(0.5, 10);
    expect(averagePrecision([0, 0], [0.1, 0.2])).toBeNaN();
  });

  test('THEN recall at an alert rate counts the positives in the top share', () => {
    const labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const scores = [0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2];
    expect(recallAtAlertRate(labels, scores, 0.1)).toBe(0.5);
    expect(recallAtAlertRate(labels, scores, 0.2)).toBe(1);
  });
});

describe('GIVEN the quality gate', () => {
  const champion = { aucPr: 0.7, recallAt1pct: 0.6, rows: 100, positives: 10 };
  const holds = { passed: true, problems: [], lift: 2 };
  const input = { model: holds, challengerAucPr: 0.69, champion, maxRegressionVsChampion: 0.05 };

  test('WHEN every check holds THEN it passes and records each check', () => {
    const result = applyGate(input);
    expect(result.passed).toBe(true);
    expect(result.checks.map((c) => c.name)).toEqual(['qualityGate', 'notWorseThanChampion']);
    expect(result.checks[0]?.detail).toBe("the model's gate holds (lift vs baseline 2.0000)");
  });

  test('WHEN the challenger regresses more than allowed vs the champion THEN it fails on that check only', () => {
    const result = applyGate({ ...input, challengerAucPr: 0.6 });
    expect(result.passed).toBe(false);
    expect(result.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['notWorseThanChampion']);
  });

  test('WHEN the model’s own gate fails THEN the gate fails with the model’s reasons, whatever the champion', () => {
    const failed = { passed: false, problems: ['AUC-PR too low', 'no lift'], lift: 1 };
    const result = applyGate({ ...input, model: failed, champion: null });
    expect(result.passed).toBe(false);
    expect(result.checks).toEqual([
      { name: 'qualityGate', passed: false, detail: 'AUC-PR too low; no lift' },
      { name: 'notWorseThanChampion', passed: true, detail: 'no champion scores on the holdout to compare' },
    ]);
  });
});
