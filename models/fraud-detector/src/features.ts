// The one feature definition: every model input, the bounded per-customer/per-merchant state, and how a
// transaction updates it. Imported by the stream Lambda, the scorer and the offline training-set builder,
// so it is pure (no I/O, no Node-only APIs) and its state is plain JSON.
import type { Transaction } from '../../shared/contracts/transaction.js';
import { countryDistanceKm } from '../../shared/countries.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Amounts below this (major units) count as "small", the signature of card testing. */
export const SMALL_AMOUNT = 5;
/** Cap for "time since last transaction" when there is none in the window (30 days). */
const NO_PREVIOUS_SECONDS = 30 * 24 * 3600;
/** Fewer lifetime transactions than this and the amount z-score is 0 (no history to compare with). */
const MIN_HISTORY_FOR_ZSCORE = 3;
/** Fixed-point scale of the lifetime log-amount moments. */
const MOMENT_SCALE = 1e6;

// Bounds that keep one DynamoDB item well under its 400 KB limit, whatever the traffic. A customer with more
// than 256 transactions in 7 days keeps only the latest 256 (the 7 d aggregates saturate); a record replayed
// after more than 256 (customer) / 512 (merchant) newer records is no longer recognised as a duplicate.
const CUSTOMER_MAX_EVENTS = 256;
const CUSTOMER_MAX_IDS = 256;
const CUSTOMER_MAX_COUNTRIES = 12;
const CUSTOMER_MAX_DEVICES = 8;
const MERCHANT_MAX_IDS = 512;
/** Merchant windows use buckets: fine ones for 1 h / 24 h, hourly ones for 7 d. */
const MERCHANT_FINE_BUCKET = 5 * MINUTE;
const MERCHANT_COARSE_BUCKET = HOUR;

/** Fraud risk prior per merchant category (hand-set, from public card-fraud reports' relative rankings). */
export const CATEGORY_RISK: Readonly<Record<Transaction['merchantCategory'], number>> = {
  grocery: 0.1,
  restaurant: 0.15,
  fuel: 0.2,
  retail: 0.25,
  entertainment: 0.3,
  travel: 0.5,
  electronics: 0.6,
  digital_goods: 0.7,
  gambling: 0.8,
  money_transfer: 0.9,
};

/** Every feature, in model-input order, with what it means. */
export const FEATURE_DEFINITIONS = [
  { name: 'log_amount', source: 'transaction', description: 'ln(1 + amount)' },
  { name: 'hour_sin', source: 'transaction', description: 'sin(2π · local hour / 24), local to the timestamp offset' },
  { name: 'hour_cos', source: 'transaction', description: 'cos(2π · local hour / 24)' },
  { name: 'channel_online', source: 'transaction', description: '1 if channel is online' },
  { name: 'channel_contactless', source: 'transaction', description: '1 if channel is contactless' },
  { name: 'category_risk', source: 'transaction', description: 'risk prior of the merchant category (0..1)' },
  { name: 'has_device', source: 'transaction', description: '1 if a device id came with the transaction' },
  { name: 'is_new_device', source: 'customer', description: '1 if the device is not among the known devices' },
  { name: 'is_new_country', source: 'customer', description: '1 if the country was never seen for a known customer' },
  { name: 'country_share', source: 'customer', description: "share of the customer's history in this country" },
  { name: 'amount_zscore', source: 'customer', description: "z-score of ln(amount) vs the customer's history" },
  { name: 'cust_history_log', source: 'customer', description: 'ln(1 + lifetime transaction count)' },
  { name: 'cust_count_1h', source: 'customer', description: 'transactions in the previous hour' },
  { name: 'cust_amount_1h', source: 'customer', description: 'ln(1 + amount sum) over the previous hour' },
  { name: 'cust_count_24h', source: 'customer', description: 'transactions in the previous 24 hours' },
  { name: 'cust_amount_24h', source: 'customer', description: 'ln(1 + amount sum) over the previous 24 hours' },
  { name: 'cust_count_7d', source: 'customer', description: 'transactions in the previous 7 days' },
  { name: 'cust_amount_7d', source: 'customer', description: 'ln(1 + amount sum) over the previous 7 days' },
  { name: 'cust_distinct_merchants_24h', source: 'customer', description: 'distinct merchants in the previous 24 h' },
  { name: 'cust_small_count_1h', source: 'customer', description: 'small-amount transactions in the previous hour' },
  { name: 'cust_merchant_seen_7d', source: 'customer', description: '1 if the customer used this merchant in 7 d' },
  { name: 'cust_velocity_ratio', source: 'customer', description: '24 h count / (7 d daily average + 1)' },
  { name: 'log_seconds_since_last', source: 'customer', description: 'ln(1 + seconds since the previous txn)' },
  { name: 'country_changed', source: 'customer', description: '1 if the country differs from the previous txn' },
  { name: 'log_implied_speed_kmh', source: 'customer', description: 'ln(1 + km/h needed to travel from last txn)' },
  { name: 'merch_log_count_1h', source: 'merchant', description: 'ln(1 + merchant transactions in ~1 h)' },
  { name: 'merch_log_count_24h', source: 'merchant', description: 'ln(1 + merchant transactions in ~24 h)' },
  { name: 'merch_log_count_7d', source: 'merchant', description: 'ln(1 + merchant transactions in ~7 d)' },
  { name: 'merch_small_rate_24h', source: 'merchant', description: 'share of small amounts at the merchant in 24 h' },
  { name: 'merch_velocity_ratio', source: 'merchant', description: '1 h count / (7 d hourly average + 1)' },
] as const;

export type FeatureName = (typeof FEATURE_DEFINITIONS)[number]['name'];
export const FEATURE_NAMES: readonly FeatureName[] = FEATURE_DEFINITIONS.map((d) => d.name);
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** One remembered customer transaction (only what the windows need). */
export interface CustomerEvent {
  readonly id: string;
  /** Event time, epoch ms. */
  readonly t: number;
  readonly amount: number;
  readonly merchantId: string;
  readonly country: string;
}

export interface CustomerState {
  readonly version: 1;
  /** Events of the last 7 days before the watermark, ordered by (t, id), at most CUSTOMER_MAX_EVENTS. */
  readonly events: readonly CustomerEvent[];
  /** Latest event time applied (epoch ms); windows are pruned relative to it, never to the wall clock. */
  readonly watermark: number;
  /** 53-bit hashes of recently applied transaction ids (oldest first) so a replayed record is a no-op. */
  readonly seen: readonly number[];
  /**
   * Lifetime moments of ln(1 + amount) as integers in millionths: integer sums are exact, so they are identical
   * whatever the arrival order (float sums differ in the last bit).
   */
  readonly count: number;
  readonly sumLog: number;
  readonly sumLogSq: number;
  /** Lifetime transaction count per country (the most used few). */
  readonly countries: Readonly<Record<string, number>>;
  /** Known devices as [id, first seen, last seen] (epoch ms): first-seen times keep "new device" order-tolerant. */
  readonly devices: readonly (readonly [string, number, number])[];
}

/** [bucket start (epoch ms), count, amount sum, small-amount count] */
export type Bucket = readonly [number, number, number, number];

export interface MerchantState {
  readonly version: 1;
  readonly watermark: number;
  /** 53-bit hashes of recently applied transaction ids (oldest first). */
  readonly seen: readonly number[];
  /** 5-minute buckets covering 24 h, ordered by start. */
  readonly fine: readonly Bucket[];
  /** Hourly buckets covering 7 d, ordered by start. */
  readonly coarse: readonly Bucket[];
}

export const emptyCustomerState = (): CustomerState => ({
  version: 1,
  events: [],
  watermark: 0,
  seen: [],
  count: 0,
  sumLog: 0,
  sumLogSq: 0,
  countries: {},
  devices: [],
});

export const emptyMerchantState = (): MerchantState => ({
  version: 1,
  watermark: 0,
  seen: [],
  fine: [],
  coarse: [],
});

/** Epoch milliseconds of an ISO-8601 timestamp; throws on an unparseable one rather than computing NaN features. */
export function eventTime(timestamp: string): number {
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) throw new Error(`invalid transaction timestamp '${timestamp}'`);
  return t;
}

/** Hour of day (fractional, 0..24) in the timestamp's own offset — the local time where the card was used. */
export function localHour(timestamp: string): number {
  const t = eventTime(timestamp);
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(timestamp);
  const offsetMinutes = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const local = t + offsetMinutes * MINUTE;
  return (((local % DAY) + DAY) % DAY) / HOUR;
}

const before = (a: { t: number; id: string }, b: { t: number; id: string }): boolean =>
  a.t < b.t || (a.t === b.t && a.id < b.id);

/**
 * cyrb53: a fast 53-bit string hash. Numbers make the idempotency ring cheap to scan, copy and store; with at
 * most 512 ids per ring a false "already seen" has odds of about 1 in 10^13 per transaction.
 */
export function idHash(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

const pushCapped = (ids: readonly number[], id: number, cap: number): number[] => {
  const next = ids.length >= cap ? ids.slice(ids.length - cap + 1) : ids.slice();
  next.push(id);
  return next;
};

/** Returns the customer state after `txn`. Pure, idempotent on transactionId, tolerant to arrival order. */
export function applyToCustomer(state: CustomerState, txn: Transaction): CustomerState {
  const hash = idHash(txn.transactionId);
  if (state.seen.includes(hash)) return state;
  const t = eventTime(txn.timestamp);
  const watermark = Math.max(state.watermark, t);
  const horizon = watermark - WEEK;

  let events = state.events.filter((e) => e.t > horizon);
  if (t > horizon) {
    const event: CustomerEvent = {
      id: txn.transactionId,
      t,
      amount: txn.amount,
      merchantId: txn.merchantId,
      country: txn.country,
    };
    let at = events.length;
    while (at > 0 && before(event, events[at - 1] as CustomerEvent)) at--;
    events = [...events.slice(0, at), event, ...events.slice(at)];
    if (events.length > CUSTOMER_MAX_EVENTS) events = events.slice(events.length - CUSTOMER_MAX_EVENTS);
  }

  const countries: Record<string, number> = { ...state.countries };
  countries[txn.country] = (countries[txn.country] ?? 0) + 1;
  const codes = Object.keys(countries);
  if (codes.length > CUSTOMER_MAX_COUNTRIES) {
    // Evict the least used country (ties by code) so the map stays bounded and deterministic.
    const evict = codes
      .filter((c) => c !== txn.country)
      .sort((a, b) => (countries[a] ?? 0) - (countries[b] ?? 0) || (a < b ? -1 : 1))[0];
    if (evict) delete countries[evict];
  }

  let devices = state.devices;
  if (txn.deviceId !== undefined) {
    const known = state.devices.find((d) => d[0] === txn.deviceId);
    const entry = [txn.deviceId, Math.min(known?.[1] ?? t, t), Math.max(known?.[2] ?? t, t)] as const;
    const next = [...state.devices.filter((d) => d[0] !== txn.deviceId), entry];
    // Over the cap, forget the device unused for longest (ties by id, for determinism).
    next.sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    devices = next.slice(0, CUSTOMER_MAX_DEVICES);
  }

  const la = Math.log1p(txn.amount);
  return {
    version: 1,
    events,
    watermark,
    seen: pushCapped(state.seen, hash, CUSTOMER_MAX_IDS),
    count: state.count + 1,
    sumLog: state.sumLog + Math.round(la * MOMENT_SCALE),
    sumLogSq: state.sumLogSq + Math.round(la * la * MOMENT_SCALE),
    countries,
    devices,
  };
}

const addToBuckets = (
  buckets: readonly Bucket[],
  width: number,
  t: number,
  amount: number,
  horizon: number,
): Bucket[] => {
  // Buckets are ordered by start and events mostly arrive in order, so pruning and insertion touch the ends only.
  let from = 0;
  while (from < buckets.length && (buckets[from] as Bucket)[0] + width <= horizon) from++;
  const kept = buckets.slice(from);
  const start = Math.floor(t / width) * width;
  if (start + width <= horizon) return kept;
  const small = amount < SMALL_AMOUNT ? 1 : 0;
  let at = kept.length;
  while (at > 0 && (kept[at - 1] as Bucket)[0] > start) at--;
  const previous = kept[at - 1];
  if (previous && previous[0] === start) {
    kept[at - 1] = [start, previous[1] + 1, previous[2] + amount, previous[3] + small];
  } else {
    kept.splice(at, 0, [start, 1, amount, small]);
  }
  return kept;
};

/** Returns the merchant state after `txn`. Pure, idempotent on transactionId, tolerant to arrival order. */
export function applyToMerchant(state: MerchantState, txn: Transaction): MerchantState {
  const hash = idHash(txn.transactionId);
  if (state.seen.includes(hash)) return state;
  const t = eventTime(txn.timestamp);
  const watermark = Math.max(state.watermark, t);
  return {
    version: 1,
    watermark,
    seen: pushCapped(state.seen, hash, MERCHANT_MAX_IDS),
    fine: addToBuckets(state.fine, MERCHANT_FINE_BUCKET, t, txn.amount, watermark - DAY),
    coarse: addToBuckets(state.coarse, MERCHANT_COARSE_BUCKET, t, txn.amount, watermark - WEEK),
  };
}

/**
 * Sums buckets that start inside [t - window, t]: a bucket window is exact to within one bucket width.
 * `excludeSmall` >= 0 takes one event at `t` (counting that many as small) back out of the bucket holding `t`.
 */
const sumBuckets = (
  buckets: readonly Bucket[],
  width: number,
  t: number,
  window: number,
  excludeSmall: number,
): { count: number; small: number } => {
  let count = 0;
  let small = 0;
  for (let i = buckets.length - 1; i >= 0; i--) {
    const b = buckets[i] as Bucket;
    if (b[0] < t - window) break;
    if (b[0] <= t) {
      count += b[1];
      small += b[3];
    }
  }
  const holderStart = Math.floor(t / width) * width;
  if (excludeSmall >= 0 && holderStart >= t - window && buckets.some((b) => b[0] === holderStart && b[1] > 0)) {
    count -= 1;
    small -= excludeSmall;
  }
  return { count: Math.max(0, count), small: Math.max(0, small) };
};

/**
 * The model input for `txn`, from the state as it was BEFORE `txn`: the transaction itself (if already applied,
 * e.g. a replayed record) and any later event are left out of every window. In a time-ordered replay (the
 * training-set builder) this is exactly what was known at decision time. For a record arriving late online,
 * the lifetime aggregates (history count, z-score, country share) also include the events that arrived before
 * it — the price of bounded state — while the 1 h / 24 h windows stay exact.
 */
export function computeFeatures(txn: Transaction, customer: CustomerState, merchant: MerchantState): number[] {
  const t = eventTime(txn.timestamp);
  const self = { t, id: txn.transactionId };
  const hour = localHour(txn.timestamp);
  const logAmount = Math.log1p(txn.amount);

  let count1h = 0;
  let amount1h = 0;
  let count24h = 0;
  let amount24h = 0;
  let count7d = 0;
  let amount7d = 0;
  let small1h = 0;
  let merchantSeen = 0;
  let last: CustomerEvent | undefined;
  const merchants24h = new Set<string>();
  for (const e of customer.events) {
    if (!before(e, self)) continue;
    const age = t - e.t;
    if (age >= WEEK) continue;
    count7d++;
    amount7d += e.amount;
    if (e.merchantId === txn.merchantId) merchantSeen = 1;
    if (age < DAY) {
      count24h++;
      amount24h += e.amount;
      merchants24h.add(e.merchantId);
    }
    if (age < HOUR) {
      count1h++;
      amount1h += e.amount;
      if (e.amount < SMALL_AMOUNT) small1h++;
    }
    last = e;
  }

  // Lifetime moments cannot be split by time, so a replayed-late txn would see itself: subtract it if present.
  const selfKnown = customer.seen.includes(idHash(txn.transactionId));
  const n = customer.count - (selfKnown ? 1 : 0);
  const sumLog = (customer.sumLog - (selfKnown ? Math.round(logAmount * MOMENT_SCALE) : 0)) / MOMENT_SCALE;
  const sumLogSq =
    (customer.sumLogSq - (selfKnown ? Math.round(logAmount * logAmount * MOMENT_SCALE) : 0)) / MOMENT_SCALE;
  let zscore = 0;
  if (n >= MIN_HISTORY_FOR_ZSCORE) {
    const mean = sumLog / n;
    const variance = Math.max(sumLogSq / n - mean * mean, 0.05);
    zscore = Math.min(10, Math.max(-5, (logAmount - mean) / Math.sqrt(variance)));
  }
  const countryCount = (customer.countries[txn.country] ?? 0) - (selfKnown ? 1 : 0);
  const countryShare = n > 0 ? Math.max(0, countryCount) / n : 0;
  const isNewCountry = n > 0 && countryCount <= 0 ? 1 : 0;
  const device = txn.deviceId === undefined ? undefined : customer.devices.find((d) => d[0] === txn.deviceId);
  const deviceKnownBefore = device !== undefined && (device[1] < t || (device[1] === t && !selfKnown));
  const isNewDevice = txn.deviceId !== undefined && n > 0 && !deviceKnownBefore ? 1 : 0;

  const secondsSinceLast = last ? (t - last.t) / 1000 : NO_PREVIOUS_SECONDS;
  const countryChanged = last && last.country !== txn.country ? 1 : 0;
  let speed = 0;
  if (last && countryChanged) {
    const hours = Math.max((t - last.t) / HOUR, 1 / 60);
    speed = countryDistanceKm(last.country, txn.country) / hours;
  }

  // Merchant buckets cover only strictly earlier buckets plus the current one; in time-ordered replay the
  // current bucket holds only earlier events.
  // A late or replayed record may already be in the merchant's buckets: take it out again.
  const selfInMerchant = merchant.seen.includes(idHash(txn.transactionId));
  const small = txn.amount < SMALL_AMOUNT ? 1 : 0;
  const m1h = sumBuckets(merchant.fine, MERCHANT_FINE_BUCKET, t, HOUR, selfInMerchant ? small : -1);
  const m24h = sumBuckets(merchant.fine, MERCHANT_FINE_BUCKET, t, DAY, selfInMerchant ? small : -1);
  const m7d = sumBuckets(merchant.coarse, MERCHANT_COARSE_BUCKET, t, WEEK, selfInMerchant ? small : -1);

  const values: Record<FeatureName, number> = {
    log_amount: logAmount,
    hour_sin: Math.sin((2 * Math.PI * hour) / 24),
    hour_cos: Math.cos((2 * Math.PI * hour) / 24),
    channel_online: txn.channel === 'online' ? 1 : 0,
    channel_contactless: txn.channel === 'contactless' ? 1 : 0,
    category_risk: CATEGORY_RISK[txn.merchantCategory],
    has_device: txn.deviceId !== undefined ? 1 : 0,
    is_new_device: isNewDevice,
    is_new_country: isNewCountry,
    country_share: countryShare,
    amount_zscore: zscore,
    cust_history_log: Math.log1p(n),
    cust_count_1h: count1h,
    cust_amount_1h: Math.log1p(amount1h),
    cust_count_24h: count24h,
    cust_amount_24h: Math.log1p(amount24h),
    cust_count_7d: count7d,
    cust_amount_7d: Math.log1p(amount7d),
    cust_distinct_merchants_24h: merchants24h.size,
    cust_small_count_1h: small1h,
    cust_merchant_seen_7d: merchantSeen,
    cust_velocity_ratio: count24h / (count7d / 7 + 1),
    log_seconds_since_last: Math.log1p(secondsSinceLast),
    country_changed: countryChanged,
    log_implied_speed_kmh: Math.log1p(speed),
    merch_log_count_1h: Math.log1p(m1h.count),
    merch_log_count_24h: Math.log1p(m24h.count),
    merch_log_count_7d: Math.log1p(m7d.count),
    merch_small_rate_24h: m24h.count > 0 ? m24h.small / m24h.count : 0,
    merch_velocity_ratio: m1h.count / (m7d.count / 168 + 1),
  };
  return FEATURE_NAMES.map((name) => values[name]);
}

/** Names a feature vector (in FEATURE_NAMES order). */
export function featureRecord(vector: readonly number[]): Record<FeatureName, number> {
  if (vector.length !== FEATURE_COUNT) {
    throw new Error(`expected a feature vector of length ${FEATURE_COUNT}, got ${vector.length}`);
  }
  const record = {} as Record<FeatureName, number>;
  FEATURE_NAMES.forEach((name, i) => {
    record[name] = vector[i] as number;
  });
  return record;
}
