// The drift check's assessment record: what GET /v1/models/{name}/drift serves, built from a report.
import { DriftAssessment } from '../../shared/contracts/api.js';
import { assessDrift, driftAssessment, type PsiBins } from '../core.js';

const baseline: PsiBins = {
  version: 1,
  rows: 1000,
  features: [
    { name: 'amount', edges: [10, 100], proportions: [0.3, 0.4, 0.3] },
    { name: 'hour', edges: [12], proportions: [0.5, 0.5] },
  ],
  prediction: { name: 'score', edges: [0.5], proportions: [0.9, 0.1] },
};

describe('GIVEN a window where amount shifted and hour did not', () => {
  const rows = Array.from({ length: 200 }, (_, i) => [500 + i, i % 2 === 0 ? 3 : 20]);
  const window = {
    rows,
    scores: rows.map(() => 0.1),
    start: new Date('2026-11-20T09:00:00Z'),
    end: new Date('2026-11-20T10:00:00Z'),
  };
  const thresholds = { default: 0.2, features: { hour: 0.5 } };
  const report = assessDrift({ baseline, featureNames: ['amount', 'hour'], window, thresholds, minSamples: 100 });

  test('WHEN the assessment is built THEN it matches the API contract, per feature with its own threshold', () => {
    const assessment = DriftAssessment.parse(
      driftAssessment({
        model: 'fraud-detector',
        window,
        report,
        thresholds,
        minSamples: 100,
        baseline: 's3://a/psi-bins.json',
        assessedAt: new Date('2026-11-20T10:00:05Z'),
      }),
    );
    expect(assessment).toMatchObject({
      model: 'fraud-detector',
      assessedAt: '2026-11-20T10:00:05.000Z',
      windowStart: '2026-11-20T09:00:00.000Z',
      samples: 200,
      judged: true,
      drifted: true,
      threshold: 0.2,
    });
    expect(assessment.features.map((f) => [f.name, f.threshold, f.drifted])).toEqual([
      ['amount', 0.2, true],
      ['hour', 0.5, false],
    ]);
    expect(assessment.features[0]?.psi).toBeCloseTo(report.psi.amount as number, 12);
  });

  test('WHEN too few rows were captured THEN nothing is judged and nothing drifted', () => {
    const few = { ...window, rows: rows.slice(0, 5), scores: window.scores.slice(0, 5) };
    const small = assessDrift({ baseline, featureNames: ['amount', 'hour'], window: few, thresholds, minSamples: 100 });
    const assessment = driftAssessment({
      model: 'm',
      window: few,
      report: small,
      thresholds,
      minSamples: 100,
      baseline: 'b',
      assessedAt: new Date(),
    });
    expect(assessment).toMatchObject({ judged: false, drifted: false, samples: 5 });
    expect(assessment.features.every((f) => !f.drifted)).toBe(true);
  });
});
