// The retraining set's lake query: every merchant-day of the lookback window rebuilt from the decision log (the same
// aggregates as the nightly batch, src/batch.ts) with its label: the merchant label reported for the next day
// (POST /v1/models/merchant-risk/labels → the lake's entity labels) where there is one, else the label derived from
// the transaction labels the feedback service writes to the ground truth (chargebacks per transaction); and the score
// the nightly batch served for it (`champion_score`), so the gate compares a challenger with the champion on the holdout.
import { ENTITY_LABELS_TABLE, PREDICTIONS_TABLE } from '../../shared/contracts/entity-label.js';
import { CURRENCIES_CTE, DAY_AGGREGATES, NEW_CUSTOMER_LOOKBACK_DAYS, TXN_COLUMNS } from './batch.js';
import { HISTORY_DAYS, SMALL_AMOUNT } from './features.js';

/**
 * A merchant-day is labelled compromised-next-day when, on the next UTC day, at least this many distinct cards have a
 * confirmed-fraud purchase of CASH_OUT_MIN_AMOUNT or more there: a compromise cashes out 4–14 stolen cards at one
 * merchant within hours, while other fraud rarely puts three cards at the same merchant on one day
 * (local/lifecycle/test/merchant-risk-training-query.test.ts measures the agreement with the simulator's records).
 */
export const COMPROMISE_MIN_CARDS = 3;

/**
 * Probing purchases (the day before a compromise, small: under 15 in the simulator) are fraud too; counting them would
 * label the day before the probes. Cash-out purchases are far larger (about twice the category's median).
 */
export const CASH_OUT_MIN_AMOUNT = 2 * SMALL_AMOUNT;

/** The model whose entity labels the query reads (the lake's entity-labels table holds every model's). */
const MODEL = 'merchant-risk';

/** Which label a merchant-day of the window got (the `label_source` column): reported wins over derived. */
export const LABEL_SOURCES = ['reported', 'derived'] as const;

/**
 * The training window's merchant-days (MERCHANT_DAY_COLUMNS), a `label` column (0/1) and a `label_source` column
 * (LABEL_SOURCES) and a `champion_score` column (the nightly batch's score of the merchant-day, empty where no run
 * scored it): days from `lookbackDays` ago to the day before the labels' maturity (its next day must be mature
 * too), ordered by day and merchant. A merchant-day's label says whether the merchant is compromised the next UTC day:
 * the latest report of that merchant and day (by reportedAt) when there is one, true or false, else derived from
 * chargebacks. The HISTORY_DAYS before the window come too, with an empty label and source: they only build the
 * history the window's first days are scored from, as serving has it.
 */
export function merchantTrainingQuery(window: {
  readonly lookbackDays: number;
  readonly maturityDays: number;
}): string {
  const { lookbackDays, maturityDays } = window;
  const from = lookbackDays + HISTORY_DAYS;
  const history = `days.day < date_format(current_date - interval '${lookbackDays}' day, '%Y-%m-%d')`;
  const nextDay = "date_format(CAST(days.day AS date) + interval '1' day, '%Y-%m-%d')";
  return [
    'WITH logged AS (',
    '  SELECT d.transaction AS t, d.transactionid AS transaction_id,',
    '    row_number() OVER (PARTITION BY d.transactionid ORDER BY d.dt) AS copy',
    '  FROM decisions d',
    // As far back as the nightly batch looks for a customer's first purchase at a merchant ("new customer").
    `  WHERE d.dt >= date_format(current_date - interval '${from + NEW_CUSTOMER_LOOKBACK_DAYS + 1}' day, '%Y-%m-%d')`,
    `    AND d.dt <= date_format(current_date - interval '${Math.max(0, maturityDays - 1)}' day, '%Y-%m-%d')`,
    '), labels AS (',
    '  SELECT eventmetadata.eventid AS transaction_id, max_by(groundtruthdata.data, "hour") AS label FROM ground_truth',
    `  WHERE "hour" >= date_format(current_timestamp - interval '${lookbackDays + 1}' day, '%Y/%m/%d/%H') GROUP BY 1`,
    '), txns AS (',
    ...TXN_COLUMNS,
    '    , transaction_id',
    '  FROM logged WHERE copy = 1',
    '), firsts AS (',
    '  SELECT merchant_id, customer_id, min(day) AS first_day FROM txns GROUP BY merchant_id, customer_id',
    '), compromised AS (',
    '  SELECT x.merchant_id, x.day FROM txns x JOIN labels l ON l.transaction_id = x.transaction_id',
    `  WHERE l.label = '1' AND x.amount >= ${CASH_OUT_MIN_AMOUNT}`,
    `  GROUP BY x.merchant_id, x.day HAVING count(DISTINCT x.customer_id) >= ${COMPROMISE_MIN_CARDS}`,
    '), reported AS (',
    '  SELECT entityid AS merchant_id, "day", max_by(outcome, from_iso8601_timestamp(reportedat)) AS compromised',
    `  FROM ${ENTITY_LABELS_TABLE} WHERE model = '${MODEL}'`,
    `    AND dt >= date_format(current_date - interval '${Math.max(0, lookbackDays - 1)}' day, '%Y-%m-%d')`,
    `    AND dt <= date_format(current_date - interval '${maturityDays}' day, '%Y-%m-%d')`,
    '  GROUP BY 1, 2',
    '), served AS (',
    // A night rerun rewrites its day's folder, so there is one score per merchant-day.
    `  SELECT id, max(score) AS score FROM ${PREDICTIONS_TABLE} WHERE model = '${MODEL}'`,
    `    AND dt >= date_format(current_date - interval '${lookbackDays}' day, '%Y-%m-%d')`,
    `    AND dt <= date_format(current_date - interval '${maturityDays + 1}' day, '%Y-%m-%d')`,
    '  GROUP BY id',
    `), ${CURRENCIES_CTE},`,
    'days AS (',
    ...DAY_AGGREGATES,
    '  FROM txns x',
    '  JOIN firsts f ON f.merchant_id = x.merchant_id AND f.customer_id = x.customer_id',
    '  LEFT JOIN currencies c ON c.country = x.country',
    `  WHERE x.day >= date_format(current_date - interval '${from}' day, '%Y-%m-%d')`,
    `    AND x.day <= date_format(current_date - interval '${maturityDays + 1}' day, '%Y-%m-%d')`,
    '  GROUP BY x.merchant_id, x.day',
    ')',
    'SELECT days.*,',
    `  CASE WHEN ${history} THEN NULL WHEN coalesce(r.compromised, k.merchant_id IS NOT NULL) THEN 1 ELSE 0 END AS label,`,
    `  CASE WHEN ${history} THEN NULL WHEN r.compromised IS NOT NULL THEN 'reported' ELSE 'derived' END AS label_source,`,
    `  CASE WHEN ${history} THEN NULL ELSE p.score END AS champion_score`,
    'FROM days',
    `LEFT JOIN compromised k ON k.merchant_id = days.merchant_id AND k.day = ${nextDay}`,
    `LEFT JOIN reported r ON r.merchant_id = days.merchant_id AND r.day = ${nextDay}`,
    // The batch's prediction id of a merchant-day (src/batch.ts: `<merchant>/<date>`).
    "LEFT JOIN served p ON p.id = concat(days.merchant_id, '/', days.day)",
    'ORDER BY days.day, days.merchant_id',
  ].join('\n');
}
