// What a merchant-risk probability means at an environment's thresholds: leave the merchant be, watch it, or hold its
// settlements for a person to review.
export const MERCHANT_OUTCOMES = ['clear', 'watch', 'block-review'] as const;
export type MerchantOutcome = (typeof MERCHANT_OUTCOMES)[number];

/** Probabilities at or above `watch` are watched, at or above `blockReview` held for review (per environment). */
export interface MerchantThresholds {
  readonly watch: number;
  readonly blockReview: number;
}

export function validateThresholds({ watch, blockReview }: MerchantThresholds): void {
  if (!(watch > 0 && watch <= blockReview && blockReview <= 1)) {
    throw new Error(`merchant thresholds must satisfy 0 < watch <= blockReview <= 1, got ${watch} and ${blockReview}`);
  }
}

export function decideMerchant(probability: number, { watch, blockReview }: MerchantThresholds): MerchantOutcome {
  if (probability >= blockReview) return 'block-review';
  if (probability >= watch) return 'watch';
  return 'clear';
}
