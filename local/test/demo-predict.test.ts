// The demo's choice of merchant-days for merchant-risk: from simulated traffic, valid requests of the asked day, each
// merchant once, the busiest first and then the most unusual.
import { MerchantDay } from '../../models/merchant-risk/src/features.js';
import { simulate } from '../../models/shared/simulator/simulate.js';
import { pickMerchantDays } from '../demo-predict.js';

describe('GIVEN two simulated days of card traffic', () => {
  const { transactions } = simulate({ seed: 3, days: 2, customers: 400, fraudRate: 0.01, start: '2026-01-05' });
  const date = '2026-01-06';

  it('WHEN 4 merchant-days of the second day are picked THEN they are valid requests of that day, 4 merchants, busiest first', () => {
    const days = pickMerchantDays(transactions, date, 4);
    expect(days).toHaveLength(4);
    for (const d of days) expect(MerchantDay.parse(d)).toEqual(d);
    expect(new Set(days.map((d) => d.date))).toEqual(new Set([date]));
    expect(new Set(days.map((d) => d.merchantId)).size).toBe(4);
    const counts = new Map<string, number>();
    for (const t of transactions.filter((x) => new Date(x.timestamp).toISOString().startsWith(date))) {
      counts.set(t.merchantId, (counts.get(t.merchantId) ?? 0) + 1);
    }
    const busiest = Math.max(...counts.values());
    expect(days[0]?.count).toBe(busiest);
    // The second half are the unusual ones: small merchants beside the busiest.
    expect(days[3]?.count).toBeLessThan(busiest);
  });

  it('WHEN the day has no traffic THEN nothing is picked', () => {
    expect(pickMerchantDays(transactions, '2020-01-01', 4)).toEqual([]);
  });
});
