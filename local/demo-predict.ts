// The second model in `npm run demo`: after the fraud traffic, the merchant-risk team asks for on-demand predictions —
// POST /v1/models/merchant-risk/predict with the risk-ops client's token — for the live day's merchant-days, computed
// from the very transactions the demo replayed (the same aggregation the nightly batch runs over the lake).
import { PredictResponse } from '../lambdas/shared/contracts/api.js';
import { merchantDays } from '../models/merchant-risk/src/aggregates.js';
import { type MerchantDay, merchantDayId } from '../models/merchant-risk/src/features.js';
import type { Transaction } from '../models/shared/contracts/transaction.js';

export const PREDICT_MODEL = 'merchant-risk';
export const PREDICT_CLIENT = 'risk-ops';

/** What the demo needs of its API client: a POST with extra headers. */
export type Post = (
  path: string,
  body: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; json: unknown }>;

/**
 * The merchant-days of `date` worth showing: the busiest, then the most unusual (night and small-amount shares, new
 * customers — what a compromised terminal looks like), `n` in all, each merchant once.
 */
export function pickMerchantDays(transactions: readonly Transaction[], date: string, n: number): MerchantDay[] {
  const days = merchantDays(transactions).filter((d) => d.date === date);
  const busiest = [...days].sort((a, b) => b.count - a.count || (a.merchantId < b.merchantId ? -1 : 1));
  const unusual = (d: MerchantDay) => (d.nightCount + d.smallCount + d.newCustomers) / d.count;
  const oddest = [...days]
    .filter((d) => d.count >= 3)
    .sort((a, b) => unusual(b) - unusual(a) || (a.merchantId < b.merchantId ? -1 : 1));
  const picked = new Map<string, MerchantDay>();
  for (const d of [...busiest.slice(0, Math.ceil(n / 2)), ...oddest]) {
    if (picked.size >= n) break;
    picked.set(d.merchantId, d);
  }
  return [...picked.values()];
}

export interface PredictSummary {
  readonly answered: number;
  readonly degraded: number;
  readonly errors: number;
}

/** Predicts each merchant-day once (its id as the Idempotency-Key, so a rerun of the same run is a replay) and prints it. */
export async function showMerchantPredictions(
  post: Post,
  days: readonly MerchantDay[],
  write: (line: string) => void,
): Promise<PredictSummary> {
  const path = `/v1/models/${PREDICT_MODEL}/predict`;
  write(`\n▶ ${PREDICT_MODEL}: POST ${path} for ${days.length} merchant-days (client ${PREDICT_CLIENT})`);
  write(
    '  (a merchant’s last week comes from the nightly batch, which folds it into the features table; this run’s' +
      ' merchants are new, so their week is empty and every day reads as a volume spike — see `npm run demo -- --batch`)',
  );
  let answered = 0;
  let degraded = 0;
  let errors = 0;
  for (const day of days) {
    const id = merchantDayId(day);
    const r = await post(path, day, { 'Idempotency-Key': id.replace('/', '_') });
    const parsed = PredictResponse.safeParse(r.json);
    if (r.status !== 200 || !parsed.success) {
      errors++;
      write(`  ${id}  ✖ ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
      continue;
    }
    const p = parsed.data;
    answered++;
    if (p.degraded) degraded++;
    write(
      `  ${id}  ${day.count} txns, ${day.distinctCustomers} customers (${day.newCustomers} new), ` +
        `${day.nightCount} at night, ${day.smallCount} small`,
    );
    write(
      `    → score ${p.prediction.score.toFixed(4)}  ${p.prediction.outcome.padEnd(12)} ` +
        `${p.model.name}@${p.model.version}${p.degraded ? ' (degraded: rules baseline)' : ''}  ${p.latencyMs} ms`,
    );
    const top = p.explanation
      .slice(0, 3)
      .map((a) => `${a.feature} ${a.contribution >= 0 ? '+' : ''}${a.contribution.toFixed(3)}`);
    write(
      `      top attributions: ${top.join(', ') || '(none)'}${p.reasons.length ? ` | rules: ${p.reasons.join('; ')}` : ''}`,
    );
  }
  return { answered, degraded, errors };
}
