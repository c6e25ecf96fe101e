// The shadow comparison: the champion's and the shadow's captured answers paired by inference id, their score
// differences, decision agreement at the policy thresholds, PSI of the shadow's scores vs the champion's, a verdict.
import { z } from 'zod';
import { binOf, PSI_EPSILON } from '../shared/capture.js';
import type { ShadowComparedData } from '../shared/contracts/events.js';

/** One captured answer: the score of the scored transaction (row 0 of the request) under its inference id. */
export interface CapturedScore {
  readonly inferenceId: string;
  readonly score: number;
  /** When the endpoint answered (capture's eventMetadata.inferenceTime), when the capture says. */
  readonly time?: Date;
}

/** The model's output policy at this environment's thresholds: agreement is counted in its own outcomes. */
export interface DecisionPolicy {
  decide(score: number): string;
}

/** The verdict's thresholds (the manifest's `monitoring.shadow`). */
export interface ShadowThresholds {
  readonly minPairs: number;
  readonly minAgreement: number;
  readonly maxScorePsi: number;
  readonly maxMeanAbsDiff: number;
}

export interface ShadowComparison {
  /** Inference ids answered by both variants. */
  readonly pairs: number;
  /** Answers of one variant with no answer of the other in the window (sampling, a shadow error, a window edge). */
  readonly unpaired: { readonly champion: number; readonly shadow: number };
  /** Mean and p99 of |shadow − champion| over the pairs (0 when there are none). */
  readonly meanAbsDiff: number;
  readonly p99AbsDiff: number;
  /** Share of pairs with the same decision at the policy thresholds (1 when there are none). */
  readonly agreement: number;
  /** Pairs per (champion decision → shadow decision) where they differ, e.g. `review→decline`. */
  readonly disagreements: Readonly<Record<string, number>>;
  /** PSI of the shadow's paired scores against the champion's, over the champion's deciles. */
  readonly scorePsi: number;
}

export interface ShadowVerdict {
  readonly passed: boolean;
  /** Whether there were enough pairs to judge; a verdict without enough evidence does not pass. */
  readonly judged: boolean;
  /** Why it failed, one line per failed check (empty when it passed). */
  readonly reasons: readonly string[];
}

/** Bins of the score PSI: the champion's deciles. */
export const PSI_BINS = 10;

/**
 * PSI of `actual` against `expected`, binned at the expected sample's quantiles (distinct edges only, so a point
 * mass such as a constant score still bins sensibly): Σ (a − e) · ln(a / e).
 */
export function samplePsi(expected: readonly number[], actual: readonly number[], bins = PSI_BINS): number {
  if (expected.length === 0 || actual.length === 0) return 0;
  const sorted = [...expected].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / bins))] as number;
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  const histogram = (values: readonly number[]) => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of values) {
      const b = binOf(edges, v);
      counts[b] = (counts[b] as number) + 1;
    }
    return counts.map((c) => Math.max(c / values.length, PSI_EPSILON));
  };
  const e = histogram(expected);
  const a = histogram(actual);
  return e.reduce((total, ei, i) => total + ((a[i] as number) - ei) * Math.log((a[i] as number) / ei), 0);
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/**
 * Pairs the two variants' answers by inference id and compares them. An id seen twice in one variant (a retried
 * request) keeps its last answer; answers without an id cannot be paired and count as unpaired.
 */
export function compareShadow(
  champion: readonly CapturedScore[],
  shadow: readonly CapturedScore[],
  policy: DecisionPolicy,
): ShadowComparison {
  const byId = (scores: readonly CapturedScore[]) => {
    const map = new Map<string, number>();
    for (const s of scores) map.set(s.inferenceId, s.score);
    return map;
  };
  const c = byId(champion);
  const s = byId(shadow);
  const diffs: number[] = [];
  const championScores: number[] = [];
  const shadowScores: number[] = [];
  const disagreements: Record<string, number> = {};
  let agreeing = 0;
  for (const [id, cs] of c) {
    const ss = s.get(id);
    if (ss === undefined) continue;
    diffs.push(Math.abs(ss - cs));
    championScores.push(cs);
    shadowScores.push(ss);
    const dc = policy.decide(cs);
    const ds = policy.decide(ss);
    if (dc === ds) agreeing++;
    else disagreements[`${dc}→${ds}`] = (disagreements[`${dc}→${ds}`] ?? 0) + 1;
  }
  const pairs = diffs.length;
  diffs.sort((a, b) => a - b);
  return {
    pairs,
    unpaired: { champion: c.size - pairs, shadow: s.size - pairs },
    meanAbsDiff: pairs === 0 ? 0 : diffs.reduce((a, b) => a + b, 0) / pairs,
    p99AbsDiff: percentile(diffs, 99),
    agreement: pairs === 0 ? 1 : agreeing / pairs,
    disagreements,
    scorePsi: samplePsi(championScores, shadowScores),
  };
}

export function shadowVerdict(comparison: ShadowComparison, thresholds: ShadowThresholds): ShadowVerdict {
  if (comparison.pairs < thresholds.minPairs) {
    return {
      passed: false,
      judged: false,
      reasons: [
        `only ${comparison.pairs} paired answers in the window, fewer than the ${thresholds.minPairs} a verdict needs`,
      ],
    };
  }
  const reasons: string[] = [];
  if (comparison.agreement < thresholds.minAgreement) {
    reasons.push(
      `decision agreement ${comparison.agreement.toFixed(4)} is below ${thresholds.minAgreement} (${JSON.stringify(comparison.disagreements)})`,
    );
  }
  if (comparison.scorePsi > thresholds.maxScorePsi) {
    reasons.push(`score PSI ${comparison.scorePsi.toFixed(4)} vs the champion is above ${thresholds.maxScorePsi}`);
  }
  if (comparison.meanAbsDiff > thresholds.maxMeanAbsDiff) {
    reasons.push(`mean |score difference| ${comparison.meanAbsDiff.toFixed(4)} is above ${thresholds.maxMeanAbsDiff}`);
  }
  return { passed: reasons.length === 0, judged: true, reasons };
}

// ---- One comparison run over its ports

export interface ShadowResult extends ShadowComparison, ShadowVerdict {
  readonly model: string;
  readonly windowStart: string;
  readonly windowEnd: string;
}

/** What starts a comparison: a schedule reads the configured window, the pipeline names the candidate's bake. */
export interface ShadowRun {
  readonly trigger: ShadowComparedData['trigger'];
  readonly end: Date;
  readonly windowMinutes: number;
}

export interface ShadowPorts {
  /** One variant's answers of [start, end]. */
  readonly answers: (variant: 'champion' | 'shadow', start: Date, end: Date) => Promise<readonly CapturedScore[]>;
  /** Publishes ShadowCompared. */
  readonly publishCompared: (data: ShadowComparedData) => Promise<void>;
  /** Told of each result before it is published (metrics, logs). */
  readonly compared?: (result: ShadowResult) => void;
}

export interface ShadowConfig {
  readonly model: string;
  readonly policy: DecisionPolicy;
  readonly thresholds: ShadowThresholds;
}

/** One comparison: both variants' answers of the window → pairs, differences, agreement, PSI → a verdict, published. */
export async function runShadowComparison(
  run: ShadowRun,
  ports: ShadowPorts,
  config: ShadowConfig,
): Promise<ShadowResult> {
  const { end } = run;
  const start = new Date(end.getTime() - run.windowMinutes * 60_000);
  const [champion, shadow] = await Promise.all([
    ports.answers('champion', start, end),
    ports.answers('shadow', start, end),
  ]);
  const comparison = compareShadow(champion, shadow, config.policy);
  const verdict = shadowVerdict(comparison, config.thresholds);
  const result: ShadowResult = {
    model: config.model,
    windowStart: start.toISOString(),
    windowEnd: end.toISOString(),
    ...comparison,
    ...verdict,
  };
  ports.compared?.(result);
  await ports.publishCompared({
    model: config.model,
    trigger: run.trigger,
    windowStart: result.windowStart,
    windowEnd: result.windowEnd,
    pairs: comparison.pairs,
    unpaired: comparison.unpaired,
    meanAbsDiff: comparison.meanAbsDiff,
    p99AbsDiff: comparison.p99AbsDiff,
    agreement: comparison.agreement,
    scorePsi: Math.max(0, comparison.scorePsi),
    passed: verdict.passed,
    judged: verdict.judged,
    reasons: [...verdict.reasons],
  });
  return result;
}

// ---- SageMaker data capture (the format SageMaker and the local endpoint proxy write)

const CaptureLine = z.object({
  captureData: z.object({
    endpointOutput: z.object({ data: z.string(), encoding: z.string() }).optional(),
  }),
  eventMetadata: z.object({ inferenceId: z.string().min(1).optional(), inferenceTime: z.string().optional() }),
});
const V2Output = z.object({ outputs: z.array(z.object({ data: z.array(z.number()) })).min(1) });

/**
 * The score of row 0 (the scored transaction; the scorer appends occlusion rows after it) of each captured answer
 * that has an inference id and an output. Lines that are not v2 answers, or carry no id, are counted as skipped.
 */
export function parseCapturedScores(text: string): { scores: CapturedScore[]; skipped: number } {
  const scores: CapturedScore[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = CaptureLine.parse(JSON.parse(line));
      const output = record.captureData.endpointOutput;
      const inferenceId = record.eventMetadata.inferenceId;
      if (!output || !inferenceId) {
        skipped++;
        continue;
      }
      const body = output.encoding === 'BASE64' ? Buffer.from(output.data, 'base64').toString('utf8') : output.data;
      const score = V2Output.parse(JSON.parse(body)).outputs[0]?.data[0];
      if (score === undefined || !Number.isFinite(score)) {
        skipped++;
        continue;
      }
      const time = record.eventMetadata.inferenceTime ? new Date(record.eventMetadata.inferenceTime) : undefined;
      scores.push({ inferenceId, score, ...(time && !Number.isNaN(time.getTime()) ? { time } : {}) });
    } catch {
      skipped++;
    }
  }
  return { scores, skipped };
}
