// Alerts core: subject, JSON message and filter attributes of a FraudSuspected notification.
import type { FraudSuspectedData } from '../../shared/contracts/events.js';
import { type Alert, buildAlert, raiseAlert } from '../core.js';

const suspected = (overrides: Partial<FraudSuspectedData> = {}): FraudSuspectedData => ({
  transactionId: 'txn-7',
  customerId: 'cust-1',
  merchantId: 'merch-9',
  amount: 912.5,
  currency: 'EUR',
  decision: 'decline',
  score: 0.9345,
  degraded: false,
  model: { name: 'fraud-detector', version: '3' },
  decidedAt: '2026-11-23T08:00:00Z',
  reasons: ['new_country', 'velocity_24h', 'high_amount', 'new_device'],
  explanation: [
    { feature: 'cust_count_1h', contribution: 0.05 },
    { feature: 'amount_zscore', contribution: 0.31 },
    { feature: 'country_share', contribution: -0.2 },
    { feature: 'is_new_device', contribution: 0.12 },
    { feature: 'log_amount', contribution: 0.2 },
  ],
  ...overrides,
});

describe('buildAlert', () => {
  it('GIVEN a decline WHEN built THEN high severity, readable subject, top reasons and positive attributions', () => {
    const alert = buildAlert(suspected());
    expect(alert.subject).toBe('[AIMS high] decline: transaction txn-7 (score 0.93)');
    expect(alert.attributes).toEqual({ decision: 'decline', severity: 'high' });
    const message = JSON.parse(alert.message);
    expect(message).toMatchObject({
      transactionId: 'txn-7',
      customerId: 'cust-1',
      decision: 'decline',
      severity: 'high',
      score: 0.9345,
      reasons: ['new_country', 'velocity_24h', 'high_amount'],
    });
    expect(message.topFeatures.map((f: { feature: string }) => f.feature)).toEqual([
      'amount_zscore',
      'log_amount',
      'is_new_device',
    ]);
  });

  it('GIVEN a review WHEN built THEN medium severity', () => {
    expect(buildAlert(suspected({ decision: 'review' })).attributes).toEqual({
      decision: 'review',
      severity: 'medium',
    });
  });

  it('GIVEN a long id WHEN built THEN the subject stays within SNS limits (ASCII, ≤ 100 chars)', () => {
    const subject = buildAlert(suspected({ transactionId: 'x'.repeat(64) })).subject;
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('raiseAlert', () => {
  it('GIVEN a publisher WHEN raised THEN exactly the built alert is published', async () => {
    const sent: Alert[] = [];
    const alert = await raiseAlert(suspected(), { publish: async (a) => void sent.push(a) });
    expect(sent).toEqual([alert]);
  });
});
