// Labels from the simulator's merchant compromises: seeded, independent of the rest of the world, and positive
// exactly on the merchant-day before a compromise.

import type { Transaction } from '../../shared/contracts/transaction.js';
import { simulate } from '../../shared/simulator/simulate.js';
import { merchantDays } from '../src/aggregates.js';
import { merchantDayId } from '../src/features.js';
import { merchantCompromises, merchantDayLabels } from '../src/labels.js';

const WORLD = { seed: 21, days: 6, customers: 800 } as const;
const withCompromises = simulate({ ...WORLD, merchantCompromise: { rate: 0.02 } });
const content = ({ transactionId: _id, ...rest }: Transaction) => JSON.stringify(rest);

describe('GIVEN a simulated world with merchant compromises', () => {
  test('WHEN it is simulated again with the same seed THEN the compromises and labels are the same', () => {
    const again = simulate({ ...WORLD, merchantCompromise: { rate: 0.02 } });
    expect(merchantCompromises(again.transactions, again.truth)).toEqual(
      merchantCompromises(withCompromises.transactions, withCompromises.truth),
    );
    const other = simulate({ ...WORLD, seed: 22, merchantCompromise: { rate: 0.02 } });
    expect(merchantCompromises(other.transactions, other.truth)).not.toEqual(
      merchantCompromises(withCompromises.transactions, withCompromises.truth),
    );
  });

  test('WHEN its compromise transactions are taken out THEN the rest is the world without compromises', () => {
    const plain = simulate(WORLD);
    const compromiseIds = new Set(
      withCompromises.truth.filter((r) => r.incidentId?.startsWith('mc_')).map((r) => r.transactionId),
    );
    expect(compromiseIds.size).toBeGreaterThan(0);
    const rest = withCompromises.transactions.filter((t) => !compromiseIds.has(t.transactionId)).map(content);
    expect(rest).toEqual(plain.transactions.map(content));
  });

  test('WHEN compromises are listed THEN each probed one was probed on the UTC day before, with small amounts', () => {
    const compromises = merchantCompromises(withCompromises.transactions, withCompromises.truth);
    const byId = new Map(withCompromises.transactions.map((t) => [t.transactionId, t]));
    const probes = withCompromises.truth.filter((r) => r.phase === 'probe');
    expect(compromises.length).toBeGreaterThan(10);
    expect(probes.length).toBeGreaterThan(0);
    for (const probe of probes) {
      const txn = byId.get(probe.transactionId) as Transaction;
      const compromise = compromises.find((c) => c.incidentId === probe.incidentId);
      expect(compromise?.merchantId).toBe(txn.merchantId);
      const dayBefore = new Date(Date.parse(`${compromise?.at.slice(0, 10)}T00:00:00Z`) - 86_400_000);
      expect(new Date(Date.parse(txn.timestamp)).toISOString().slice(0, 10)).toBe(dayBefore.toISOString().slice(0, 10));
      expect(txn.amount).toBeLessThan(15);
      expect(probe.isFraud).toBe(true);
    }
  });

  test('WHEN merchant-days are labelled THEN exactly the days before a compromise are positive', () => {
    const days = merchantDays(withCompromises.transactions);
    const compromises = merchantCompromises(withCompromises.transactions, withCompromises.truth);
    const labels = merchantDayLabels(days, compromises);
    const positives = [...labels].filter(([, v]) => v).map(([k]) => k);
    const expected = days
      .filter((d) => {
        const next = new Date(Date.parse(`${d.date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
        return compromises.some((c) => c.merchantId === d.merchantId && c.at.startsWith(next));
      })
      .map(merchantDayId);
    expect(positives.sort()).toEqual(expected.sort());
    expect(positives.length).toBeGreaterThan(5);
    expect(labels.size).toBe(days.length);
  });

  test('WHEN the compromise knobs are out of range THEN the simulator says which', () => {
    expect(() => simulate({ ...WORLD, merchantCompromise: { rate: -0.1 } })).toThrow(/merchantCompromise.rate/);
    expect(() => simulate({ ...WORLD, merchantCompromise: { rate: 0.01, probeShare: 2 } })).toThrow(/probeShare/);
  });
});
