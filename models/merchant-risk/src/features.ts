// The one merchant-risk feature definition: the merchant-day record (daily aggregates from the transaction lake), the
// merchant's bounded online state (its last active days) and the model input computed from both. Pure and plain JSON,
// so the nightly batch, the real-time route and the training-set builder all run this same code.
import * as z from 'zod';

const DAY = 86_400_000;
/** Days of history the state keeps, and the window of the "vs last week" features. */
export const HISTORY_DAYS = 7;
/** A purchase below this (major units) counts as small: probing a terminal costs the fraudster little. */
export const SMALL_AMOUNT = 10;
/** Local hours [0, NIGHT_END) count as night. */
export const NIGHT_END = 5;

const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
const Count = z.number().int().min(0).max(10_000_000);

/** One merchant's activity on one UTC day: what the lake query returns per active merchant, and the request body. */
export const MerchantDay = z
  .object({
    merchantId: Id,
    /** The UTC day the aggregates cover (YYYY-MM-DD); the prediction is for the 24 h after it ends. */
    date: z.iso.date(),
    /** Transactions that day (at least one: only active merchants are scored). */
    count: Count.min(1),
    /** Major units. Every transaction is at least 0.001 and at most 1,000,000 (the Transaction contract), so a day of at
     *  least one is too; the bounds also keep every value storable in DynamoDB (no magnitude below 1e-130). */
    amountSum: z.number().min(0.001).max(1e13),
    amountMax: z.number().min(0.001).max(1_000_000),
    /** Transactions below SMALL_AMOUNT. */
    smallCount: Count,
    distinctCustomers: Count.min(1),
    /** Distinct customers who had never paid this merchant before that day. */
    newCustomers: Count,
    /** Transactions in the local night (the timestamp's own offset, hours 0..NIGHT_END). */
    nightCount: Count,
    /** Transactions whose card currency is not the currency of the country where it was used. */
    crossBorderCount: Count,
    onlineCount: Count,
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const key of ['smallCount', 'nightCount', 'crossBorderCount', 'onlineCount', 'distinctCustomers'] as const) {
      if (d[key] > d.count)
        ctx.addIssue({ code: 'custom', path: [key], message: `expected at most count (${d.count})` });
    }
    if (d.newCustomers > d.distinctCustomers) {
      ctx.addIssue({ code: 'custom', path: ['newCustomers'], message: 'expected at most distinctCustomers' });
    }
    if (d.amountMax > d.amountSum)
      ctx.addIssue({ code: 'custom', path: ['amountMax'], message: 'expected ≤ amountSum' });
  });
export type MerchantDay = z.infer<typeof MerchantDay>;

/** The id a merchant-day is known by (labels, audit, predictions). */
export const merchantDayId = (day: Pick<MerchantDay, 'merchantId' | 'date'>): string => `${day.merchantId}/${day.date}`;

/** What the state keeps of one past day. */
export interface DaySummary {
  readonly date: string;
  readonly count: number;
  readonly amountSum: number;
  readonly newCustomers: number;
}

/** A merchant's online state: its latest active days, oldest first, at most HISTORY_DAYS of them. */
export interface MerchantHistory {
  readonly days: readonly DaySummary[];
}

export const emptyHistory = (): MerchantHistory => ({ days: [] });

/**
 * The history after `day`: arrival order does not matter, a day already folded returns the same object. Only the
 * latest HISTORY_DAYS are kept, so re-scoring a day older than those sees a shorter week.
 */
export function foldDay(state: MerchantHistory, day: MerchantDay): MerchantHistory {
  if (state.days.some((d) => d.date === day.date)) return state;
  const summary: DaySummary = {
    date: day.date,
    count: day.count,
    amountSum: day.amountSum,
    newCustomers: day.newCustomers,
  };
  const days = [...state.days, summary].sort((a, b) => (a.date < b.date ? -1 : 1));
  return { days: days.slice(-HISTORY_DAYS) };
}

/** Every feature, in model-input order, with what it means. */
export const FEATURE_DEFINITIONS = [
  { name: 'log_count', description: 'ln(1 + transactions that day)' },
  { name: 'log_amount_mean', description: 'ln(1 + mean amount)' },
  { name: 'log_amount_max', description: 'ln(1 + largest amount)' },
  { name: 'small_share', description: `share of transactions below ${SMALL_AMOUNT}` },
  { name: 'customers_per_txn', description: 'distinct customers / transactions' },
  { name: 'new_customer_share', description: 'share of the day’s customers new to the merchant' },
  { name: 'night_share', description: `share of transactions in the local night (0–${NIGHT_END} h)` },
  { name: 'cross_border_share', description: 'share of cards used outside their currency’s country' },
  { name: 'online_share', description: 'share of card-not-present transactions' },
  { name: 'log_count_vs_prev_day', description: 'ln((1 + count) / (1 + count the day before))' },
  { name: 'log_count_vs_week', description: 'ln((1 + count) / (1 + mean daily count over the previous 7 days))' },
  { name: 'log_amount_vs_week', description: 'ln((1 + amount) / (1 + mean daily amount over the previous 7 days))' },
  { name: 'new_customers_vs_week', description: 'ln((1 + new customers) / (1 + their mean over the previous 7 days))' },
  { name: 'active_days_share', description: 'active days in the previous 7, / 7' },
] as const;

export type FeatureName = (typeof FEATURE_DEFINITIONS)[number]['name'];
export const FEATURE_NAMES: readonly FeatureName[] = FEATURE_DEFINITIONS.map((f) => f.name);

const dayNumber = (date: string): number => Math.round(Date.parse(`${date}T00:00:00Z`) / DAY);
const ratio = (value: number, reference: number): number => Math.log((1 + value) / (1 + reference));

/** The model input for `day` from the merchant's history as it was before that day (days on or after it are ignored). */
export function computeFeatures(day: MerchantDay, history: MerchantHistory): number[] {
  const today = dayNumber(day.date);
  const past = history.days.filter((d) => {
    const age = today - dayNumber(d.date);
    return age >= 1 && age <= HISTORY_DAYS;
  });
  const yesterday = past.find((d) => today - dayNumber(d.date) === 1);
  const weekly = (pick: (d: DaySummary) => number) => past.reduce((s, d) => s + pick(d), 0) / HISTORY_DAYS;
  const values: Record<FeatureName, number> = {
    log_count: Math.log1p(day.count),
    log_amount_mean: Math.log1p(day.amountSum / day.count),
    log_amount_max: Math.log1p(day.amountMax),
    small_share: day.smallCount / day.count,
    customers_per_txn: day.distinctCustomers / day.count,
    new_customer_share: day.newCustomers / day.distinctCustomers,
    night_share: day.nightCount / day.count,
    cross_border_share: day.crossBorderCount / day.count,
    online_share: day.onlineCount / day.count,
    log_count_vs_prev_day: ratio(day.count, yesterday?.count ?? 0),
    log_count_vs_week: ratio(
      day.count,
      weekly((d) => d.count),
    ),
    log_amount_vs_week: ratio(
      day.amountSum,
      weekly((d) => d.amountSum),
    ),
    new_customers_vs_week: ratio(
      day.newCustomers,
      weekly((d) => d.newCustomers),
    ),
    active_days_share: past.length / HISTORY_DAYS,
  };
  return FEATURE_NAMES.map((name) => values[name]);
}

/** A feature vector by name (for rules and explanations). */
export function featureRecord(vector: readonly number[]): Readonly<Record<FeatureName, number>> {
  if (vector.length !== FEATURE_NAMES.length) {
    throw new Error(`expected ${FEATURE_NAMES.length} merchant features, got ${vector.length}`);
  }
  return Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, vector[i] as number])) as Record<FeatureName, number>;
}
