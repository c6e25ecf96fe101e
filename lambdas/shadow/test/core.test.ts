// The shadow comparison's pure core: pairing by inference id, differences, agreement at the policy, PSI, verdict.
import { describe, expect, it } from '@jest/globals';
import { decide } from '../../../models/shared/contracts/decision.js';
import { captureHourPrefixes } from '../../shared/capture.js';
import type { ShadowComparedData } from '../../shared/contracts/events.js';
import {
  type CapturedScore,
  compareShadow,
  parseCapturedScores,
  runShadowComparison,
  samplePsi,
  shadowVerdict,
} from '../core.js';

const policy = { decide: (score: number) => decide(score, 0.5, 0.9) };
const thresholds = { minPairs: 3, minAgreement: 0.9, maxScorePsi: 0.25, maxMeanAbsDiff: 0.1 };
const answers = (entries: Array<[string, number]>): CapturedScore[] =>
  entries.map(([inferenceId, score]) => ({ inferenceId, score }));

/** A capture line as SageMaker (and the local proxy) writes it. */
const line = (id: string | undefined, score: number, rows = 1) =>
  JSON.stringify({
    captureData: {
      endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: '{}', encoding: 'JSON' },
      endpointOutput: {
        observedContentType: 'application/json',
        mode: 'OUTPUT',
        data: JSON.stringify({
          model_name: 'm',
          outputs: [
            { name: 'score', shape: [rows, 1], datatype: 'FP32', data: [score, ...new Array(rows - 1).fill(0)] },
          ],
        }),
        encoding: 'JSON',
      },
    },
    eventMetadata: { eventId: 'e', ...(id ? { inferenceId: id } : {}), inferenceTime: '2026-11-23T10:15:00.000Z' },
    eventVersion: '0',
  });

describe('agreement at the policy thresholds', () => {
  it('GIVEN scores on either side of each cut-off THEN decisions are the scorer’s own (inclusive cut-offs)', () => {
    const out = compareShadow(
      answers([
        ['at-review', 0.49],
        ['at-decline', 0.89],
        ['same', 0.9],
      ]),
      answers([
        ['at-review', 0.5],
        ['at-decline', 0.9],
        ['same', 0.95],
      ]),
      policy,
    );
    // 0.5 is review and 0.9 decline: each pair straddles one cut-off; 0.9 and 0.95 are both decline.
    expect(out.disagreements).toEqual({ 'approve→review': 1, 'review→decline': 1 });
    expect(out.agreement).toBeCloseTo(1 / 3, 10);
    expect([0.49, 0.5, 0.9].map((v) => policy.decide(v))).toEqual(['approve', 'review', 'decline']);
  });
});

describe('compareShadow', () => {
  it('GIVEN answers of both variants WHEN paired by inference id THEN unpaired ones are counted and not compared', () => {
    const champion = answers([
      ['a', 0.1],
      ['b', 0.6],
      ['c', 0.95],
      ['only-champion', 0.2],
    ]);
    const shadow = answers([
      ['a', 0.2],
      ['b', 0.4],
      ['c', 0.95],
      ['only-shadow-1', 0.3],
      ['only-shadow-2', 0.3],
    ]);
    const out = compareShadow(champion, shadow, policy);
    expect(out.pairs).toBe(3);
    expect(out.unpaired).toEqual({ champion: 1, shadow: 2 });
    expect(out.meanAbsDiff).toBeCloseTo((0.1 + 0.2 + 0) / 3, 10);
    expect(out.p99AbsDiff).toBeCloseTo(0.2, 10);
    // b: review → approve is the one disagreement.
    expect(out.agreement).toBeCloseTo(2 / 3, 10);
    expect(out.disagreements).toEqual({ 'review→approve': 1 });
  });

  it('GIVEN a retried request WHEN an id repeats in one variant THEN its last answer counts once', () => {
    const out = compareShadow(
      answers([
        ['a', 0.1],
        ['a', 0.7],
      ]),
      answers([['a', 0.7]]),
      policy,
    );
    expect(out.pairs).toBe(1);
    expect(out.meanAbsDiff).toBe(0);
    expect(out.agreement).toBe(1);
  });

  it('GIVEN no pairs THEN the figures are neutral and the verdict says there is not enough evidence', () => {
    const out = compareShadow(answers([['a', 0.1]]), [], policy);
    expect(out).toMatchObject({ pairs: 0, meanAbsDiff: 0, p99AbsDiff: 0, agreement: 1, scorePsi: 0 });
    const verdict = shadowVerdict(out, thresholds);
    expect(verdict).toEqual({
      passed: false,
      judged: false,
      reasons: [expect.stringMatching(/only 0 paired answers.*fewer than the 3/)],
    });
  });
});

describe('samplePsi', () => {
  const uniform = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
  it('GIVEN the same distribution THEN PSI is ~0; GIVEN a shifted one THEN it is large', () => {
    expect(samplePsi(uniform, [...uniform].reverse())).toBeCloseTo(0, 10);
    expect(
      samplePsi(
        uniform,
        uniform.map((v) => Math.min(1, v + 0.3)),
      ),
    ).toBeGreaterThan(0.5);
  });
  it('GIVEN a constant champion score THEN the bins collapse and PSI stays finite', () => {
    const psi = samplePsi(new Array(100).fill(0.2), new Array(100).fill(0.8));
    expect(Number.isFinite(psi)).toBe(true);
    expect(psi).toBeGreaterThan(1);
  });
});

describe('shadowVerdict', () => {
  const base = {
    pairs: 10,
    unpaired: { champion: 0, shadow: 0 },
    meanAbsDiff: 0.01,
    p99AbsDiff: 0.05,
    agreement: 0.95,
    disagreements: {},
    scorePsi: 0.05,
  };
  it('GIVEN figures within every threshold THEN it passes with no reasons', () => {
    expect(shadowVerdict(base, thresholds)).toEqual({ passed: true, judged: true, reasons: [] });
  });
  it('GIVEN agreement, PSI and mean difference past their thresholds THEN each is a reason', () => {
    const verdict = shadowVerdict(
      { ...base, agreement: 0.5, disagreements: { 'approve→decline': 5 }, scorePsi: 0.4, meanAbsDiff: 0.3 },
      thresholds,
    );
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual([
      expect.stringMatching(/agreement 0\.5000 is below 0\.9.*approve→decline/),
      expect.stringMatching(/score PSI 0\.4000 .* above 0\.25/),
      expect.stringMatching(/mean \|score difference\| 0\.3000 is above 0\.1/),
    ]);
  });
});

describe('parseCapturedScores', () => {
  it('GIVEN capture lines THEN row 0 of each answer with an id is read; lines without an id or not v2 are skipped', () => {
    const text = [line('t1', 0.25, 3), line(undefined, 0.5), 'not json', line('t2', 0.75), ''].join('\n');
    const { scores, skipped } = parseCapturedScores(text);
    expect(scores.map(({ inferenceId, score }) => ({ inferenceId, score }))).toEqual([
      { inferenceId: 't1', score: 0.25 },
      { inferenceId: 't2', score: 0.75 },
    ]);
    expect(scores[0]?.time?.toISOString()).toBe('2026-11-23T10:15:00.000Z');
    expect(skipped).toBe(2);
  });

  it('GIVEN a BASE64-encoded output THEN it is decoded', () => {
    const record = JSON.parse(line('t1', 0.3)) as {
      captureData: { endpointOutput: { data: string; encoding: string } };
    };
    record.captureData.endpointOutput.data = Buffer.from(record.captureData.endpointOutput.data).toString('base64');
    record.captureData.endpointOutput.encoding = 'BASE64';
    expect(parseCapturedScores(JSON.stringify(record)).scores[0]?.score).toBe(0.3);
  });
});

describe('captureHourPrefixes', () => {
  it('GIVEN a window across an hour THEN both hours of the variant are listed', () => {
    expect(
      captureHourPrefixes('m/ep/', 'shadow', new Date('2026-11-23T09:50:00Z'), new Date('2026-11-23T10:10:00Z')),
    ).toEqual(['m/ep/shadow/2026/11/23/09/', 'm/ep/shadow/2026/11/23/10/']);
  });
});

describe('runShadowComparison over in-memory ports', () => {
  it('GIVEN a run WHEN compared THEN both variants are read over its window, observed, then ShadowCompared is published', async () => {
    const reads: string[] = [];
    const steps: string[] = [];
    const published: ShadowComparedData[] = [];
    const scores = answers([
      ['a', 0.1],
      ['b', 0.6],
      ['c', 0.95],
    ]);
    const end = new Date('2026-11-23T10:00:00Z');
    const result = await runShadowComparison(
      { trigger: 'pipeline', end, windowMinutes: 30 },
      {
        answers: async (variant, start, until) => {
          reads.push(`${variant} ${start.toISOString()} ${until.toISOString()}`);
          return scores;
        },
        compared: () => void steps.push('compared'),
        publishCompared: async (data) => {
          steps.push('published');
          published.push(data);
        },
      },
      { model: 'm', policy, thresholds },
    );
    expect(reads.sort()).toEqual([
      'champion 2026-11-23T09:30:00.000Z 2026-11-23T10:00:00.000Z',
      'shadow 2026-11-23T09:30:00.000Z 2026-11-23T10:00:00.000Z',
    ]);
    expect(steps).toEqual(['compared', 'published']);
    expect(result).toMatchObject({ model: 'm', pairs: 3, agreement: 1, passed: true, judged: true });
    expect(published).toEqual([
      expect.objectContaining({
        model: 'm',
        trigger: 'pipeline',
        pairs: 3,
        passed: true,
        windowStart: '2026-11-23T09:30:00.000Z',
      }),
    ]);
  });
});
