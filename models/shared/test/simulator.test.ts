// Tests the transaction simulator: determinism, contract-valid output, fraud rate, delayed labels and drift knobs.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Label, Transaction } from '../contracts/transaction.js';
import { readSimulation, SIMULATION_FILES, writeSimulation } from '../simulator/io.js';
import { formatTimestamp, parseDrift, type SimulationResult, simulate } from '../simulator/simulate.js';

const DAY = 86_400_000;
const base = { seed: 11, days: 10, customers: 1500 } as const;
const cache = new Map<string, SimulationResult>();
const run = (opts: Parameters<typeof simulate>[0]): SimulationResult => {
  const key = JSON.stringify(opts);
  let r = cache.get(key);
  if (!r) {
    r = simulate(opts);
    cache.set(key, r);
  }
  return r;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sim-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('simulator determinism', () => {
  it('GIVEN the same seed twice WHEN written THEN the files are byte-identical', () => {
    const a = tmp();
    const b = tmp();
    writeSimulation(a, simulate({ ...base, days: 4 }));
    writeSimulation(b, simulate({ ...base, days: 4 }));
    expect(readdirSync(a).sort()).toEqual(Object.values(SIMULATION_FILES).sort());
    for (const f of readdirSync(a)) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f)))).toBe(true);
  });

  it('GIVEN a different seed THEN the stream differs', () => {
    const a = simulate({ ...base, days: 2 });
    const b = simulate({ ...base, days: 2, seed: 12 });
    expect(JSON.stringify(b.transactions)).not.toEqual(JSON.stringify(a.transactions));
  });

  it('GIVEN a written simulation WHEN read back THEN it round-trips through the zod contracts', async () => {
    const dir = tmp();
    const sim = simulate({ ...base, days: 2, customers: 300 });
    writeSimulation(dir, sim);
    const back = await readSimulation(dir);
    expect(back.transactions).toEqual(sim.transactions);
    expect(back.labels).toEqual(sim.labels);
    expect(back.truth).toEqual(sim.truth);
  });
});

describe('simulated stream', () => {
  const sim = run(base);

  it('GIVEN a run THEN every record validates, ids are unique and transactions are in time order', () => {
    for (const t of sim.transactions) expect(Transaction.safeParse(t).success).toBe(true);
    for (const l of sim.labels) expect(Label.safeParse(l).success).toBe(true);
    expect(new Set(sim.transactions.map((t) => t.transactionId)).size).toBe(sim.transactions.length);
    const times = sim.transactions.map((t) => Date.parse(t.timestamp));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(sim.truth.map((t) => t.transactionId)).toEqual(sim.transactions.map((t) => t.transactionId));
  });

  it('GIVEN the default rate THEN 0.5% of transactions are fraud, spread over every scenario', () => {
    expect(sim.summary.fraudRate).toBeGreaterThan(0.0045);
    expect(sim.summary.fraudRate).toBeLessThan(0.0055);
    expect(sim.truth.filter((t) => t.isFraud).length).toBe(sim.summary.frauds);
    for (const s of ['card_testing', 'account_takeover', 'compromised_merchant', 'impossible_travel'] as const) {
      expect([s, sim.summary.byScenario[s] > 0]).toEqual([s, true]);
    }
    expect(sim.summary.byScenario.remote_access_takeover).toBe(0);
    const rate = run({ ...base, fraudRate: 0.02 }).summary.fraudRate;
    expect(rate).toBeCloseTo(0.02, 3);
  });

  it('GIVEN fraud THEN chargebacks arrive days later, not for every fraud, and a few legit txns are falsely claimed', () => {
    const time = new Map(sim.transactions.map((t) => [t.transactionId, Date.parse(t.timestamp)]));
    const fraud = new Set(sim.truth.filter((t) => t.isFraud).map((t) => t.transactionId));
    const chargebacks = sim.labels.filter((l) => l.source === 'chargeback');
    for (const l of chargebacks) {
      expect(l.isFraud).toBe(true);
      expect(Date.parse(l.reportedAt) - (time.get(l.transactionId) as number)).toBeGreaterThanOrEqual(DAY);
    }
    const labelledFraud = new Set(
      sim.labels.filter((l) => l.isFraud && fraud.has(l.transactionId)).map((l) => l.transactionId),
    );
    expect(labelledFraud.size / fraud.size).toBeGreaterThan(0.75);
    expect(labelledFraud.size / fraud.size).toBeLessThan(0.97);
    const falseClaims = sim.labels.filter((l) => l.isFraud && !fraud.has(l.transactionId));
    expect(falseClaims.length).toBeGreaterThan(0);
    expect(falseClaims.every((l) => l.source === 'customer')).toBe(true);
    const reported = sim.labels.map((l) => Date.parse(l.reportedAt));
    expect(reported.every((t, i) => i === 0 || t >= (reported[i - 1] as number))).toBe(true);
  });

  it('GIVEN the stream THEN it carries no ground truth (truth lives in its own file)', () => {
    const keys = new Set(sim.transactions.flatMap((t) => Object.keys(t)));
    expect([...keys].some((k) => /fraud|scenario|label/i.test(k))).toBe(false);
  });

  it('GIVEN timestamps THEN they carry the local offset of the country where the card was used', () => {
    expect(formatTimestamp(Date.parse('2026-01-05T23:30:00Z'), 60)).toBe('2026-01-06T00:30:00.000+01:00');
    expect(formatTimestamp(Date.parse('2026-01-05T03:00:00Z'), -300)).toBe('2026-01-04T22:00:00.000-05:00');
    const de = sim.transactions.find((t) => t.country === 'DE');
    expect(de?.timestamp).toMatch(/\+01:00$/);
  });
});

describe('drift knobs', () => {
  const drift = { fromDay: 5, amountShift: 1.5, newMerchantShare: 0.3, newPatternShare: 0.6 };
  const sim = run({ ...base, drift });
  const start = Date.parse('2026-01-05T00:00:00Z');
  const driftStart = start + 5 * DAY;

  it('GIVEN an amount shift THEN legitimate amounts after the drift day are about that much larger', () => {
    const legit = new Set(sim.truth.filter((t) => !t.isFraud).map((t) => t.transactionId));
    const groceries = sim.transactions.filter((t) => legit.has(t.transactionId) && t.merchantCategory === 'grocery');
    const before = groceries.filter((t) => Date.parse(t.timestamp) < driftStart).map((t) => t.amount);
    const after = groceries.filter((t) => Date.parse(t.timestamp) >= driftStart).map((t) => t.amount);
    const ratio = median(after) / median(before);
    expect(ratio).toBeGreaterThan(1.35);
    expect(ratio).toBeLessThan(1.65);
  });

  it('GIVEN a new merchant mix and a new pattern THEN new merchants and the new scenario appear only after drift', () => {
    // Share of post-drift transactions at merchants never used before the drift day.
    const unseenShare = (r: SimulationResult) => {
      const early = r.transactions.filter((t) => Date.parse(t.timestamp) < driftStart);
      const late = r.transactions.filter((t) => Date.parse(t.timestamp) >= driftStart);
      const known = new Set(early.map((t) => t.merchantId));
      return late.filter((t) => !known.has(t.merchantId)).length / late.length;
    };
    expect(unseenShare(run(base))).toBeLessThan(0.05);
    expect(unseenShare(sim)).toBeGreaterThan(0.25);
    const newPattern = sim.truth.filter((t) => t.scenario === 'remote_access_takeover').map((t) => t.transactionId);
    expect(newPattern.length).toBeGreaterThan(0);
    const at = new Map(sim.transactions.map((t) => [t.transactionId, Date.parse(t.timestamp)]));
    expect(newPattern.every((id) => (at.get(id) as number) >= driftStart)).toBe(true);
  });

  it('GIVEN a --drift spec THEN it parses, and a bad one says what is expected', () => {
    expect(parseDrift('amount=1.3, merchants=0.2,pattern=0.5,from-day=3')).toEqual({
      amountShift: 1.3,
      newMerchantShare: 0.2,
      newPatternShare: 0.5,
      fromDay: 3,
    });
    expect(() => parseDrift('speed=2')).toThrow(
      /unknown drift knob 'speed'.*expected from-day, amount, merchants, pattern/,
    );
    expect(() => parseDrift('amount=x')).toThrow(/needs a number/);
    expect(() => parseDrift('pattern=2')).toThrow(/at most 1/);
  });

  it('GIVEN bad sizes THEN simulate refuses them clearly', () => {
    expect(() => simulate({ ...base, days: 0 })).toThrow(/days must be a positive integer, got 0/);
    expect(() => simulate({ ...base, start: 'soon' })).toThrow(/start must be an ISO date/);
  });
});
