// Challenger vs champion on the same holdout (the newest split): metrics, and the quality gate from the manifest —
// the model's own checks through its module, the comparison with the champion here.
import type { QualityVerdict } from '../../models/shared/module.js';

/** AUC-PR as average precision, ties forming one threshold (train.py's and sklearn's definition). */
export function averagePrecision(labels: readonly number[], scores: readonly number[]): number {
  const positives = labels.reduce((s, y) => s + y, 0);
  if (positives === 0) return Number.NaN;
  const order = scores.map((s, i) => [s, labels[i] as number] as const).sort((a, b) => b[0] - a[0]);
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let previousRecall = 0;
  for (let i = 0; i < order.length; i++) {
    const [score, y] = order[i] as readonly [number, number];
    if (y === 1) tp++;
    else fp++;
    const next = order[i + 1];
    if (next && next[0] === score) continue;
    const recall = tp / positives;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return ap;
}

/** Recall when the top `rate` share of rows (by score) is alerted. */
export function recallAtAlertRate(labels: readonly number[], scores: readonly number[], rate: number): number {
  const positives = labels.reduce((s, y) => s + y, 0);
  if (positives === 0) return Number.NaN;
  const k = Math.max(1, Math.floor(labels.length * rate));
  const top = scores
    .map((s, i) => [s, labels[i] as number] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, k);
  return top.reduce((s, [, y]) => s + y, 0) / positives;
}

export interface ScoreMetrics {
  readonly aucPr: number;
  readonly recallAt1pct: number;
  readonly rows: number;
  readonly positives: number;
}

export function scoreMetrics(labels: readonly number[], scores: readonly number[]): ScoreMetrics {
  return {
    aucPr: averagePrecision(labels, scores),
    recallAt1pct: recallAtAlertRate(labels, scores, 0.01),
    rows: labels.length,
    positives: labels.reduce((s, y) => s + y, 0),
  };
}

export interface GateInput {
  /** The model's own quality gate over its metrics.json (its module's `gate`: its bar, its lift over its baseline). */
  readonly model: QualityVerdict;
  /** The challenger's AUC-PR on test.csv (metrics.json `model.aucPr`), compared with the champion's on the same rows. */
  readonly challengerAucPr: number | null;
  /** The champion's served scores on the test rows that had one; null when none had (first model, all degraded). */
  readonly champion: ScoreMetrics | null;
  /** The manifest's `maxRegressionVsChampion`: how much worse than the champion a challenger may be. */
  readonly maxRegressionVsChampion: number;
}

export interface GateResult {
  readonly passed: boolean;
  /** Each check, passed or not, in words (recorded with the version). */
  readonly checks: readonly { readonly name: string; readonly passed: boolean; readonly detail: string }[];
}

const fmt = (n: number) => n.toFixed(4);

/** The model's gate (the module's verdict) and the platform's own check: no worse than the champion. */
export function applyGate(input: GateInput): GateResult {
  const { model, champion } = input;
  const checks: { name: string; passed: boolean; detail: string }[] = [];
  checks.push({
    name: 'qualityGate',
    passed: model.passed,
    detail: model.passed
      ? `the model's gate holds${model.lift === null ? '' : ` (lift vs baseline ${fmt(model.lift)})`}`
      : model.problems.join('; ') || "the model's gate failed without saying why",
  });
  const aucPr = input.challengerAucPr ?? Number.NaN;
  if (champion === null || !Number.isFinite(champion.aucPr)) {
    checks.push({ name: 'notWorseThanChampion', passed: true, detail: 'no champion scores on the holdout to compare' });
  } else {
    const floor = champion.aucPr * (1 - input.maxRegressionVsChampion);
    checks.push({
      name: 'notWorseThanChampion',
      passed: aucPr >= floor,
      detail: `challenger AUC-PR ${fmt(aucPr)} vs champion ${fmt(champion.aucPr)} on ${champion.rows} rows (floor ${fmt(floor)})`,
    });
  }
  return { passed: checks.every((c) => c.passed), checks };
}

/** Labels and champion scores of test.csv rows that carry a champion score. */
export function championScores(testCsv: string, label: string): { labels: number[]; scores: number[] } {
  const lines = testCsv.split('\n').filter((l) => l !== '');
  const header = (lines[0] ?? '').split(',');
  const labelCol = header.indexOf(label);
  const scoreCol = header.indexOf('champion_score');
  if (labelCol === -1 || scoreCol === -1) {
    throw new Error(`test.csv lacks '${label}' or 'champion_score' (header: ${header.join(',')})`);
  }
  const labels: number[] = [];
  const scores: number[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const score = cells[scoreCol];
    if (score === undefined || score === '') continue;
    labels.push(Number(cells[labelCol]));
    scores.push(Number(score));
  }
  return { labels, scores };
}
