// The nightly batch's input: one lake query (Athena's Presto dialect, also run by DuckDB on the local stage) that
// computes, from the decision log's transactions, the merchant-days of every merchant active on the run's day and of
// the HISTORY_DAYS before it — the same aggregates as src/aggregates.ts, which the batch test holds it to.
import { COUNTRIES } from '../../shared/countries.js';
import type { BatchSource } from '../../shared/module.js';
import { HISTORY_DAYS, MerchantDay, merchantDayId, NIGHT_END, SMALL_AMOUNT } from './features.js';

/**
 * How far back a customer's first purchase at a merchant is looked for ("new customer"): the query scans this many
 * days of the decision log, so a customer returning after longer counts as new again.
 */
export const NEW_CUSTOMER_LOOKBACK_DAYS = 90;

const countries = Object.entries(COUNTRIES)
  .map(([code, info]) => `('${code}', '${info.currency}')`)
  .join(', ');

/** The `txns` CTE's columns from a logged transaction `t` (the decision log's JSON), one line each. */
export const TXN_COLUMNS = [
  "  SELECT json_extract_scalar(t, '$.merchantId') AS merchant_id, json_extract_scalar(t, '$.customerId') AS customer_id,",
  "    CAST(json_extract_scalar(t, '$.amount') AS double) AS amount, json_extract_scalar(t, '$.currency') AS currency,",
  "    json_extract_scalar(t, '$.country') AS country, json_extract_scalar(t, '$.channel') AS channel,",
  // The hour where the card was used: the timestamp's own offset, as written.
  "    CAST(substr(json_extract_scalar(t, '$.timestamp'), 12, 2) AS integer) AS local_hour,",
  "    date_format(from_iso8601_timestamp(json_extract_scalar(t, '$.timestamp')) AT TIME ZONE 'UTC', '%Y-%m-%d') AS day",
] as const;

/** Each country's currency (a payment in another currency is cross-border). */
export const CURRENCIES_CTE = `currencies (country, currency) AS (VALUES ${countries})`;

/** A merchant-day's aggregates over `txns x` joined to `firsts f` and `currencies c` (MERCHANT_DAY_COLUMNS). */
export const DAY_AGGREGATES = [
  'SELECT x.merchant_id, x.day, count(*) AS txn_count, round(sum(x.amount), 2) AS amount_sum,',
  `  max(x.amount) AS amount_max, count_if(x.amount < ${SMALL_AMOUNT}) AS small_count,`,
  '  count(DISTINCT x.customer_id) AS distinct_customers,',
  '  count(DISTINCT CASE WHEN f.first_day = x.day THEN x.customer_id END) AS new_customers,',
  `  count_if(x.local_hour < ${NIGHT_END}) AS night_count,`,
  '  count_if(c.currency IS NOT NULL AND c.currency <> x.currency) AS cross_border_count,',
  "  count_if(x.channel = 'online') AS online_count",
] as const;

/** The run's merchant-days (the day given by the one parameter, and HISTORY_DAYS before), ordered by day, merchant. */
export const MERCHANT_DAYS_QUERY = [
  'WITH run AS (SELECT CAST(? AS date) AS day),',
  'logged AS (',
  '  SELECT d.transaction AS t, row_number() OVER (PARTITION BY d.transactionid ORDER BY d.dt) AS copy',
  '  FROM decisions d CROSS JOIN run',
  `  WHERE d.dt >= date_format(run.day - interval '${NEW_CUSTOMER_LOOKBACK_DAYS + 1}' day, '%Y-%m-%d')`,
  // A transaction of the day may be logged just after midnight UTC.
  "    AND d.dt <= date_format(run.day + interval '1' day, '%Y-%m-%d')",
  '), txns AS (',
  ...TXN_COLUMNS,
  '  FROM logged WHERE copy = 1',
  '), firsts AS (',
  '  SELECT merchant_id, customer_id, min(day) AS first_day FROM txns GROUP BY merchant_id, customer_id',
  '), active AS (',
  "  SELECT DISTINCT merchant_id FROM txns CROSS JOIN run WHERE txns.day = date_format(run.day, '%Y-%m-%d')",
  `), ${CURRENCIES_CTE}`,
  ...DAY_AGGREGATES,
  'FROM txns x CROSS JOIN run',
  'JOIN active a ON a.merchant_id = x.merchant_id',
  'JOIN firsts f ON f.merchant_id = x.merchant_id AND f.customer_id = x.customer_id',
  'LEFT JOIN currencies c ON c.country = x.country',
  `WHERE x.day >= date_format(run.day - interval '${HISTORY_DAYS}' day, '%Y-%m-%d')`,
  "  AND x.day <= date_format(run.day, '%Y-%m-%d')",
  'GROUP BY x.merchant_id, x.day',
  'ORDER BY x.day, x.merchant_id',
].join('\n');

/** The query's result columns and the MerchantDay field each one fills. */
export const MERCHANT_DAY_COLUMNS = {
  merchant_id: 'merchantId',
  day: 'date',
  txn_count: 'count',
  amount_sum: 'amountSum',
  amount_max: 'amountMax',
  small_count: 'smallCount',
  distinct_customers: 'distinctCustomers',
  new_customers: 'newCustomers',
  night_count: 'nightCount',
  cross_border_count: 'crossBorderCount',
  online_count: 'onlineCount',
} as const satisfies Record<string, keyof MerchantDay>;

/** One result row of MERCHANT_DAYS_QUERY as a MerchantDay (validated: a row the schema refuses fails the run). */
export function merchantDayFromRow(row: Readonly<Record<string, string>>): MerchantDay {
  const day: Record<string, string | number> = {};
  for (const [column, field] of Object.entries(MERCHANT_DAY_COLUMNS)) {
    const text = row[column];
    if (text === undefined) throw new Error(`merchant-day row has no column '${column}'`);
    day[field] = field === 'merchantId' || field === 'date' ? text : Number(text);
  }
  return MerchantDay.parse(day);
}

export const merchantBatch: BatchSource<MerchantDay> = {
  query: MERCHANT_DAYS_QUERY,
  request: merchantDayFromRow,
  date: (day) => day.date,
  id: merchantDayId,
};
