// The merchant-risk rules: transparent points per red flag of a probed terminal. The bar the model must beat (quality
// gate) and the answer when the model cannot give one, so every point comes with a reason a person can check.
import type { ModelRef } from '../../shared/contracts/decision.js';
import type { BaselineScore } from '../../shared/module.js';
import type { FeatureName } from './features.js';

/** How the rules are named where a model's name would be (predictions, audit records) when they answer instead. */
export const MERCHANT_RULES_MODEL: ModelRef = { name: 'merchant-rules', version: '1' };

/** Points at which the score reaches 1 - 1/e ≈ 0.63 (about two red flags). */
const POINTS_SCALE = 2;

type Features = Readonly<Record<FeatureName, number>>;

interface Rule {
  readonly points: (f: Features) => number;
  readonly reason: (f: Features) => string;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const count = (f: Features): number => Math.round(Math.expm1(f.log_count));

const RULES: readonly Rule[] = [
  {
    points: (f) => (f.night_share >= 0.3 && count(f) >= 3 ? 1 : 0),
    reason: (f) => `night activity: ${pct(f.night_share)} of ${count(f)} transactions in the local night`,
  },
  {
    points: (f) => (f.new_customer_share >= 0.8 && count(f) >= 3 ? 0.8 : 0),
    reason: (f) => `new cards: ${pct(f.new_customer_share)} of the day's customers never paid here before`,
  },
  {
    points: (f) => (f.small_share >= 0.5 && count(f) >= 3 ? 0.6 : 0),
    reason: (f) => `small amounts: ${pct(f.small_share)} of transactions below the small-amount line`,
  },
  {
    points: (f) => (f.log_count_vs_week >= Math.log(3) ? 0.6 : 0),
    reason: (f) => `volume spike: ${Math.exp(f.log_count_vs_week).toFixed(1)}× the last week's daily mean`,
  },
];

/** The rules' score (0..1, monotone in the red flags) and their reasons, strongest first. */
export function merchantRulesScore(f: Features): BaselineScore {
  const fired = RULES.map((rule) => ({ rule, points: rule.points(f) }))
    .filter((r) => r.points > 0)
    .sort((a, b) => b.points - a.points);
  const points = fired.reduce((s, r) => s + r.points, 0);
  return { score: 1 - Math.exp(-points / POINTS_SCALE), reasons: fired.map((r) => r.rule.reason(f)) };
}
