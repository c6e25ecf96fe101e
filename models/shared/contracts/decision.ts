// The decision vocabulary shared by the score API, the audit record and the bus events.
import * as z from 'zod';

export const DECISIONS = ['approve', 'review', 'decline'] as const;
export const Decision = z.enum(DECISIONS);
export type Decision = z.infer<typeof Decision>;

/**
 * The decision policy: approve < review threshold ≤ review < decline threshold ≤ decline. The scorer decides with
 * it and the shadow comparison counts agreement with it, so both cut at the same place.
 */
export function decide(score: number, reviewThreshold: number, declineThreshold: number): Decision {
  if (score >= declineThreshold) return 'decline';
  if (score >= reviewThreshold) return 'review';
  return 'approve';
}

/** One feature's contribution to the score (positive = pushed towards fraud). */
export const Attribution = z
  .object({
    feature: z.string().min(1),
    contribution: z.number(),
  })
  .strict();
export type Attribution = z.infer<typeof Attribution>;

/** Which model produced a score; `rules` with the rules version when the model was unavailable. */
export const ModelRef = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
  })
  .strict();
export type ModelRef = z.infer<typeof ModelRef>;
