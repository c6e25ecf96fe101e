// The transaction simulator: a seeded, deterministic world of customers and merchants, legitimate spending,
// labelled fraud scenarios, delayed chargeback labels and drift knobs.
import type { Label, MERCHANT_CATEGORIES, Transaction } from '../contracts/transaction.js';
import { COUNTRIES } from '../countries.js';
import { Random, WeightedTable } from './random.js';

type Category = (typeof MERCHANT_CATEGORIES)[number];

export const FRAUD_SCENARIOS = [
  'card_testing',
  'account_takeover',
  'compromised_merchant',
  'impossible_travel',
  /** Only with the `newPatternShare` drift knob: takeover through the customer's own device at home. */
  'remote_access_takeover',
] as const;
export type FraudScenario = (typeof FRAUD_SCENARIOS)[number];

/** Ground truth for one transaction; kept apart from the stream so replays cannot leak it. */
export interface TruthRecord {
  readonly transactionId: string;
  readonly isFraud: boolean;
  readonly scenario: FraudScenario | null;
  readonly incidentId: string | null;
  /** Set only on the probing transactions that precede a merchant compromise (see `MerchantCompromiseOptions`). */
  readonly phase?: 'probe';
}

/**
 * Merchant compromises (off by default): a physical merchant's terminal is compromised and, on one day, runs a burst
 * of stolen cards; on the day before, fraudsters usually probe it with a few small purchases, mostly at night, from
 * cards that never shopped there. The probes are the warning a merchant-risk model can learn from.
 */
export interface MerchantCompromiseOptions {
  /** Expected compromises per physical merchant per day. @default 0 */
  readonly rate?: number;
  /** Share of compromises preceded by a probing day (the rest come without warning). @default 0.8 */
  readonly probeShare?: number;
}

export interface DriftOptions {
  /** Day (from the start) when the drift begins. @default 0 */
  readonly fromDay?: number;
  /** Multiplier on legitimate amounts after `fromDay`. @default 1 */
  readonly amountShift?: number;
  /** Share of legitimate transactions that go to newly opened merchants with a riskier category mix. @default 0 */
  readonly newMerchantShare?: number;
  /** Share of fraud incidents that use the new `remote_access_takeover` pattern. @default 0 */
  readonly newPatternShare?: number;
}

export interface SimulationOptions {
  readonly seed: number;
  readonly days: number;
  readonly customers: number;
  /** ISO date of the first simulated day (UTC midnight). @default '2026-01-05' */
  readonly start?: string;
  /** Target share of transactions that are fraud. @default 0.005 */
  readonly fraudRate?: number;
  /** Mean legitimate transactions per customer per day. @default 2.2 */
  readonly meanDailyTransactions?: number;
  readonly drift?: DriftOptions;
  /** Compromised merchants with a probing day before the cash-out; none by default. */
  readonly merchantCompromise?: MerchantCompromiseOptions;
}

export interface SimulationSummary {
  readonly seed: number;
  readonly start: string;
  readonly end: string;
  readonly days: number;
  readonly customers: number;
  readonly merchants: number;
  readonly transactions: number;
  readonly frauds: number;
  readonly fraudRate: number;
  readonly byScenario: Readonly<Record<FraudScenario, number>>;
  readonly labels: number;
  readonly fraudLabelled: number;
  readonly falseClaims: number;
}

export interface SimulationResult {
  /** Ordered by event time (ties by id). */
  readonly transactions: Transaction[];
  /** Ordered by reportedAt; some land after the simulated period, as chargebacks do. */
  readonly labels: Label[];
  /** Same order as `transactions`. */
  readonly truth: TruthRecord[];
  readonly summary: SimulationSummary;
}

export type ProgressListener = (done: number, total: number) => void;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;

/** Median amount (EUR-like major units) and log-space sigma per category. */
const AMOUNT_PROFILE: Readonly<Record<Category, readonly [number, number]>> = {
  grocery: [38, 0.6],
  restaurant: [28, 0.6],
  fuel: [55, 0.35],
  retail: [55, 0.8],
  electronics: [180, 0.9],
  travel: [320, 0.8],
  entertainment: [30, 0.7],
  digital_goods: [11, 0.9],
  gambling: [40, 1.0],
  money_transfer: [150, 1.0],
};

/** How common each category is among merchants (and so among legitimate transactions). */
const CATEGORY_MIX: readonly (readonly [Category, number])[] = [
  ['grocery', 22],
  ['restaurant', 20],
  ['fuel', 9],
  ['retail', 18],
  ['electronics', 5],
  ['travel', 4],
  ['entertainment', 8],
  ['digital_goods', 9],
  ['gambling', 2],
  ['money_transfer', 3],
];
/** The mix of merchants that open during drift: riskier categories. */
const DRIFT_CATEGORY_MIX: readonly (readonly [Category, number])[] = [
  ['digital_goods', 30],
  ['gambling', 20],
  ['electronics', 20],
  ['money_transfer', 15],
  ['retail', 15],
];
const ONLINE_CATEGORIES: ReadonlySet<Category> = new Set([
  'digital_goods',
  'gambling',
  'money_transfer',
  'electronics',
  'travel',
  'retail',
]);

const HOME_COUNTRIES: readonly (readonly [string, number])[] = [
  ['GB', 20],
  ['DE', 18],
  ['FR', 14],
  ['ES', 10],
  ['IT', 10],
  ['NL', 8],
  ['PL', 6],
  ['SE', 4],
  ['IE', 4],
  ['PT', 3],
  ['US', 3],
];
const TRAVEL_DESTINATIONS: readonly (readonly [string, number])[] = [
  ['ES', 14],
  ['FR', 12],
  ['IT', 12],
  ['PT', 8],
  ['GB', 8],
  ['DE', 6],
  ['NL', 5],
  ['US', 8],
  ['TR', 6],
  ['TH', 5],
  ['AE', 4],
  ['JP', 3],
  ['MX', 3],
  ['AU', 2],
  ['SG', 2],
  ['ZA', 2],
];
/** Countries fraudsters operate from in the simulation. */
const FRAUD_COUNTRIES: readonly (readonly [string, number])[] = [
  ['NG', 10],
  ['BR', 8],
  ['US', 8],
  ['CN', 6],
  ['TR', 6],
  ['IN', 6],
  ['MX', 4],
  ['TH', 3],
  ['ZA', 3],
  ['GB', 4],
  ['DE', 3],
  ['FR', 3],
];

interface Merchant {
  readonly id: string;
  readonly category: Category;
  readonly country: string;
  readonly popularity: number;
  readonly online: boolean;
  readonly openedAt: number;
}

interface Customer {
  readonly id: string;
  readonly home: string;
  readonly currency: string;
  readonly spend: number;
  readonly dailyRate: number;
  /** Peak local hour and spread of the daily rhythm. */
  readonly peakHour: number;
  readonly hourSpread: number;
  readonly onlineShare: number;
  /** The one digital merchant a micro-spender's in-app purchases go to; undefined for everyone else. */
  readonly appStore: Merchant | undefined;
  readonly devices: string[];
  readonly favourites: readonly Merchant[];
}

interface DraftTxn {
  t: number;
  customer: Customer;
  merchant: Merchant;
  amount: number;
  /** Where the card is used: for online purchases the buyer's location (IP geolocation), not the merchant's. */
  country: string;
  channel: Transaction['channel'];
  deviceId: string | undefined;
  scenario: FraudScenario | null;
  incidentId: string | null;
  phase?: 'probe';
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const clampAmount = (x: number): number => Math.min(50_000, Math.max(0.5, round2(x)));

/** ISO 8601 in the given offset, e.g. 2026-01-05T14:03:07.120+01:00. */
export function formatTimestamp(epochMs: number, offsetMinutes: number): string {
  const local = new Date(epochMs + offsetMinutes * MINUTE).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

const offsetOf = (country: string): number => COUNTRIES[country]?.utcOffsetMinutes ?? 0;

/** Runs the whole simulation in memory (≈ 1 s per 100k transactions). */
export function simulate(options: SimulationOptions, onProgress?: ProgressListener): SimulationResult {
  const { seed, days, customers: customerCount } = options;
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive integer, got ${days}`);
  if (!Number.isInteger(customerCount) || customerCount < 1) {
    throw new Error(`customers must be a positive integer, got ${customerCount}`);
  }
  const fraudRate = options.fraudRate ?? 0.005;
  if (!(fraudRate >= 0 && fraudRate < 0.5)) throw new Error(`fraudRate must be in [0, 0.5), got ${fraudRate}`);
  const startIso = options.start ?? '2026-01-05';
  const start = Date.parse(`${startIso}T00:00:00Z`);
  if (Number.isNaN(start)) throw new Error(`start must be an ISO date like 2026-01-05, got '${startIso}'`);
  const end = start + days * DAY;
  const drift = {
    fromDay: options.drift?.fromDay ?? 0,
    amountShift: options.drift?.amountShift ?? 1,
    newMerchantShare: options.drift?.newMerchantShare ?? 0,
    newPatternShare: options.drift?.newPatternShare ?? 0,
  };
  const driftStart = start + drift.fromDay * DAY;
  const meanDaily = options.meanDailyTransactions ?? 2.2;

  // Independent sub-streams: changing how fraud is drawn does not reshuffle the legitimate world.
  const root = new Random(seed);
  const worldRng = root.fork();
  const legitRng = root.fork();
  const fraudRng = root.fork();
  const labelRng = root.fork();
  // Forked last, so a world without merchant compromises draws exactly what it drew before they existed.
  const compromiseRng = root.fork();

  // ---- the world -------------------------------------------------------------------------------------
  const merchants: Merchant[] = [];
  const merchantCount = Math.max(120, Math.round(customerCount / 4));
  const newMerchant = (
    category: Category,
    country: string,
    openedAt: number,
    rng: Random,
    online?: boolean,
  ): Merchant => {
    const m: Merchant = {
      id: `m_${String(merchants.length + 1).padStart(6, '0')}`,
      category,
      country,
      popularity: rng.logNormal(1, 1.0),
      online: online ?? (ONLINE_CATEGORIES.has(category) && rng.chance(category === 'retail' ? 0.3 : 0.7)),
      openedAt,
    };
    merchants.push(m);
    return m;
  };
  const allCountries = Object.keys(COUNTRIES);
  for (const country of allCountries) {
    // Every country has a few merchants so travellers and fraudsters can always shop there.
    for (const category of ['grocery', 'restaurant', 'retail', 'fuel', 'electronics'] as const) {
      newMerchant(category, country, start - 365 * DAY, worldRng);
    }
  }
  // Every world, however small, has a few web shops of each online category for shoppers and fraudsters alike.
  for (const category of ONLINE_CATEGORIES) {
    for (let k = 0; k < 3; k++)
      newMerchant(category, worldRng.weighted(HOME_COUNTRIES), start - 365 * DAY, worldRng, true);
  }
  while (merchants.length < merchantCount) {
    const country = worldRng.chance(0.85) ? worldRng.weighted(HOME_COUNTRIES) : worldRng.pick(allCountries);
    newMerchant(worldRng.weighted(CATEGORY_MIX), country, start - 365 * DAY, worldRng);
  }
  const driftMerchants: Merchant[] = [];
  if (drift.newMerchantShare > 0) {
    const n = Math.max(20, Math.round(merchantCount * 0.1));
    for (let i = 0; i < n; i++) {
      const country = worldRng.chance(0.6) ? worldRng.weighted(HOME_COUNTRIES) : worldRng.pick(allCountries);
      driftMerchants.push(newMerchant(worldRng.weighted(DRIFT_CATEGORY_MIX), country, driftStart, worldRng));
    }
  }
  const baseMerchants = merchants.filter((m) => !driftMerchants.includes(m));
  const table = (list: readonly Merchant[]) =>
    new WeightedTable(
      list,
      list.map((m) => m.popularity),
    );
  const localByCountry = new Map<string, WeightedTable<Merchant>>();
  for (const country of allCountries) {
    localByCountry.set(country, table(baseMerchants.filter((m) => m.country === country && !m.online)));
  }
  const onlineTable = table(baseMerchants.filter((m) => m.online));
  const driftTable = driftMerchants.length > 0 ? table(driftMerchants) : undefined;
  const localTable = (country: string): WeightedTable<Merchant> => {
    const t = localByCountry.get(country);
    if (!t) throw new Error(`no merchants for country ${country}`);
    return t;
  };

  const appStores = baseMerchants.filter((m) => m.online && m.category === 'digital_goods');
  if (appStores.length === 0) throw new Error('the simulated world has no online digital merchant; raise customers');
  const customers: Customer[] = [];
  for (let i = 0; i < customerCount; i++) {
    const home = worldRng.weighted(HOME_COUNTRIES);
    const local = localTable(home);
    const favourites: Merchant[] = [];
    const nFav = worldRng.int(6, 18);
    for (let k = 0; k < nFav; k++) favourites.push(local.draw(worldRng));
    const nightOwl = worldRng.chance(0.12);
    customers.push({
      id: `c_${String(i + 1).padStart(6, '0')}`,
      home,
      currency: COUNTRIES[home]?.currency ?? 'EUR',
      spend: worldRng.logNormal(1, 0.35),
      dailyRate: Math.min(12, worldRng.logNormal(meanDaily * 0.85, 0.55)),
      peakHour: nightOwl ? worldRng.uniform(20, 25) % 24 : worldRng.uniform(10, 18),
      hourSpread: worldRng.uniform(2, 4),
      onlineShare: worldRng.uniform(0.08, 0.45),
      appStore: worldRng.chance(0.05) ? worldRng.pick(appStores) : undefined,
      devices: [`d_${worldRng.token(10)}`, ...(worldRng.chance(0.4) ? [`d_${worldRng.token(10)}`] : [])],
      favourites,
    });
  }

  const amountFor = (category: Category, c: Customer, t: number, rng: Random): number => {
    const [median, sigma] = AMOUNT_PROFILE[category];
    const shift = t >= driftStart ? drift.amountShift : 1;
    return clampAmount(rng.logNormal(median * c.spend * shift, sigma));
  };
  const presentChannel = (amount: number, rng: Random): Transaction['channel'] =>
    amount < 60 && rng.chance(0.65) ? 'contactless' : 'card_present';

  // ---- legitimate spending ---------------------------------------------------------------------------
  const drafts: DraftTxn[] = [];
  const legitByCustomer = new Map<Customer, DraftTxn[]>();
  for (let ci = 0; ci < customers.length; ci++) {
    const c = customers[ci] as Customer;
    const rng = legitRng.fork();
    const own: DraftTxn[] = [];
    let tripUntil = -1;
    let tripCountry = c.home;
    for (let day = 0; day < days; day++) {
      const dayStart = start + day * DAY;
      if (dayStart >= tripUntil && rng.chance(0.012)) {
        // A trip: the first purchase abroad comes after a realistic flight gap (the day boundary).
        tripCountry = rng.weighted(TRAVEL_DESTINATIONS);
        if (tripCountry === c.home) tripCountry = 'ES' === c.home ? 'PT' : 'ES';
        tripUntil = dayStart + rng.int(2, 7) * DAY;
      }
      const travelling = dayStart < tripUntil;
      const where = travelling ? tripCountry : c.home;
      if (rng.chance(0.004)) c.devices.push(`d_${rng.token(10)}`); // a new phone
      const weekend = new Date(dayStart).getUTCDay() % 6 === 0;
      const n = rng.poisson(c.dailyRate * (weekend ? 1.2 : 1) * (travelling ? 1.4 : 1));
      for (let k = 0; k < n; k++) {
        let hour = c.peakHour + c.hourSpread * rng.normal();
        if (rng.chance(0.1)) hour = rng.uniform(0, 24);
        hour = ((hour % 24) + 24) % 24;
        const t = Math.floor(dayStart + hour * HOUR - offsetOf(where) * MINUTE + rng.uniform(0, 59_000));
        own.push(legitTxn(c, t, where, travelling, rng));
      }
      if (c.appStore && rng.chance(0.35)) {
        // In-app purchases: bursts of small digital charges, the legitimate look-alike of card testing.
        const merchant = c.appStore ?? onlineTable.draw(rng);
        let t = Math.floor(dayStart + rng.uniform(8, 23) * HOUR - offsetOf(where) * MINUTE);
        const burst = rng.int(2, 6);
        for (let b = 0; b < burst; b++) {
          own.push({
            t,
            customer: c,
            merchant,
            amount: clampAmount(rng.pick([0.99, 1.99, 2.99, 4.99, 0.79, 9.99])),
            country: where,
            channel: merchant.online ? 'online' : 'contactless',
            deviceId: c.devices[c.devices.length - 1],
            scenario: null,
            incidentId: null,
          });
          t += Math.floor(rng.uniform(1, 25) * MINUTE);
        }
      }
    }
    const inRange = own.filter((d) => d.t >= start && d.t < end);
    legitByCustomer.set(c, inRange);
    for (const d of inRange) drafts.push(d);
    if (onProgress && (ci % 200 === 0 || ci === customers.length - 1)) onProgress(ci + 1, customers.length);
  }

  function legitTxn(c: Customer, t: number, where: string, travelling: boolean, rng: Random): DraftTxn {
    let merchant: Merchant;
    if (driftTable && t >= driftStart && rng.chance(drift.newMerchantShare)) merchant = driftTable.draw(rng);
    else if (rng.chance(c.onlineShare)) merchant = onlineTable.draw(rng);
    else if (!travelling && rng.chance(0.7)) merchant = rng.pick(c.favourites);
    else merchant = localTable(where).draw(rng);
    let amount = amountFor(merchant.category, c, t, rng);
    if (rng.chance(0.01)) amount = clampAmount(amount * rng.uniform(3, 8)); // the occasional big purchase
    const online = merchant.online;
    return {
      t,
      customer: c,
      merchant,
      amount,
      country: where,
      channel: online ? 'online' : presentChannel(amount, rng),
      deviceId: online ? rng.pick(c.devices) : undefined,
      scenario: null,
      incidentId: null,
    };
  }

  // ---- fraud -----------------------------------------------------------------------------------------
  const legitCount = drafts.length;
  const targetFraud = Math.round((legitCount * fraudRate) / (1 - fraudRate));
  const fraudDrafts: DraftTxn[] = [];
  const scenarioMix: (readonly [FraudScenario, number])[] = [
    ['card_testing', 0.22],
    ['account_takeover', 0.36],
    ['compromised_merchant', 0.12],
    ['impossible_travel', 0.3],
  ];
  const smallOnline = baseMerchants.filter(
    (m) => m.online && (m.category === 'digital_goods' || m.category === 'retail'),
  );
  const cashOut = baseMerchants.filter(
    (m) => m.online && (m.category === 'electronics' || m.category === 'money_transfer' || m.category === 'gambling'),
  );
  const quietPresent = baseMerchants.filter((m) => !m.online && m.popularity < 1);
  const transfers = cashOut.filter((m) => m.category === 'money_transfer');
  if (smallOnline.length === 0 || cashOut.length === 0 || quietPresent.length === 0) {
    throw new Error('the simulated world has too few merchants for the fraud scenarios; raise customers');
  }
  let incident = 0;
  while (fraudDrafts.length < targetFraud) {
    incident++;
    const incidentId = `inc_${incident}`;
    const lateStart = driftStart > start ? Math.max(start, driftStart) : start;
    const newPattern = drift.newPatternShare > 0 && fraudRng.chance(drift.newPatternShare);
    const scenario: FraudScenario = newPattern ? 'remote_access_takeover' : fraudRng.weighted(scenarioMix);
    const t0 = Math.floor(fraudRng.uniform(newPattern ? lateStart : start, end - 2 * HOUR));
    const victim = fraudRng.pick(customers);
    const add = (d: Omit<DraftTxn, 'customer' | 'scenario' | 'incidentId'> & { customer?: Customer }) => {
      if (d.t < end && fraudDrafts.length < targetFraud)
        fraudDrafts.push({ customer: victim, ...d, scenario, incidentId });
    };
    const fraudDevice = `d_${fraudRng.token(10)}`;
    const typical = (category: Category) =>
      (AMOUNT_PROFILE[category] as readonly [number, number])[0] *
      victim.spend *
      (t0 >= driftStart ? drift.amountShift : 1);

    switch (scenario) {
      case 'card_testing': {
        // Stolen card numbers are validated with tiny charges, then (sometimes) cashed out.
        const merchant = fraudRng.pick(smallOnline);
        // Testers often hide behind a proxy in the victim's country.
        const country = fraudRng.chance(0.5) ? victim.home : fraudRng.weighted(FRAUD_COUNTRIES);
        const n = fraudRng.chance(0.3) ? fraudRng.int(1, 2) : fraudRng.int(3, 9);
        let t = t0;
        for (let i = 0; i < n; i++) {
          add({
            t,
            merchant,
            amount: clampAmount(fraudRng.uniform(0.5, 4.99)),
            country,
            channel: 'online',
            deviceId: fraudDevice,
          });
          t += Math.floor(fraudRng.uniform(0.3, 6) * MINUTE);
        }
        if (fraudRng.chance(0.5)) {
          const m = fraudRng.pick(cashOut);
          add({
            t: t + Math.floor(fraudRng.uniform(0.2, 5) * HOUR),
            merchant: m,
            amount: clampAmount(fraudRng.logNormal(typical(m.category) * 2, 0.5)),
            country,
            channel: 'online',
            deviceId: fraudDevice,
          });
        }
        break;
      }
      case 'account_takeover': {
        // A new device, often a new country, amounts well above the victim's habit.
        const abroad = fraudRng.chance(0.55);
        const n = fraudRng.int(1, 4);
        let t = t0;
        for (let i = 0; i < n; i++) {
          const m = fraudRng.pick(cashOut);
          add({
            t,
            merchant: m,
            amount: clampAmount(fraudRng.logNormal(typical(m.category) * fraudRng.uniform(1.2, 4), 0.5)),
            country: abroad ? fraudRng.weighted(FRAUD_COUNTRIES) : victim.home,
            channel: 'online',
            deviceId: fraudRng.chance(0.85) ? fraudDevice : fraudRng.pick(victim.devices),
          });
          t += Math.floor(fraudRng.exponential(1.5) * HOUR);
        }
        break;
      }
      case 'compromised_merchant': {
        // A colluding merchant runs many stolen cards in a short window.
        const merchant = fraudRng.pick(quietPresent);
        const n = fraudRng.int(4, 14);
        for (let i = 0; i < n; i++) {
          const customer = fraudRng.pick(customers);
          add({
            customer,
            t: t0 + Math.floor(fraudRng.uniform(0, 3) * HOUR),
            merchant,
            amount: clampAmount(fraudRng.logNormal(AMOUNT_PROFILE[merchant.category][0] * 1.8, 0.5)),
            country: merchant.country,
            channel: fraudRng.chance(0.6) ? 'card_present' : 'online',
            deviceId: undefined,
          });
        }
        break;
      }
      case 'impossible_travel': {
        // A cloned card used in person far away shortly after a genuine purchase at home.
        const own = legitByCustomer.get(victim) ?? [];
        const anchor = own.length > 0 ? fraudRng.pick(own).t : t0;
        let country = fraudRng.weighted(FRAUD_COUNTRIES);
        if (country === victim.home) country = 'BR';
        const local = localTable(country);
        const n = fraudRng.int(1, 3);
        let t = anchor + Math.floor(fraudRng.uniform(0.3, 5) * HOUR);
        for (let i = 0; i < n; i++) {
          const m = local.draw(fraudRng);
          const amount = clampAmount(fraudRng.logNormal(typical(m.category) * fraudRng.uniform(1, 3), 0.5));
          add({ t, merchant: m, amount, country, channel: presentChannel(amount, fraudRng), deviceId: undefined });
          t += Math.floor(fraudRng.uniform(5, 90) * MINUTE);
        }
        break;
      }
      case 'remote_access_takeover': {
        // The new pattern: malware on the victim's own phone, at home, money transfers at moderate amounts.
        const n = fraudRng.int(2, 5);
        const m = fraudRng.pick(transfers.length > 0 ? transfers : cashOut);
        let t = t0;
        for (let i = 0; i < n; i++) {
          add({
            t,
            merchant: m,
            amount: clampAmount(fraudRng.logNormal(typical('money_transfer') * 1.5, 0.4)),
            country: victim.home,
            channel: 'online',
            deviceId: fraudRng.pick(victim.devices),
          });
          t += Math.floor(fraudRng.uniform(1, 8) * HOUR);
        }
        break;
      }
    }
  }
  // `add` keeps exactly the target count (the last incident may be cut short) and only inside the period.
  const keptFraud = fraudDrafts.concat(merchantCompromises(compromiseRng));

  function merchantCompromises(rng: Random): DraftTxn[] {
    const rate = options.merchantCompromise?.rate ?? 0;
    const probeShare = options.merchantCompromise?.probeShare ?? 0.8;
    if (!(rate >= 0 && rate < 1)) throw new Error(`merchantCompromise.rate must be in [0, 1), got ${rate}`);
    if (!(probeShare >= 0 && probeShare <= 1)) {
      throw new Error(`merchantCompromise.probeShare must be in [0, 1], got ${probeShare}`);
    }
    const physical = baseMerchants.filter((m) => !m.online);
    const count = days < 2 ? 0 : Math.round(rate * physical.length * days);
    const out: DraftTxn[] = [];
    for (let k = 1; k <= count; k++) {
      const merchant = rng.pick(physical);
      const incidentId = `mc_${k}`;
      const day = start + rng.int(1, days - 1) * DAY;
      const median = AMOUNT_PROFILE[merchant.category][0];
      if (rng.chance(probeShare)) {
        // The probing day: small amounts, cards new to the merchant, mostly in its local night.
        const probes = rng.int(3, 9);
        for (let i = 0; i < probes; i++) {
          const localHour = rng.chance(0.7) ? rng.uniform(0, 5) : rng.uniform(0, 24);
          const utc = (((localHour * HOUR - offsetOf(merchant.country) * MINUTE) % DAY) + DAY) % DAY;
          out.push({
            t: Math.floor(day - DAY + utc),
            customer: rng.pick(customers),
            merchant,
            amount: clampAmount(rng.uniform(0.5, Math.min(15, median / 2))),
            country: merchant.country,
            channel: 'card_present',
            deviceId: undefined,
            scenario: 'compromised_merchant',
            incidentId,
            phase: 'probe',
          });
        }
      }
      // The cash-out: many stolen cards within three hours, starting early enough to end inside the day.
      const t0 = day + Math.floor(rng.uniform(0, 21) * HOUR);
      const burst = rng.int(4, 14);
      for (let i = 0; i < burst; i++) {
        out.push({
          t: t0 + Math.floor(rng.uniform(0, 3) * HOUR),
          customer: rng.pick(customers),
          merchant,
          amount: clampAmount(rng.logNormal(median * 1.8, 0.5)),
          country: merchant.country,
          channel: rng.chance(0.6) ? 'card_present' : 'online',
          deviceId: undefined,
          scenario: 'compromised_merchant',
          incidentId,
        });
      }
    }
    return out;
  }

  // ---- assemble in time order ------------------------------------------------------------------------
  const all = drafts.concat(keptFraud);
  // Stable tie-break independent of generation order: customer id, then merchant id, then amount.
  all.sort(
    (a, b) =>
      a.t - b.t ||
      (a.customer.id < b.customer.id ? -1 : a.customer.id > b.customer.id ? 1 : 0) ||
      (a.merchant.id < b.merchant.id ? -1 : a.merchant.id > b.merchant.id ? 1 : 0) ||
      a.amount - b.amount,
  );
  const prefix = `tx_${(seed >>> 0).toString(36)}_`;
  const transactions: Transaction[] = [];
  const truth: TruthRecord[] = [];
  const byScenario = Object.fromEntries(FRAUD_SCENARIOS.map((s) => [s, 0])) as Record<FraudScenario, number>;
  all.forEach((d, i) => {
    const transactionId = `${prefix}${String(i + 1).padStart(8, '0')}`;
    const txn: Transaction = {
      transactionId,
      customerId: d.customer.id,
      merchantId: d.merchant.id,
      merchantCategory: d.merchant.category,
      amount: d.amount,
      currency: d.customer.currency,
      country: d.country,
      channel: d.channel,
      ...(d.deviceId !== undefined ? { deviceId: d.deviceId } : {}),
      timestamp: formatTimestamp(d.t, offsetOf(d.country)),
    };
    transactions.push(txn);
    truth.push({
      transactionId,
      isFraud: d.scenario !== null,
      scenario: d.scenario,
      incidentId: d.incidentId,
      ...(d.phase ? { phase: d.phase } : {}),
    });
    if (d.scenario) byScenario[d.scenario]++;
  });

  // ---- labels: chargebacks days later, not for every fraud, plus a few false claims -------------------
  const labels: (Label & { at: number })[] = [];
  all.forEach((d, i) => {
    const transactionId = (transactions[i] as Transaction).transactionId;
    const push = (at: number, isFraud: boolean, source: Label['source']) =>
      labels.push({ transactionId, isFraud, reportedAt: new Date(at).toISOString(), source, at });
    if (d.scenario) {
      const r = labelRng.next();
      if (r < 0.8) push(d.t + Math.floor(Math.max(1, labelRng.logNormal(7, 0.6)) * DAY), true, 'chargeback');
      else if (r < 0.88) push(d.t + Math.floor(labelRng.uniform(1, 36) * HOUR), true, 'analyst');
    } else {
      const r = labelRng.next();
      if (r < 0.0008) push(d.t + Math.floor(labelRng.uniform(3, 40) * DAY), true, 'customer');
      else if (r < 0.0028) push(d.t + Math.floor(labelRng.uniform(1, 48) * HOUR), false, 'analyst');
    }
  });
  labels.sort((a, b) => a.at - b.at || (a.transactionId < b.transactionId ? -1 : 1));

  const frauds = keptFraud.length;
  return {
    transactions,
    truth,
    labels: labels.map(({ at: _at, ...label }) => label),
    summary: {
      seed,
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      days,
      customers: customerCount,
      merchants: merchants.length,
      transactions: transactions.length,
      frauds,
      fraudRate: transactions.length > 0 ? frauds / transactions.length : 0,
      byScenario,
      labels: labels.length,
      fraudLabelled: labels.filter((l) => l.isFraud && l.source !== 'customer').length,
      falseClaims: labels.filter((l) => l.source === 'customer').length,
    },
  };
}

const DRIFT_KEYS: Readonly<Record<string, keyof DriftOptions>> = {
  'from-day': 'fromDay',
  amount: 'amountShift',
  merchants: 'newMerchantShare',
  pattern: 'newPatternShare',
};

/** Parses a drift spec like `amount=1.3,merchants=0.2,pattern=0.5,from-day=3` (the `--drift` option). */
export function parseDrift(spec: string): DriftOptions {
  const out: Record<string, number> = {};
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, raw] = part.split('=');
    const name = key === undefined ? undefined : DRIFT_KEYS[key.trim()];
    const value = Number(raw);
    if (!name) {
      throw new Error(`unknown drift knob '${key}' in '${spec}'; expected ${Object.keys(DRIFT_KEYS).join(', ')}`);
    }
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(value)) {
      throw new Error(`drift knob '${key}' needs a number, e.g. ${key}=0.3`);
    }
    if (name === 'amountShift' ? value <= 0 : value < 0) throw new Error(`drift knob '${key}' must be positive`);
    if ((name === 'newMerchantShare' || name === 'newPatternShare') && value > 1) {
      throw new Error(`drift knob '${key}' is a share and must be at most 1`);
    }
    out[name] = value;
  }
  return out as DriftOptions;
}
