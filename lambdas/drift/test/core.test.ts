// The stream drift check: PSI against the baseline bins, thresholds and minimum samples, v2 capture parsing.

import { binOf, captureHourPrefixes } from '../../shared/capture.js';
import type { DriftAssessment } from '../../shared/contracts/api.js';
import type { ModelDriftDetectedData } from '../../shared/contracts/events.js';
import {
  assessDrift,
  type DriftCheckPorts,
  driftEvent,
  driftFromAlarm,
  mergeWindows,
  type PsiBins,
  parseCapture,
  psi,
  runDriftCheck,
} from '../core.js';

const deciles = { name: 'x', edges: [1, 2, 3, 4, 5, 6, 7, 8, 9], proportions: Array(10).fill(0.1) };
const baseline: PsiBins = {
  version: 1,
  rows: 1000,
  features: [deciles, { ...deciles, name: 'y' }],
  prediction: { ...deciles, name: 'score', edges: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] },
};
const uniform = (n: number, scale = 10) => Array.from({ length: n }, (_, i) => ((i + 0.5) / n) * scale);

describe('GIVEN a baseline of right-closed quantile bins', () => {
  test('THEN values fall in the bins train.py defines', () => {
    expect(binOf([1, 2], 1)).toBe(0);
    expect(binOf([1, 2], 1.5)).toBe(1);
    expect(binOf([1, 2], 3)).toBe(2);
  });

  test('WHEN the window matches the baseline THEN PSI is ~0; when it piles into one bin THEN PSI is large', () => {
    expect(psi(deciles, uniform(1000))).toBeLessThan(0.01);
    expect(psi(deciles, Array(1000).fill(9.5))).toBeGreaterThan(2);
  });

  test('WHEN one feature shifts past its threshold THEN only it is reported, worst first, and an event is built', () => {
    const x = uniform(600);
    const y = uniform(600).map((v) => v / 2);
    const window = {
      rows: x.map((v, i) => [v, y[i] as number]),
      scores: uniform(600, 1),
      start: new Date('2026-01-01T00:00:00Z'),
      end: new Date('2026-01-01T01:00:00Z'),
    };
    const report = assessDrift({
      baseline,
      featureNames: ['x', 'y'],
      window,
      thresholds: { default: 0.2, features: { x: 0.15 } },
      minSamples: 500,
    });
    expect(report.judged).toBe(true);
    expect(report.drifted.map((f) => f.name)).toEqual(['y']);
    expect(report.scorePsi).toBeLessThan(0.01);
    expect(driftEvent('fraud-detector', window, report)).toMatchObject({
      model: 'fraud-detector',
      detector: 'stream',
      features: [{ name: 'y', threshold: 0.2 }],
      samples: 600,
    });
  });

  test('WHEN the window has fewer rows than minSamples THEN nothing is judged and no event is built', () => {
    const window = { rows: [[9.5, 9.5]], scores: [0.95], start: new Date(0), end: new Date(1) };
    const report = assessDrift({
      baseline,
      featureNames: ['x', 'y'],
      window,
      thresholds: { default: 0.2, features: {} },
      minSamples: 500,
    });
    expect(report.judged).toBe(false);
    expect(driftEvent('m', window, report)).toBeUndefined();
  });

  test('WHEN the baseline belongs to another feature list THEN the check refuses it', () => {
    const window = { rows: [], scores: [], start: new Date(0), end: new Date(1) };
    expect(() =>
      assessDrift({
        baseline,
        featureNames: ['x', 'z'],
        window,
        thresholds: { default: 0.2, features: {} },
        minSamples: 1,
      }),
    ).toThrow(/belongs to another feature list/);
  });
});

describe('GIVEN SageMaker data capture of v2 requests', () => {
  const line = (rows: number[][], scores: number[], encoding = 'JSON') => {
    const input = JSON.stringify({
      inputs: [{ name: 'features', shape: [rows.length, 2], datatype: 'FP32', data: rows.flat() }],
    });
    const output = JSON.stringify({ outputs: [{ name: 'score', shape: [scores.length, 1], data: scores }] });
    const enc = (s: string) => (encoding === 'BASE64' ? Buffer.from(s).toString('base64') : s);
    return JSON.stringify({
      captureData: {
        endpointInput: { data: enc(input), encoding, mode: 'INPUT', observedContentType: 'application/json' },
        endpointOutput: { data: enc(output), encoding, mode: 'OUTPUT', observedContentType: 'application/json' },
      },
      eventMetadata: { eventId: 'e', inferenceId: 't1', inferenceTime: '2026-01-01T00:00:00Z' },
      eventVersion: '0',
    });
  };

  test('THEN row 0 of each record (the scored transaction, not its occlusion rows) is kept; base64 works; foreign lines are skipped', () => {
    const text = [
      line(
        [
          [1, 2],
          [3, 4],
        ],
        [0.1, 0.2],
      ),
      line([[5, 6]], [0.3], 'BASE64'),
      '{"not":"capture"}',
      '',
    ].join('\n');
    expect(parseCapture(text, 2)).toEqual({
      rows: [
        [1, 2],
        [5, 6],
      ],
      scores: [0.1, 0.3],
      skipped: 1,
    });
  });

  test("THEN a batch transform's capture keeps every row of each request (each is one entity of the population)", () => {
    const text = [
      line(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [0.1, 0.2, 0.3],
      ),
      line([[7, 8]], [0.4], 'BASE64'),
    ].join('\n');
    expect(parseCapture(text, 2, 'all')).toEqual({
      rows: [
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
      ],
      scores: [0.1, 0.2, 0.3, 0.4],
      skipped: 0,
    });
  });

  test('THEN a real-time and a batch window read as one: both rows and scores, the wider span', () => {
    const at = (iso: string) => new Date(iso);
    const merged = mergeWindows(
      { rows: [[1, 2]], scores: [0.1], start: at('2026-01-01T23:00:00Z'), end: at('2026-01-02T00:00:00Z') },
      { rows: [[3, 4]], scores: [0.2], start: at('2026-01-01T00:00:00Z'), end: at('2026-01-02T00:00:00Z') },
    );
    expect(merged).toEqual({
      rows: [
        [1, 2],
        [3, 4],
      ],
      scores: [0.1, 0.2],
      start: at('2026-01-01T00:00:00Z'),
      end: at('2026-01-02T00:00:00Z'),
    });
  });

  test('THEN the window maps to the hourly prefixes SageMaker writes', () => {
    expect(
      captureHourPrefixes('fd/ep/', 'champion', new Date('2026-01-01T22:30:00Z'), new Date('2026-01-02T00:10:00Z')),
    ).toEqual(['fd/ep/champion/2026/01/01/22/', 'fd/ep/champion/2026/01/01/23/', 'fd/ep/champion/2026/01/02/00/']);
  });
});

describe('GIVEN a Model Monitor drift alarm', () => {
  const detail = (value: string, metric: string) => ({
    alarmName: 'a',
    state: { value, timestamp: '2026-01-01T01:00:00.000+0000' },
    configuration: { metrics: [{ metricStat: { metric: { name: metric }, period: 3600 } }] },
  });
  test('WHEN it enters ALARM THEN ModelDriftDetected names the feature from the metric', () => {
    expect(driftFromAlarm('fraud-detector', 0.1, detail('ALARM', 'feature_baseline_drift_log_amount'))).toEqual({
      model: 'fraud-detector',
      detector: 'monitor',
      features: [{ name: 'log_amount', threshold: 0.1 }],
      samples: 0,
      windowStart: '2026-01-01T00:00:00.000Z',
      windowEnd: '2026-01-01T01:00:00.000Z',
    });
  });
  test('WHEN it returns to OK or is not a drift metric THEN nothing is relayed', () => {
    expect(driftFromAlarm('m', 0.1, detail('OK', 'feature_baseline_drift_x'))).toBeUndefined();
    expect(driftFromAlarm('m', 0.1, detail('ALARM', 'Invocation5XXErrors'))).toBeUndefined();
  });
});

describe('GIVEN the drift check over in-memory ports', () => {
  const now = new Date('2026-01-01T01:00:00Z');
  const config = { model: 'm', featureNames: ['x', 'y'], thresholds: { default: 0.2, features: {} }, minSamples: 500 };
  const run = async (shift: number) => {
    const steps: string[] = [];
    const saved: DriftAssessment[] = [];
    const published: ModelDriftDetectedData[] = [];
    const x = uniform(600);
    const ports: DriftCheckPorts = {
      baseline: async () => ({ baseline, source: 's3://b/psi-bins.json' }),
      window: async (end) => ({
        rows: x.map((v) => [v, v / shift]),
        scores: uniform(600, 1),
        start: new Date(end.getTime() - 3_600_000),
        end,
      }),
      assessed: () => void steps.push('assessed'),
      publishDrift: async (data) => {
        steps.push('published');
        published.push(data);
      },
      saveAssessment: async (a) => {
        steps.push('saved');
        saved.push(a);
        return 'written';
      },
    };
    return { outcome: await runDriftCheck(now, ports, config), steps, saved, published };
  };

  test('WHEN a feature drifts THEN it is assessed, ModelDriftDetected is published, then the assessment is stored', async () => {
    const { outcome, steps, saved, published } = await run(2);
    expect(steps).toEqual(['assessed', 'published', 'saved']);
    expect(published[0]).toMatchObject({ model: 'm', features: [{ name: 'y' }], windowEnd: now.toISOString() });
    expect(saved[0]).toMatchObject({ model: 'm', drifted: true, assessedAt: now.toISOString() });
    expect(outcome.stored).toBe('written');
  });

  test('WHEN nothing drifts THEN nothing is published and the assessment is still stored', async () => {
    const { steps, saved } = await run(1);
    expect(steps).toEqual(['assessed', 'saved']);
    expect(saved[0]).toMatchObject({ drifted: false, judged: true, baseline: 's3://b/psi-bins.json' });
  });
});
