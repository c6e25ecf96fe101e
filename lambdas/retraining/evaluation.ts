// Challenger vs champion on the same holdout (the newest split): metrics, and the quality gate from the manifest.

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

export interface QualityGate {
  readonly minAucPr: number;
  readonly minRecallLiftVsRules: number;
  readonly maxRegressionVsChampion: number;
}

export interface GateInput {
  /** train.py's metrics.json `model` block (on test.csv). */
  readonly challenger: { readonly aucPr: number | null; readonly recallAt1pct: number | null };
  /** train.py's `rules` block (rules_score on test.csv), or null when the split had no rules score. */
  readonly rules: { readonly recallAt1pct: number | null } | null;
  /** The champion's served scores on the test rows that had one; null when none had (first model, all degraded). */
  readonly champion: ScoreMetrics | null;
  readonly gate: QualityGate;
}

export interface GateResult {
  readonly passed: boolean;
  /** Each check, passed or not, in words (recorded with the version). */
  readonly checks: readonly { readonly name: string; readonly passed: boolean; readonly detail: string }[];
}

const fmt = (n: number) => n.toFixed(4);

export function applyGate(input: GateInput): GateResult {
  const { challenger, rules, champion, gate } = input;
  const checks: { name: string; passed: boolean; detail: string }[] = [];
  const aucPr = challenger.aucPr ?? Number.NaN;
  checks.push({
    name: 'minAucPr',
    passed: aucPr >= gate.minAucPr,
    detail: `challenger AUC-PR ${fmt(aucPr)} vs bar ${fmt(gate.minAucPr)}`,
  });
  const rulesRecall = rules?.recallAt1pct ?? null;
  if (rulesRecall === null || rulesRecall === 0 || challenger.recallAt1pct === null) {
    checks.push({
      name: 'minRecallLiftVsRules',
      passed: false,
      detail: 'no rules recall on the holdout (no rules_score or no positives): the lift cannot be shown',
    });
  } else {
    const lift = challenger.recallAt1pct / rulesRecall;
    checks.push({
      name: 'minRecallLiftVsRules',
      passed: lift >= gate.minRecallLiftVsRules,
      detail: `recall@1% lift vs rules ${fmt(lift)} vs bar ${fmt(gate.minRecallLiftVsRules)}`,
    });
  }
  if (champion === null || !Number.isFinite(champion.aucPr)) {
    checks.push({ name: 'notWorseThanChampion', passed: true, detail: 'no champion scores on the holdout to compare' });
  } else {
    const floor = champion.aucPr * (1 - gate.maxRegressionVsChampion);
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
