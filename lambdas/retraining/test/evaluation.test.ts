// Metrics and the quality gate: average precision as train.py computes it, and each gate check.
import { applyGate, averagePrecision, recallAtAlertRate } from '../evaluation.js';

const gate = { minAucPr: 0.3, minRecallLiftVsRules: 1.3, maxRegressionVsChampion: 0.05 };

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
  test('WHEN every check holds THEN it passes and records each check', () => {
    const result = applyGate({
      challenger: { aucPr: 0.69, recallAt1pct: 0.6 },
      rules: { recallAt1pct: 0.3 },
      champion,
      gate,
    });
    expect(result.passed).toBe(true);
    expect(result.checks.map((c) => c.name)).toEqual(['minAucPr', 'minRecallLiftVsRules', 'notWorseThanChampion']);
  });

  test('WHEN the challenger regresses more than allowed vs the champion THEN it fails on that check only', () => {
    const result = applyGate({
      challenger: { aucPr: 0.6, recallAt1pct: 0.6 },
      rules: { recallAt1pct: 0.3 },
      champion,
      gate,
    });
    expect(result.passed).toBe(false);
    expect(result.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['notWorseThanChampion']);
  });

  test('WHEN the rules recall is unknown THEN the lift cannot be shown and the gate fails', () => {
    const result = applyGate({ challenger: { aucPr: 0.9, recallAt1pct: 0.6 }, rules: null, champion: null, gate });
    expect(result.passed).toBe(false);
    expect(result.checks.find((c) => c.name === 'minRecallLiftVsRules')?.passed).toBe(false);
  });
});
